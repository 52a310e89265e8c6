"""The text rules judged with Arrow (RE2) give the verdicts of Python's re on every value.

rules.fullmatch, strip_phone and text_lengths replaced pandas' .str methods for speed; a
different verdict would accept or reject rows the contract judged otherwise.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_pipeline.validation import rules
from fleet_pipeline.validation.settings import PHONE_PATTERN, REFERENCE_PATTERN

PATTERNS = (rules.EMAIL_PATTERN, rules.TIME_PATTERN, rules.UUID_PATTERN, PHONE_PATTERN,
            REFERENCE_PATTERN, r"(?=A)A\d+")  # the last one RE2 does not take
# Characters on which Python's re and RE2 disagree (Unicode digits and spaces, \v, \x1c) and the
# ones the patterns are about.
ALPHABET = st.sampled_from(list("aZ09@.-_/+() :\t\n\x0b\x1c\x00é٣\u00a0\u2009fF") + ["🚚"])
VALUES = st.lists(st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=14),
                            st.sampled_from(["a@b.co", "08:30", "+27825550123", "٠٨٠٠١٢٣٤٥٦٧"])),
                  max_size=12)


def column(values: list) -> pd.Series:
    return pd.Series(values, dtype=object)


@settings(max_examples=200, deadline=None)
@given(VALUES, st.sampled_from(PATTERNS))
def test_fullmatch_is_pythons(values, pattern):
    s = column(values)
    assert rules.fullmatch(s, pattern).tolist() == \
        s.str.fullmatch(pattern, na=True).astype(bool).tolist()


@settings(max_examples=100, deadline=None)
@given(VALUES)
def test_strip_phone_and_lengths_are_pythons(values):
    s = column(values)
    assert rules.strip_phone(s).tolist() == \
        s.str.replace(rules.PHONE_SEPARATORS, "", regex=True).tolist()
    assert rules.text_lengths(s).fillna(-1).tolist() == s.str.len().fillna(-1).tolist()


def test_columns_that_are_not_text_are_judged_by_pandas():
    s = pd.Series([1.5, None, "08:00"], dtype=object)
    assert rules.fullmatch(s, rules.TIME_PATTERN).tolist() == \
        s.str.fullmatch(rules.TIME_PATTERN, na=True).tolist()
