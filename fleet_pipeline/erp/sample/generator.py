"""A deterministic generator of sample ERP rows, with a known share of realistic defects.

`generate(days, per_day, seed, ...)` returns every table's rows and a manifest
{reference_number: defect kind or None} for every pending delivery note, so tests can check what
each stage did with each defect. `iter_batches` yields the same rows in batches of at most
`DELIVERIES_PER_BATCH` pending deliveries, which is how a million deliveries are seeded without
holding them in memory. Each batch draws from its own random stream, seeded from
(seed, day, batch), so the rows depend only on the arguments, never on how they are consumed.

`per_day` counts the pending deliveries of a day (what the pipeline is meant to send); about a
tenth more notes in other statuses (draft, dispatched, cancelled) are mixed in for the source
query to leave out.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from fleet_pipeline.erp.sample import vocabulary as vocab

DEFAULT_DEFECT_RATE = 0.05
DEFAULT_START_DATE = date(2026, 1, 1)
DELIVERIES_PER_BATCH = 10_000
LONG_NOTE_CHARS = 10_240
MAX_LINES = 8

# Each defect kind with what it looks like in the ERP.
DEFECT_KINDS: dict[str, str] = {
    "missing_coordinates": "ship-to address without latitude and longitude",
    "swapped_coordinates": "ship-to latitude and longitude entered the wrong way round",
    "malformed_phone": "ship-to phone that is not a phone number",
    "malformed_email": "ship-to e-mail that is not an e-mail address",
    "past_scheduled_time": "booked arrival time days before the delivery's own date",
    "duplicate_reference": "two pending delivery notes with the same delivery number",
    "bad_quantity": "a line with zero or negative quantity",
    "over_long_text": "driver instructions of 10 kB",
    "non_ascii_name": "customer and contact names in other scripts, with emoji",
}
DEFECTS = tuple(DEFECT_KINDS)

_OTHER_STATUSES = ("draft", "dispatched", "cancelled")


@dataclass
class SampleData:
    """Rows per table (as dicts keyed by column name) and the defect manifest."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    manifest: dict[str, str | None] = field(default_factory=dict)

    def extend(self, other: SampleData) -> None:
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)
        self.manifest.update(other.manifest)

    def defect_counts(self) -> Counter:
        return Counter(kind for kind in self.manifest.values() if kind is not None)


def generate(days: int, per_day: int, seed: int, defect_rate: float = DEFAULT_DEFECT_RATE,
             start_date: date = DEFAULT_START_DATE) -> SampleData:
    """All rows of a sample ERP with `per_day` pending deliveries on each of `days` days."""
    data = SampleData()
    for batch in iter_batches(days, per_day, seed, defect_rate, start_date):
        data.extend(batch)
    return data


def iter_batches(days: int, per_day: int, seed: int, defect_rate: float = DEFAULT_DEFECT_RATE,
                 start_date: date = DEFAULT_START_DATE) -> Iterator[SampleData]:
    """The same rows as `generate`: master data first, then deliveries in bounded batches."""
    if days < 0 or per_day < 0:
        raise ValueError("days and per_day must not be negative")
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError(f"defect_rate must be between 0 and 1, got {defect_rate}")
    master = _Master.build(seed, per_day)
    yield SampleData(rows=master.rows)
    notes_per_day = notes_in_day(per_day)
    for day_index in range(days):
        ship_date = start_date + timedelta(days=day_index)
        note_offset = 0
        for batch_index, pending in enumerate(_batch_sizes(per_day)):
            rng = random.Random(f"{seed}:{ship_date.isoformat()}:{batch_index}")
            builder = _Batch(rng, master, ship_date,
                             first_global=day_index * notes_per_day + note_offset,
                             first_in_day=note_offset)
            yield builder.build(pending, defect_rate)
            note_offset += pending + pending // 10


def notes_in_day(per_day: int) -> int:
    """Delivery notes of one day in every status: `per_day` pending plus the others."""
    return sum(n + n // 10 for n in _batch_sizes(per_day))


def _batch_sizes(per_day: int) -> list[int]:
    full, rest = divmod(per_day, DELIVERIES_PER_BATCH)
    return [DELIVERIES_PER_BATCH] * full + ([rest] if rest else [])


@dataclass
class _Master:
    """Customers, their addresses, depots and drivers shared by every day's deliveries."""

    rows: dict[str, list[dict]]
    ship_to: list[tuple[int, int]]  # (customer_id, address_id) of ordinary customers
    depot_addresses: list[int]
    driver_ids: list[int]
    customer_count: int
    address_count: int

    @classmethod
    def build(cls, seed: int, per_day: int) -> _Master:
        rng = random.Random(f"{seed}:master")
        created = datetime(2020, 1, 1, 8, 0)
        customers: list[dict] = []
        addresses: list[dict] = []
        for n, (depot, city) in enumerate(vocab.DEPOTS, start=1):
            customers.append(_customer(n, depot, "DEPOT", created))
            addresses.append(_address(rng, n, n, ascii_names=True, city=vocab.CITIES[city]))
        ship_to: list[tuple[int, int]] = []
        first = len(vocab.DEPOTS) + 1
        for customer_id in range(first, first + min(max(per_day // 5, 25), 20_000)):
            customers.append(_customer(customer_id, vocab.company_name(rng), "CUSTOMER", created))
            for _ in range(rng.choice((1, 1, 2))):
                address_id = len(addresses) + 1
                addresses.append(_address(rng, address_id, customer_id, ascii_names=True))
                ship_to.append((customer_id, address_id))
        drivers = [_driver(rng, driver_id)
                   for driver_id in range(1, min(max(per_day // 40, 10), 2_000) + 1)]
        return cls(
            rows={"customers": customers, "addresses": addresses, "drivers": drivers},
            ship_to=ship_to,
            depot_addresses=list(range(1, len(vocab.DEPOTS) + 1)),
            driver_ids=[d["driver_id"] for d in drivers],
            customer_count=len(customers),
            address_count=len(addresses),
        )


class _Batch:
    """Builds one batch of delivery notes of one day, with their orders, lines and one-offs."""

    def __init__(self, rng: random.Random, master: _Master, ship_date: date,
                 first_global: int, first_in_day: int):
        self.rng = rng
        self.master = master
        self.ship_date = ship_date
        self.first_global = first_global
        self.first_in_day = first_in_day
        self.data = SampleData(rows={name: [] for name in (
            "customers", "addresses", "sales_orders", "delivery_notes", "delivery_lines")})

    def build(self, pending: int, defect_rate: float) -> SampleData:
        rng = self.rng
        statuses = ["pending"] * pending + [rng.choice(_OTHER_STATUSES)
                                            for _ in range(pending // 10)]
        rng.shuffle(statuses)
        kinds, copies = self._plan_defects(statuses, round(pending * defect_rate))
        references: list[str] = []
        for position, status in enumerate(statuses):
            kind = kinds.get(position)
            source = copies.get(position)
            reference = references[source] if source is not None else self._reference(position)
            references.append(reference)
            self._note(position, reference, status, kind)
            if status == "pending":
                self.data.manifest[reference] = kind
        return self.data

    def _plan_defects(self, statuses: list[str], count: int
                      ) -> tuple[dict[int, str], dict[int, int]]:
        """Which pending positions get which defect, and which earlier note each duplicate copies.

        Kinds are dealt round-robin so that every kind shows up once a batch has enough defects.
        """
        pending = [i for i, status in enumerate(statuses) if status == "pending"]
        chosen = self.rng.sample(pending, count)
        start = self.rng.randrange(len(DEFECTS))
        kinds = {p: DEFECTS[(start + n) % len(DEFECTS)] for n, p in enumerate(chosen)}
        copies: dict[int, int] = {}
        clean_before: list[int] = []
        for position in pending:
            kind = kinds.get(position)
            if kind is None:
                clean_before.append(position)
            elif kind == "duplicate_reference":
                if not clean_before:
                    del kinds[position]  # nothing earlier to copy: stays a clean note
                    continue
                source = clean_before.pop()
                kinds[source] = kind
                copies[position] = source
        return kinds, copies

    def _reference(self, position: int) -> str:
        return f"DN{self.ship_date:%Y%m%d}{self.first_in_day + position + 1:07d}"

    def _note(self, position: int, reference: str, status: str, kind: str | None) -> None:
        rng = self.rng
        note_id = self.first_global + position + 1
        customer_id, address_id = rng.choice(self.master.ship_to)
        if kind == "non_ascii_name":
            customer_id = self.master.customer_count + note_id
            self.data.rows["customers"].append(_customer(
                customer_id, rng.choice(vocab.NON_ASCII_COMPANIES), "CUSTOMER",
                datetime.combine(self.ship_date - timedelta(days=3), time(9, 0))))
        if kind in ("non_ascii_name", "missing_coordinates", "swapped_coordinates",
                    "malformed_phone", "malformed_email"):
            address_id = self.master.address_count + note_id
            self.data.rows["addresses"].append(
                _address(rng, address_id, customer_id, ascii_names=kind != "non_ascii_name",
                         defect=kind))
        order_date = self.ship_date - timedelta(days=rng.randrange(0, 8))
        created = datetime.combine(order_date, time(rng.randrange(7, 18), rng.randrange(60)))
        self.data.rows["sales_orders"].append({
            "order_id": note_id, "order_no": f"SO{note_id:09d}", "customer_id": customer_id,
            "order_date": order_date,
            "customer_po": f"PO-{rng.randrange(10_000, 99_999)}" if rng.random() < 0.6 else None,
            "created_at": created,
        })
        scheduled = kind == "past_scheduled_time" or rng.random() < 0.6
        arrival = None
        if scheduled:
            minutes = rng.randrange(0, 600, 5)
            arrival = datetime.combine(self.ship_date, time(7, 0)) + timedelta(minutes=minutes)
            if kind == "past_scheduled_time":
                arrival -= timedelta(days=rng.randrange(1, 4))
        window = rng.choice(vocab.WINDOWS) if rng.random() < 0.5 else (None, None)
        if kind == "over_long_text":
            instructions = vocab.long_note(rng, LONG_NOTE_CHARS)
        else:
            instructions = rng.choice(vocab.INSTRUCTIONS) if rng.random() < 0.3 else None
        self.data.rows["delivery_notes"].append({
            "delivery_note_id": note_id, "delivery_no": reference, "order_id": note_id,
            "status": status, "ship_date": self.ship_date, "planned_arrival": arrival,
            "window_from": window[0], "window_to": window[1],
            "collect_from_address_id": (rng.choice(self.master.depot_addresses)
                                        if rng.random() < 0.1 else None),
            "deliver_to_address_id": address_id,
            "driver_id": rng.choice(self.master.driver_ids) if rng.random() < 0.4 else None,
            "unload_minutes": rng.choice((5, 10, 15, 20, 30)),
            "tags": (",".join(rng.sample(vocab.TAGS, rng.choice((1, 1, 2))))
                     if rng.random() < 0.3 else None),
            "driver_instructions": instructions,
            "created_at": created,
        })
        self._lines(note_id, kind == "bad_quantity")

    def _lines(self, note_id: int, bad_quantity: bool) -> None:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(35, 30, 20, 15))[0]
        bad_line = rng.randrange(count) if bad_quantity else -1
        for n in range(count):
            article = rng.choice(vocab.ARTICLES)
            quantity = article.quantity(rng)
            self.data.rows["delivery_lines"].append({
                "line_id": (note_id - 1) * MAX_LINES + n + 1, "delivery_note_id": note_id,
                "line_no": (n + 1) * 10, "article_no": article.sku,
                "description": article.description,
                "qty": rng.choice((0.0, -1.0, -2.5)) if n == bad_line else quantity,
                "uom": article.uom, "line_kind": article.kind,
                "gross_weight_kg": (round(article.weight_kg * quantity, 3)
                                    if article.weight_kg is not None else None),
                "length_cm": article.dims[0], "width_cm": article.dims[1],
                "height_cm": article.dims[2],
                "barcode": (f"600{rng.randrange(10**9, 10**10)}"
                            if article.kind == "GOODS" and rng.random() < 0.5 else None),
            })


def _customer(customer_id: int, name: str, kind: str, created: datetime) -> dict:
    return {"customer_id": customer_id, "account_no": f"C{customer_id:07d}", "name": name,
            "customer_kind": kind,
            "vat_no": f"4{customer_id:09d}" if kind == "CUSTOMER" and customer_id % 3 else None,
            "created_at": created}


def _address(rng: random.Random, address_id: int, customer_id: int, ascii_names: bool,
             defect: str | None = None, city: vocab.City | None = None) -> dict:
    city = city or rng.choice(vocab.CITIES)
    suburb, postcode = rng.choice(city.suburbs)
    lat = round(city.lat + rng.uniform(-0.08, 0.08), 6)
    lon = round(city.lon + rng.uniform(-0.08, 0.08), 6)
    if defect == "swapped_coordinates":
        lat, lon = lon, lat
    elif defect == "missing_coordinates":
        lat = lon = None
    first, last = vocab.person(rng, ascii_only=ascii_names)
    return {
        "address_id": address_id, "customer_id": customer_id,
        "street": f"{rng.randrange(1, 400)} {rng.choice(vocab.STREETS)}",
        "locality": f"{suburb}, {city.name}", "postcode": postcode, "country_iso": "ZA",
        "geo_lat": lat, "geo_lon": lon,
        "contact_person": f"{first} {last}" if rng.random() < 0.8 else None,
        "phone": (rng.choice(vocab.BAD_PHONES) if defect == "malformed_phone"
                  else vocab.phone(rng)),
        "email": (rng.choice(vocab.BAD_EMAILS) if defect == "malformed_email"
                  else vocab.email(rng, first, last)),
        "service_minutes": rng.choice((10, 15, 20, None)),
    }


def _driver(rng: random.Random, driver_id: int) -> dict:
    first, last = vocab.person(rng, ascii_only=True)
    return {
        "driver_id": driver_id, "employee_no": f"E{driver_id:05d}", "first_name": first,
        "last_name": last, "display_name": f"{first} {last}",
        "fleet_driver_uuid": (str(uuid.UUID(int=rng.getrandbits(128), version=4))
                              if rng.random() < 0.7 else None),
        "is_active": rng.random() < 0.95,
    }
