"""Who did something. Every service takes an actor; every audit event names one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class Actor:
    """A person, an integration or the system acting on one or more shops.

    `shop_roles` maps shop pk -> role; it is the scope every fetcher checks. The system
    actor (webhooks, tasks, policy) is not scoped: it only ever receives objects that were
    already resolved by shop.
    """

    kind: str  # "user" | "api_key" | "system" | "buyer" | "platform"
    label: str
    user: AbstractBaseUser | None = None
    shop_roles: dict[int, str] = field(default_factory=dict)
    is_unscoped: bool = False

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label, is_unscoped=True)

    @classmethod
    def platform(cls, label: str = "platform") -> Actor:
        return cls(kind="platform", label=label, is_unscoped=True)

    @classmethod
    def buyer(cls, label: str) -> Actor:
        """A buyer acting on their own case. Scoped to nothing: buyer-facing code must
        resolve the buyer's own case first and never list cases with this actor."""
        return cls(kind="buyer", label=label)

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    def role_in(self, shop_id: int) -> str | None:
        return self.shop_roles.get(shop_id)
