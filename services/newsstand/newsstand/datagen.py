"""The deterministic newsstand database: ``python3 -m newsstand.datagen --db PATH --seed N``.

Every value comes from one ``random.Random(seed)`` drawn in a fixed order, so the same seed gives
the same rows, byte for byte. It fills every table of schema.sql except the ones the services
write (billing_sheets, messenger_records).
"""

from __future__ import annotations

import argparse
import datetime
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

SCHEMA = Path(__file__).resolve().parent.parent / "schema.sql"

PUBLICATIONS: tuple[str, ...] = (
    "Daily Ledger", "Morning Courier", "Evening Star", "Harbor Gazette", "City Tribune",
    "Weekend Review", "Market Watch", "Sports Herald", "Science Monthly", "Garden Weekly",
    "Kids' Times", "Motor Journal",
)
FIRST_NAMES = ("Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kay", "Liam")
LAST_NAMES = ("Adams", "Brook", "Chen", "Diaz", "Evans", "Frost", "Gray", "Hale", "Ito", "Jones")
DEFAULT_YEAR = 2026
STREETS = ("Oak St", "Mill Rd", "Harbor Ave", "King St", "Elm Way", "Bridge Ln", "Park Row")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many rows of each kind; the defaults are the issue's."""

    vendors: int = 50
    customers: int = 1_000
    subscriptions: int = 3_000
    messengers: int = 120
    year: int = DEFAULT_YEAR


def _days(year: int) -> Iterator[str]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day.isoformat()
        day += datetime.timedelta(days=1)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _address(rng: random.Random) -> str:
    return f"{rng.randint(1, 999)} {rng.choice(STREETS)}"


def _phone(rng: random.Random) -> str:
    return f"555-{rng.randint(0, 9999):04d}"


def generate(db: sqlite3.Connection, seed: int, sizes: Sizes = Sizes()) -> None:
    """Create schema.sql's tables in ``db`` and fill them from ``seed`` (tables must be empty)."""
    rng = random.Random(seed)
    db.executescript(SCHEMA.read_text())
    days = list(_days(sizes.year))
    with db:
        db.executemany(
            "INSERT INTO vendors (id, name, address, phone) VALUES (?, ?, ?, ?)",
            [(v, f"{rng.choice(LAST_NAMES)} Distribution {v}", _address(rng), _phone(rng))
             for v in range(1, sizes.vendors + 1)],
        )
        db.executemany(
            "INSERT INTO payables (vendor_id, billing_date, amount_cents) VALUES (?, ?, ?)",
            [(v, day, rng.randint(1_000, 250_000)) for day in days for v in range(1, sizes.vendors + 1)],
        )
        db.executemany(
            "INSERT INTO customers (id, name, email, address) VALUES (?, ?, ?, ?)",
            [(c, _person(rng), f"customer{c}@example.com", _address(rng))
             for c in range(1, sizes.customers + 1)],
        )
        db.executemany(
            "INSERT INTO subscriptions (customer_id, publication, price_cents, qty) VALUES (?, ?, ?, ?)",
            [(rng.randint(1, sizes.customers), rng.choice(PUBLICATIONS), rng.randint(150, 900),
              rng.randint(1, 7)) for _ in range(sizes.subscriptions)],
        )
        db.executemany(
            "INSERT INTO sales (publication, sale_date, copies_issued, copies_sold, revenue_cents,"
            " profit_cents) VALUES (?, ?, ?, ?, ?, ?)",
            list(_sales(rng, days)),
        )
        db.executemany(
            "INSERT INTO messengers (id, name, vendor_id, phone) VALUES (?, ?, ?, ?)",
            [(m, _person(rng), rng.randint(1, sizes.vendors), _phone(rng))
             for m in range(1, sizes.messengers + 1)],
        )


def _sales(rng: random.Random, days: Sequence[str]) -> Iterator[tuple[str, str, int, int, int, int]]:
    # Each publication sells a share of what it issues around its own mean, so some sell out
    # (over the sales quota) and some do not: the quota rule has something to decide.
    for publication in PUBLICATIONS:
        mean_share = rng.uniform(0.55, 0.99)
        price_cents = rng.randint(150, 600)
        for day in days:
            issued = rng.randint(200, 1_200)
            sold = min(issued, round(issued * rng.uniform(mean_share - 0.04, mean_share + 0.04)))
            revenue = sold * price_cents
            yield publication, day, issued, sold, revenue, revenue - issued * price_cents // 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m newsstand.datagen", description=__doc__)
    parser.add_argument("--db", required=True, type=Path, help="the SQLite file to create")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
    parser.add_argument("--year", type=int, default=DEFAULT_YEAR, help="the payables' year")
    args = parser.parse_args(argv)
    if args.db.exists():
        parser.error(f"{args.db} exists: the generator fills a new database only")
    with sqlite3.connect(args.db) as db:
        generate(db, args.seed, Sizes(year=args.year))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
