"""Scan every table for strings: the check behind "no trace of the person in any table".

Reads the tables from the models' metadata, so a table added later is scanned too, and
every column that can hold text (strings, JSON) is read back as the database stores it
(JSON dumped without ASCII escapes, so "é" is searched as written).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import JSON, String, Text, select

from storage.db import Database
from storage.models import Base


def traces(db: Database, needles: Iterable[str]) -> list[str]:
    """Where any needle occurs: "table.column: needle" for each hit."""
    wanted = [n for n in needles if n]
    found = []
    with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if isinstance(c.type, String | Text | JSON)
                or isinstance(getattr(c.type, "impl", None), String | Text | JSON)
            ]
            if not columns:
                continue
            for row in s.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    found.extend(f"{table.name}.{column.name}: {n}" for n in wanted if n in text)
    return found
