"""What the platform's refusals and our delivery failures mean, in the staff's language.

An operation's `last_error` keeps what was said, as it was said: the platform's
`{code} {sub_code}: {sub_msg}` (see `client.ApiError`), a transport failure, or the outbox's
own reason (`outbox.OperationRefused`), in English or in the platform's Chinese. Staff read
`explain(error)`: an explanation of a known code or reason, with what to do; the original stays
beside it for whoever needs the detail (the case page shows it folded). An unknown error has no
explanation and is shown as it is.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

# (pattern, explanation); the first match wins. Named groups fill the explanation.
KNOWN: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"isv\.access-token-expired"),
        _(
            "The shop's authorisation on Douyin has expired. It is renewed automatically; if "
            "this keeps happening, authorise the app again in the Douyin back office."
        ),
    ),
    (
        re.compile(r"isv\.signature-invalid"),
        _(
            "Douyin refused our signature: the app secret of the shop's Douyin link is wrong. "
            "Ask the installation's operator to check the link."
        ),
    ),
    (
        re.compile(r"isv\.timestamp-invalid"),
        _("Douyin refused the request's time: this server's clock may be wrong."),
    ),
    (
        re.compile(r"isv\.business-failed:20309541"),
        _(
            "The after-sale's status on Douyin does not allow this any more (the buyer or "
            "the platform may have acted on it). Reload the page to see the platform's status."
        ),
    ),
    (
        re.compile(r"isv\.business-failed:11001"),
        _("Douyin allows this only by hand, in the Douyin back office."),
    ),
    (
        re.compile(r"isp\.service-error"),
        _("Douyin does not know this after-sale, or its service is unavailable for now."),
    ),
    (
        re.compile(r"isv\.rate-limited|^60000 "),
        _("Too many calls to Douyin at once; it is tried again automatically."),
    ),
    (
        re.compile(r"isv\.parameter-invalid"),
        _(
            "Douyin found a value in the request wrong (see the platform's words). The "
            "case's data may be incomplete; check it, or ask the installation's operator."
        ),
    ),
    (
        re.compile(r"^the platform needs evidence for “(?P<reason>[^”]*)”"),
        _("Douyin needs evidence for the reject reason “%(reason)s”: attach photos and retry."),
    ),
    (
        re.compile(r"^agreeing a return needs the shop's return address id"),
        _(
            "Agreeing a return needs the shop's return address on Douyin: ask the "
            "installation's operator to set it on the shop's Douyin link."
        ),
    ),
    (
        re.compile(r"^shipping goods back needs the carrier and tracking number"),
        _("Sending goods back needs the carrier and the tracking number."),
    ),
    (
        re.compile(r"^the platform offers no reject reason for this after-sale"),
        _("Douyin offers no reject reason for this after-sale: reject it in the back office."),
    ),
    (
        re.compile(r"^interception refused: (?P<reason>.*)$"),
        _("Douyin refused the parcel interception: %(reason)s"),
    ),
    (
        re.compile(r"^the shop is no longer linked to Douyin"),
        _("The shop is no longer connected to Douyin, so nothing can be sent."),
    ),
    (
        re.compile(r"^the worker stopped during delivery"),
        _("Sending was interrupted; the platform is being checked and it is tried again."),
    ),
    (
        re.compile(r"^(HTTP 5\d\d|timeout after|connection failed|unreadable answer)"),
        _("Douyin could not be reached or did not answer; it is tried again automatically."),
    ),
]


def explain(error: str) -> str:
    """The explanation of a known error in the active language, or "" for an unknown one."""
    text = (error or "").strip()
    text = text.removeprefix("Douyin: ")  # as the refund gateway reports it
    for pattern, explanation in KNOWN:
        match = pattern.search(text)
        if match:
            words = str(explanation)
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            return words % groups if groups else words
    return ""
