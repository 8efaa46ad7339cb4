"""CSV files people open in a spreadsheet, safe from formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel and LibreOffice: a volunteer registered as ``=HYPERLINK("http://…")`` would
run in the coordinator's spreadsheet. Every CSV the platform writes goes through
:func:`csv_text`, which prefixes such cells with an apostrophe, as OWASP recommends ("CSV
Injection"). Plain numbers (``-3``, ``-1,5``) are left as they are: they are no formula and
must stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as written in a CSV cell: text that a spreadsheet would run is neutralised."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ";",
    lineterminator: str = "\r\n",
) -> str:
    """The rows as CSV text, every cell (header included) passed through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
