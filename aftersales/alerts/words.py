"""Words of the alerts for people: their audit events."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

EVENT_LABELS: dict[str, Any] = {
    "alert_robot_configured": _("Group robot set up or changed"),
}
