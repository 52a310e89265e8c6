"""Country reference data: the ISO 3166-1 alpha-2 codes, and boxes to spot swapped coordinates.

The Fleet API's `country_id` numbering is not documented, so country codes are only checked here,
never sent (see payloads.py).
"""

from __future__ import annotations

# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO_COUNTRY_CODES: frozenset[str] = frozenset({
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
})

# Codes as ERPs write them: upper or lower case (never mixed, which is a typing slip).
ACCEPTED_COUNTRY_CODES: frozenset[str] = ISO_COUNTRY_CODES | {c.lower() for c in ISO_COUNTRY_CODES}

# Generous boxes (lat_min, lat_max, lon_min, lon_max) around the countries the Fleet API serves.
# A pair is called swapped only when it lies outside its country's box and the swapped pair lies
# inside. That is reliable because, for every box here, the latitude and longitude ranges do not
# overlap (tests/validation assert it): a true position inside the country can never look swapped.
COUNTRY_BOXES: dict[str, tuple[float, float, float, float]] = {
    "ZA": (-47.5, -22.0, 16.0, 38.5),
    "BW": (-27.0, -17.7, 19.9, 29.4),
    "NA": (-29.0, -16.9, 11.7, 25.3),
    "MZ": (-27.0, -10.3, 30.2, 41.0),
    "LS": (-30.7, -28.5, 27.0, 29.5),
    "SZ": (-27.4, -25.7, 30.7, 32.2),
    "ZW": (-22.5, -15.6, 25.2, 33.1),
    "ZM": (-18.1, -8.2, 21.9, 33.8),
    "KE": (-4.8, 5.1, 33.9, 42.0),
    "TZ": (-11.8, -0.9, 29.3, 40.5),
    "UG": (-1.5, 4.3, 29.5, 35.1),
    "SG": (1.1, 1.5, 103.6, 104.1),
    "MY": (0.8, 7.5, 99.6, 119.3),
    "TH": (5.6, 20.5, 97.3, 105.7),
    "ID": (-11.1, 6.1, 94.9, 141.1),
    "PH": (4.5, 21.2, 116.9, 126.7),
    "PT": (30.0, 42.2, -31.3, -6.1),
    "ES": (27.6, 43.9, -18.2, 4.4),
    "PL": (49.0, 54.9, 14.1, 24.2),
    "NZ": (-52.7, -34.3, 166.3, 178.6),
    "AU": (-44.0, -9.0, 112.9, 159.2),
    "GB": (49.8, 60.9, -8.7, 1.8),
    "IE": (51.4, 55.4, -10.7, -5.9),
    "FR": (41.3, 51.1, -5.2, 9.6),
    "DE": (47.2, 55.1, 5.8, 15.1),
    "IT": (35.4, 47.1, 6.6, 18.6),
    "MX": (14.5, 32.8, -118.5, -86.7),
    "CL": (-56.0, -17.4, -109.5, -66.4),
    "AE": (22.6, 26.1, 51.5, 56.4),
    "HK": (22.1, 22.6, 113.8, 114.5),
}
