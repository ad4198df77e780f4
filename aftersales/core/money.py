"""Money is integer fen (分) everywhere; yuan appear only when shown to a person."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def yuan_to_fen(yuan: str | int | Decimal) -> int:
    """Parse a yuan amount ("12.30") to fen. Refuses more than two decimals and floats."""
    if isinstance(yuan, float):
        raise TypeError("money must not be a float")
    try:
        value = Decimal(str(yuan))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {yuan!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {yuan!r}")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"more than two decimals: {yuan!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """Format fen as yuan with two decimals: 1234 -> "12.34"."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def share_of(total_fen: int, part: int, whole: int) -> int:
    """The fen of `total_fen` that belongs to `part` of `whole` units, rounded down.

    Used to split an item line's paid amount over a quantity. Rounding down means a
    partial quantity never refunds more than its share; the full quantity gets the total.
    """
    if whole <= 0 or part < 0 or part > whole:
        raise ValueError("part must be between 0 and whole")
    if part == whole:
        return total_fen
    return total_fen * part // whole
