"""The sales quota: which publications to buy more copies of (the prototype's sales observable).

The rule: over the whole sales table, a publication whose sold/issued ratio is above the quota
(0.9 by default) sold too close to its print run, so the newsstand should buy more. The
instruction says how many: ``ceil(sold / quota) - issued``, the extra copies that would have
brought the same sales down to exactly the quota of the copies issued.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import rx
from rx import operators as ops

from .db import PublicationSales

DEFAULT_QUOTA = 0.9


def buy_instructions(sales: Sequence[PublicationSales], quota: float) -> list[dict[str, Any]]:
    """The instructions for ``sales`` under ``quota``, in the order of ``sales``."""
    instructions: list[dict[str, Any]] = []
    rx.from_iterable(sales).pipe(
        ops.filter(lambda s: s.copies_issued > 0 and s.copies_sold / s.copies_issued > quota),
        ops.map(lambda s: {
            "publication": s.publication,
            "copies_issued": s.copies_issued,
            "copies_sold": s.copies_sold,
            "sold_ratio": round(s.copies_sold / s.copies_issued, 4),
            "quota": quota,
            "buy_copies": math.ceil(s.copies_sold / quota) - s.copies_issued,
        }),
    ).subscribe(on_next=instructions.append)
    return instructions
