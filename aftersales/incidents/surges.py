"""When arrivals jump: the threshold that makes the product propose an incident (R12.1).

For one dimension value — a product, a reason, or the carrier of the order's outbound parcel —
of one shop:

- **now**: the cases applied for in the last `WINDOW` (24 hours);
- **normal**: the mean per `WINDOW` over the `BASELINE_DAYS` (28) before it, floored at
  `MIN_RATE` (0.5 a day: a product that never had a case still needs a real jump);
- **the bound**: arrivals are taken as Poisson with the normal rate; the count is a surge when
  at least `MIN_CASES` (5) arrived and the chance of that many or more at the normal rate is
  below `P_VALUE` (0.001, one-sided upper tail).

Pure statistics here; the queries are in `services.detect_surges`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

WINDOW = timedelta(hours=24)
BASELINE_DAYS = 28
MIN_RATE = 0.5
MIN_CASES = 5
P_VALUE = 0.001

DIMENSIONS = ("product", "reason", "carrier")


def poisson_upper_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate)."""
    if count <= 0:
        return 1.0
    term = math.exp(-rate)
    below = term
    for k in range(1, count):
        term *= rate / k
        below += term
    return max(0.0, 1.0 - below)


@dataclass(frozen=True)
class Surge:
    dimension: str  # "product", "reason" or "carrier"
    value: str  # the product's id, the reason code, the carrier code
    label: str
    count: int
    baseline_total: int
    rate: float  # the normal count per window
    p_value: float

    def as_dict(self) -> dict[str, object]:
        return {
            "dimension": self.dimension,
            "value": self.value,
            "label": self.label,
            "count": self.count,
            "baseline_total": self.baseline_total,
            "baseline_days": BASELINE_DAYS,
            "rate": round(self.rate, 3),
            "p_value": self.p_value,
            "threshold": P_VALUE,
            "min_cases": MIN_CASES,
        }


def surge(dimension: str, value: str, label: str, count: int, baseline_total: int) -> Surge | None:
    """The surge, if `count` in the window crosses the bound over the baseline."""
    rate = max(baseline_total / BASELINE_DAYS, MIN_RATE)
    if count < MIN_CASES:
        return None
    p = poisson_upper_tail(count, rate)
    if p >= P_VALUE:
        return None
    return Surge(dimension, value, label, count, baseline_total, rate, p)
