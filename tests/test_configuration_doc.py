"""docs/configuration.md lists exactly the FLEET_* variables the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
# A variable name in a string literal of the code: what os.environ, EnvVar and the settings read.
IN_CODE = re.compile(r"""["'](FLEET_[A-Z0-9_]+)["']""")
# A variable as the first cell of a table row of the doc.
IN_DOC = re.compile(r"^\| `(FLEET_[A-Z0-9_]+)` \|", re.MULTILINE)


def variables_in_code() -> dict[str, str]:
    """name -> first file that names it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "fleet_pipeline").rglob("*.py")):
        for name in IN_CODE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_every_variable_read_in_code_is_documented():
    documented = set(IN_DOC.findall(DOC.read_text(encoding="utf-8")))
    in_code = variables_in_code()
    assert len(in_code) > 30  # the scan itself works
    missing = {name: where for name, where in in_code.items() if name not in documented}
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_the_doc_lists_no_variable_the_code_no_longer_reads():
    rows = IN_DOC.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) == len(set(rows)), "a variable is listed twice"
    stale = sorted(set(rows) - set(variables_in_code()))
    assert not stale, f"no code reads these any more: {stale}"
