"""The generator: the same seed gives the same rows, with the issue's sizes."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from newsstand.datagen import generate


def content_hash(path: Path) -> str:
    """A hash of every row of every table, in primary-key order (not of the file's bytes, which
    SQLite may lay out differently for the same rows)."""
    digest = hashlib.sha256()
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
    db.close()
    return digest.hexdigest()


def make(path: Path, seed: int) -> Path:
    with sqlite3.connect(path) as db:
        generate(db, seed)
    db.close()
    return path


def test_same_seed_same_rows(tmp_path: Path) -> None:
    first = make(tmp_path / "a.db", 5)
    assert content_hash(first) == content_hash(make(tmp_path / "b.db", 5))
    assert content_hash(first) != content_hash(make(tmp_path / "c.db", 6))


def test_sizes(template_db: Path) -> None:
    with sqlite3.connect(template_db) as db:
        def count(sql: str) -> int:
            return int(db.execute(sql).fetchone()[0])

        assert count("SELECT COUNT(*) FROM vendors") == 50
        assert count("SELECT COUNT(*) FROM payables") == 50 * 365
        assert count("SELECT COUNT(DISTINCT billing_date) FROM payables") == 365
        assert count("SELECT COUNT(*) FROM customers") == 1000
        assert count("SELECT COUNT(*) FROM subscriptions") == 3000
        assert count("SELECT COUNT(*) FROM sales") > 0
        assert count("SELECT COUNT(*) FROM messengers") > 0
    db.close()
