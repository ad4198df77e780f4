"""Refund arithmetic in integer fen (R3.2, R3.3). Pure functions; the service locks and saves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aftersales.core.errors import RefundCapExceeded
from aftersales.core.money import fen_to_yuan, share_of
from aftersales.orders.models import Order, OrderItem


@dataclass(frozen=True)
class ItemCap:
    """How much of one order item this case may still refund."""

    order_item: OrderItem
    quantity: int
    cap_fen: int


def item_cap(order_item: OrderItem, quantity: int, refunded_quantity: int = 0) -> ItemCap:
    """The paid share of `quantity` units, never more than what is left unrefunded.

    `refunded_quantity` is how many units of the item other cases already refunded. Each
    share is rounded down; counting the shares cumulatively gives these units the fen the
    earlier floors left behind, so refunding all units in several cases refunds exactly what
    was paid (3 units for 100.00 returned one by one: 33.33 + 33.33 + 33.34).
    """
    whole = order_item.quantity
    paid = order_item.paid_amount_fen
    share = share_of(paid, quantity, whole)
    before = min(refunded_quantity, whole)
    after = min(refunded_quantity + quantity, whole)
    share = max(share, share_of(paid, after, whole) - share_of(paid, before, whole))
    return ItemCap(order_item, quantity, min(share, order_item.refundable_fen))


def shipping_refundable_fen(order: Order) -> int:
    """Shipping is refunded once, in full or not at all (R3.3)."""
    if order.shipping_refunded_fen > 0:
        return 0
    return order.shipping_fee_paid_fen


def default_goods_fen(requested_fen: int, goods_cap_fen: int) -> int:
    """A refund's goods by default: what the buyer asked for (shipping included, as on the
    platform), never more than the goods may still refund. A case with nothing asked (an
    exchange turned into a refund) refunds the goods in full."""
    if requested_fen <= 0:
        return goods_cap_fen
    return min(requested_fen, goods_cap_fen)


def allocate(amount_fen: int, caps: Sequence[ItemCap]) -> list[tuple[OrderItem, int]]:
    """Split a goods refund over the items in proportion to their caps, never above a cap."""
    total_cap = sum(c.cap_fen for c in caps)
    if amount_fen < 0:
        raise ValueError("negative amount")
    if amount_fen > total_cap:
        raise RefundCapExceeded(
            requested=fen_to_yuan(amount_fen), refundable=fen_to_yuan(total_cap)
        )
    if total_cap == 0:
        return [(c.order_item, 0) for c in caps]
    lines = [amount_fen * c.cap_fen // total_cap for c in caps]
    # Floor division leaves a few fen; hand them out in item order within each cap.
    remainder = amount_fen - sum(lines)
    for index, cap in enumerate(caps):
        extra = min(remainder, cap.cap_fen - lines[index])
        lines[index] += extra
        remainder -= extra
    return [(c.order_item, line) for c, line in zip(caps, lines, strict=True)]
