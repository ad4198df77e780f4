"""Masking of buyers' personal data (R6.5, 个人信息保护法)."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and last four digits of a mainland number."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str) -> str:
    """张** : keep the first character only."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_address(address: str) -> str:
    """Keep the first six characters (province and city), hide the street."""
    address = address.strip()
    if len(address) <= 6:
        return address[:2] + "****"
    return address[:6] + "****"
