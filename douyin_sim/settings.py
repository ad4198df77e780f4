"""The simulator's two groups of settings, with defaults and validation.

`config`: how the platform behaves (token lifetimes, QPS, deadlines, timeout actions, refund
delay). `switches`: faults and push behaviour, for tests and demos of the unhappy paths.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ControlError
from .rules import DEFAULT_DEADLINE_HOURS, DEFAULT_TIMEOUT_ACTIONS, TIMEOUT_ACTION_CHOICES

DEFAULT_CONFIG: dict[str, Any] = {
    "token_ttl": 7200,  # access token lifetime, seconds
    "refresh_ttl": 14 * 86400,  # refresh token lifetime, seconds
    "refresh_grace": 60,  # a refresh token re-used within this many seconds gets the same pair
    "qps": 100,  # per app; 0 = no limit
    "timestamp_skew": 600,  # seconds either side of the simulator's wall clock
    "refund_delay": 5.0,  # seconds (simulated) from refund agreed (2 退款中) to done (3 成功)
    "intercept_success_rate": 1.0,
    "deadline_hours": dict(DEFAULT_DEADLINE_HOURS),
    "timeout_actions": dict(DEFAULT_TIMEOUT_ACTIONS),
    "tick": 1.0,  # seconds between sweeps of deadlines and pending refunds
    "evidence_hours": 48.0,  # the merchant's window for evidence once intervention starts
    # Seconds every call of the signed API waits before it is answered: the real platform's
    # round trip (tens of milliseconds from a server in the same region), for benchmarks.
    "api_latency": 0.0,
}

DEFAULT_SWITCHES: dict[str, Any] = {
    # Faults of the simulator's own API (the signed gateway; never /_sim/).
    "api_fail_rate": 0.0,  # fraction answered with HTTP 5xx
    "api_fail_status": 503,
    "api_hang_rate": 0.0,  # fraction that get no answer for api_hang_seconds, then a dropped line
    "api_hang_seconds": 10.0,
    "api_fault_when": "random",  # before | after | random: apply the change first, or not
    "api_fault_methods": [],  # e.g. ["afterSale.operate"]; empty = every method
    "api_fail_next": 0,  # the next N calls fail with 5xx (counts down)
    "api_hang_next": 0,  # the next N calls hang (counts down)
    # Pushes.
    "push_duplicate": 1,  # send every message N times
    "push_reorder_window": 0,  # shuffle within windows of N messages (0/1 = in order)
    "push_reorder_hold": 1.0,  # seconds to wait for a window to fill
    "push_delay": 0.0,  # seconds before a new message is first sent
    "push_batch_size": 1,  # messages per POST
    "push_timeout": 5.0,  # seconds to wait for the receiver's answer
    "push_retry_base": 2.0,  # first redelivery delay; doubles per attempt
    "push_retry_max": 300.0,
    "push_max_attempts": 15,  # then the delivery is marked dead (POST /_sim/pushes/retry)
    "push_paused": False,  # hold every push (a platform-side outage)
}

_FAULT_WHEN = ("before", "after", "random")
_RATES = {"api_fail_rate", "api_hang_rate", "intercept_success_rate"}
_POSITIVE_INTS = {
    "push_duplicate",
    "push_batch_size",
    "push_max_attempts",
    "token_ttl",
    "refresh_ttl",
}


def _coerce(key: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false"):
            return value.lower() in ("1", "true", "yes", "on")
        if value in (0, 1):
            return bool(value)
        raise ControlError(f"{key}: expected true or false")
    if isinstance(default, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ControlError(f"{key}: expected an integer") from None
        if number != float(value) or number < 0:
            raise ControlError(f"{key}: expected a non-negative integer")
        if key in _POSITIVE_INTS and number < 1:
            raise ControlError(f"{key}: must be at least 1")
        if key == "api_fail_status" and not 500 <= number <= 599:
            raise ControlError(f"{key}: an HTTP 5xx status")
        return number
    if isinstance(default, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ControlError(f"{key}: expected a number") from None
        if number < 0 or number != number:
            raise ControlError(f"{key}: must be a non-negative number")
        if key in _RATES and number > 1:
            raise ControlError(f"{key}: a fraction between 0 and 1")
        if key == "tick" and number <= 0:
            raise ControlError(f"{key}: must be positive")
        return number
    if isinstance(default, list):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ControlError(f"{key}: expected a list of strings")
        return value
    if isinstance(default, dict):
        return _coerce_mapping(key, default, value)
    if key == "api_fault_when":
        if value not in _FAULT_WHEN:
            raise ControlError(f"{key}: one of {', '.join(_FAULT_WHEN)}")
        return value
    raise ControlError(f"{key}: cannot be set")


def _coerce_mapping(key: str, default: dict, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ControlError(f"{key}: expected an object")
    merged = dict(default)
    for step, item in value.items():
        step = str(step)
        if step not in default:
            raise ControlError(f"{key}: unknown step {step!r} (known: {', '.join(default)})")
        if key == "timeout_actions":
            if item not in TIMEOUT_ACTION_CHOICES:
                raise ControlError(f"{key}.{step}: one of {', '.join(TIMEOUT_ACTION_CHOICES)}")
            merged[step] = item
        else:
            try:
                hours = float(item)
            except (TypeError, ValueError):
                raise ControlError(f"{key}.{step}: expected hours") from None
            if hours <= 0:
                raise ControlError(f"{key}.{step}: must be positive")
            merged[step] = hours
    return merged


def merged(current: dict, defaults: dict, updates: dict) -> dict:
    """`current` updated with validated `updates`; raises ControlError naming a bad key."""
    if not isinstance(updates, dict):
        raise ControlError("expected a JSON object of settings")
    result = copy.deepcopy(current)
    for key, value in updates.items():
        if key not in defaults:
            raise ControlError(f"unknown setting {key!r} (known: {', '.join(sorted(defaults))})")
        base = result[key] if isinstance(defaults[key], dict) else defaults[key]
        result[key] = _coerce(key, base, value)
    return result
