from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    UNSHIPPED = "unshipped", _("Unshipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered (signed for)")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class ShipmentKind(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange replacement")
    RESEND = "resend", _("Resend")
    REPAIR = "repair", _("Repaired goods")


class ShipmentStatus(models.TextChoices):
    CREATED = "created", _("Created")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    INTERCEPTED = "intercepted", _("Intercepted")
    RETURNED = "returned", _("Returned to sender")
    LOST = "lost", _("Lost")


class OrderChannel(models.TextChoices):
    """Where the order was placed, from the platform's line (`room_id`, `video_id`)."""

    LIVE = "live", _("Live room")
    VIDEO = "video", _("Short video")
    OTHER = "other", _("Shop, search and other")


class Packaging(models.TextChoices):
    BAG = "bag", _("Poly bag")
    BOX = "box", _("Carton")
    REINFORCED = "reinforced", _("Reinforced carton (foam, corners)")
