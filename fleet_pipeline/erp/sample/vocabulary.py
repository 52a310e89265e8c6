"""Words, places and articles the sample ERP is made of: a South African distributor's data."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lon: float
    suburbs: tuple[tuple[str, str], ...]  # (suburb, postcode); postcodes keep leading zeros


CITIES = (
    City("Johannesburg", -26.2041, 28.0473,
         (("Sandton", "2196"), ("Rosebank", "2196"), ("Randburg", "2194"), ("Midrand", "1685"))),
    City("Cape Town", -33.9249, 18.4241,
         (("Gardens", "8001"), ("Bellville", "7530"), ("Claremont", "7708"))),
    City("Durban", -29.8587, 31.0218, (("Berea", "4001"), ("Umhlanga", "4319"))),
    City("Pretoria", -25.7479, 28.2293, (("Hatfield", "0083"), ("Centurion", "0157"))),
    City("Gqeberha", -33.9608, 25.6022, (("Walmer", "6070"), ("Newton Park", "6045"))),
)

STREETS = (
    "Main Road", "Church Street", "Jan Smuts Avenue", "Rivonia Road", "Voortrekker Road",
    "Long Street", "Florida Road", "Nelson Mandela Drive", "Oxford Road", "Beach Road",
    "Louis Botha Avenue", "William Nicol Drive",
)

FIRST_NAMES = (
    "Thabo", "Sipho", "Lerato", "Naledi", "Johan", "Pieter", "Anele", "Zanele", "Priya",
    "Ravi", "Sarah", "David", "Michelle", "Kagiso", "Bongani", "Elize", "Fatima", "Ahmed",
    "Lindiwe", "Chris", "Mpho", "Nomvula", "Ruan", "Tshepo",
)
LAST_NAMES = (
    "Nkosi", "Dlamini", "van der Merwe", "Botha", "Naidoo", "Pillay", "Smith", "Mokoena",
    "O'Connor", "Khumalo", "Pretorius", "Ndlovu", "Govender", "Jacobs", "Mahlangu", "Adams",
    "du Plessis", "Molefe", "Zulu", "Petersen",
)
NON_ASCII_PEOPLE = (
    ("Zoë", "Müller"), ("José", "Núñez"), ("Łukasz", "Żółć"), ("Ngũgĩ", "wa Thiong'o"),
    ("伟", "李"), ("Ève", "Lefèvre"), ("Şükrü", "Yılmaz"), ("Αλέξανδρος", "Παπαδόπουλος"),
    ("Nomsa 🌻", "Mthembu"),
)

_PLACES = (
    "Acacia", "Baobab", "Protea", "Karoo", "Highveld", "Table Bay", "Umhlanga", "Soweto",
    "Rand", "Limpopo", "Fynbos", "Drakensberg", "Kalahari", "Jacaranda", "Lowveld",
)
_TRADES = (
    "Hardware", "Pharmacy", "Builders Supply", "Fresh Produce", "Auto Parts", "Liquor Store",
    "Cafe", "Clinic", "Farm Stall", "Superette", "Butchery", "Office Park",
)
_FORMS = ("", "", " (Pty) Ltd", " CC", " Trading")

# The distributor's own warehouses, the pickup points: (name, index in CITIES).
DEPOTS = (
    ("Northwind Distribution - Midrand DC", 0),
    ("Northwind Distribution - Epping DC", 1),
    ("Northwind Distribution - Pinetown DC", 2),
)

NON_ASCII_COMPANIES = (
    "Zoë's Bakery 🎂", "Café Olé ☕", "Łódź Imports Sp. z o.o.", "Ngũgĩ & Wanjirũ Traders",
    "北京烤鸭 Takeaway", "Müller Gärtnerei", "Ève & Zoë Fleurs 🌸", "Θεσσαλονίκη Deli",
    "São João Mercearia", "Şükrü Kebab 🥙", "Ñandú Steakhouse 🔥",
)

BAD_PHONES = (
    "n/a", "0800 FLOWERS", "082-555-01", "+27 (0) 82 555 0123 ext 4", "27825550123999",
    "call reception", "0", "+27 82 555 O123",
)
BAD_EMAILS = (
    "thabo.nkosi@", "thabo nkosi@example.co.za", "thabo..nkosi@@example.co.za",
    "thabo.nkosi.example.co.za", "thabo@localhost", "@example.co.za", "none",
)

_MAIL_DOMAINS = ("gmail.com", "outlook.com", "mweb.co.za", "telkomsa.net", "company.co.za")
_MOBILE_PREFIXES = ("82", "83", "72", "71", "79", "84", "61", "11", "21", "31", "12")

WINDOWS = (("08:00", "12:00"), ("07:30", "10:00"), ("12:00", "16:00"), ("13:00", "17:00"),
           ("09:00", "15:30"))

TAGS = ("fragile", "cold-chain", "express", "cod", "heavy", "tail-lift")

INSTRUCTIONS = (
    "Ring the bell at gate 2.", "Deliver to the back entrance; loading bay closes at 15:00.",
    "Call the contact 30 minutes before arrival.", "Security will ask for the order number.",
    "Do not leave goods outside.", "Fork-lift on site.", "Dogs on premises - hoot at the gate.",
)

_LONG_NOTE_SENTENCES = (
    "Gate code 4471#, then second left after the guard house. ",
    "Reception closes at 16:00; after that call the night manager on the radio. ",
    "Pallets go to bay 3 only, never bay 1 (cold room). ",
    "Driver must sign in at security with ID and vehicle registration. ",
    "Count every carton in front of the receiving clerk before signing. ",
)


@dataclass(frozen=True)
class Article:
    sku: str
    description: str
    uom: str
    kind: str  # GOODS or SERVICE
    weight_kg: float | None
    dims: tuple[float | None, float | None, float | None]  # length, width, height in cm
    max_quantity: int

    def quantity(self, rng: random.Random) -> float:
        if self.uom == "KG":
            return round(rng.uniform(0.5, self.max_quantity), 3)
        return float(rng.randrange(1, self.max_quantity + 1))


ARTICLES = (
    Article("WTR-500-24", "Still water 500 ml x 24", "CASE", "GOODS", 12.4, (40.0, 27.0, 21.0), 40),
    Article("CEM-PPC-50", "Cement PPC 42.5N 50 kg", "BAG", "GOODS", 50.0, (70.0, 45.0, 12.0), 60),
    Article("PLT-EUR", "Euro pallet, mixed goods", "PAL", "GOODS", 480.0, (120.0, 80.0, 150.0), 4),
    Article("TYR-195-65", "Tyre 195/65 R15", "EA", "GOODS", 8.9, (63.0, 63.0, 20.0), 8),
    Article("OIL-5W30-5", "Engine oil 5W-30 5 l", "EA", "GOODS", 4.6, (28.0, 14.0, 32.0), 24),
    Article("MLK-UHT-12", "UHT milk 1 l x 12", "CASE", "GOODS", 12.8, (30.0, 23.0, 25.0), 30),
    Article("APL-GS-18", "Apples Granny Smith 18 kg carton", "CTN", "GOODS", 18.5,
            (50.0, 30.0, 28.0), 20),
    Article("MED-KIT-A", "First-aid kit, regulation 7", "EA", "GOODS", 2.1, (35.0, 25.0, 12.0), 5),
    Article("BRD-RYE", "Rye bread 700 g", "EA", "GOODS", 0.7, (25.0, 11.0, 10.0), 50),
    Article("MEAT-MINCE", "Beef mince, bulk", "KG", "GOODS", 1.0, (None, None, None), 25),
    Article("SRV-INST", "Installation on site", "HR", "SERVICE", None, (None, None, None), 3),
    Article("SRV-COLL", "Collection of returnable crates", "EA", "SERVICE", None,
            (None, None, None), 2),
)


def person(rng: random.Random, ascii_only: bool) -> tuple[str, str]:
    if not ascii_only:
        return rng.choice(NON_ASCII_PEOPLE)
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(_PLACES)} {rng.choice(_TRADES)}{rng.choice(_FORMS)}"


def phone(rng: random.Random) -> str:
    return f"+27{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**6, 10**7)}"


def email(rng: random.Random, first: str, last: str) -> str:
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    return f"{local}@{rng.choice(_MAIL_DOMAINS)}"


def long_note(rng: random.Random, chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < chars:
        sentence = rng.choice(_LONG_NOTE_SENTENCES)
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:chars]
