"""A newsstand database for the bench: services/newsstand/schema.sql with 50 vendors and a year of
their daily billings (50 × 365 payables), made the same way from the same seed every time."""

from __future__ import annotations

import datetime
import random
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "services/newsstand/schema.sql"
YEAR = 2024
VENDORS = 50


def make_payables_db(path: Path, seed: int = 11) -> Path:
    """Writes the database at ``path`` (replacing it) and returns ``path``."""
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    first = datetime.date(YEAR, 1, 1)
    days = [first + datetime.timedelta(days=n) for n in range(365)]
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA.read_text())
        conn.executemany(
            "INSERT INTO vendors (id, name, address, phone) VALUES (?, ?, ?, ?)",
            [(v, f"Vendor {v}", f"{v} Market St", f"555-{v:04}") for v in range(1, VENDORS + 1)],
        )
        conn.executemany(
            "INSERT INTO payables (vendor_id, billing_date, amount_cents) VALUES (?, ?, ?)",
            [
                (v, day.isoformat(), rng.randrange(1_000, 500_000))
                for day in days
                for v in range(1, VENDORS + 1)
            ],
        )
    return path


def billing_dates() -> list[str]:
    """The dates the bench asks about: every day of the year, so sums cover 1 to 365 days."""
    first = datetime.date(YEAR, 1, 1)
    return [(first + datetime.timedelta(days=n)).isoformat() for n in range(365)]
