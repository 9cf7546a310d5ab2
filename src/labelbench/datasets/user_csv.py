"""A user's CSV file read strictly: present, UTF-8 (a byte-order mark allowed, as spreadsheet programs write one),
well-formed and not empty, each refusal naming the file and what was expected. The csv module does the parsing;
this only turns its failures into one clear message."""

from __future__ import annotations

import csv
from pathlib import Path

from labelbench.errors import DataError


def read_rows(table: Path, kind: str, expected: str) -> list[list[str]]:
    """Every row of ``table`` (``kind``: what the file is, e.g. "landmark CSV"; ``expected``: its header, said in
    each refusal)."""
    if not table.is_file():
        raise DataError(f"{kind} {table} does not exist (expected {expected})")
    try:
        with table.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{table} is not a UTF-8 CSV file: {exc}") from exc
    if not rows:
        raise DataError(f"{table} is empty; expected a header {expected}")
    return rows
