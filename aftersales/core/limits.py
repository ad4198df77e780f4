"""How long each kind of text typed into the product may be, in characters.

One table for the forms (`max_length`), the API's schemas (`max_length`) and the services
(`check_length`), so a text is refused with the same limit whichever way it comes in, and
never reaches the database or the platform longer than they keep.
`core/tests/test_limits.py` walks every form and every API input and fails for a text
without a limit.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput

NOTE_MAX_LENGTH = 2000  # notes, explanations, inspection and repair notes, statements
SHORT_NOTE_MAX_LENGTH = 255  # the note of a photo or of a cost (stored in 255)
REASON_MAX_LENGTH = 500  # a partial refund's reason, a deadline extension's reason
MESSAGE_MAX_LENGTH = 1000  # a message to the buyer
PLATFORM_REMARK_MAX_LENGTH = 500  # a platform order's remark (the platform refuses longer)
CARRIER_MAX_LENGTH = 32
TRACKING_NUMBER_MAX_LENGTH = 64
SEARCH_MAX_LENGTH = 64
CODE_MAX_LENGTH = 64  # a code chosen from a list, a platform's id
USERNAME_MAX_LENGTH = 150  # Django's own
PASSWORD_MAX_LENGTH = 128  # hashing a longer one is only work for an attacker
DISPLAY_NAME_MAX_LENGTH = 32
KEY_NAME_MAX_LENGTH = 100  # an API key's name
FILE_NAME_MAX_LENGTH = 255
POLICY_DOCUMENT_MAX_LENGTH = 20_000  # a policy version's TOML


def check_length(**texts: tuple[str | None, int]) -> None:
    """Refuse a text longer than its limit: `check_length(note=(note, NOTE_MAX_LENGTH))`.
    The refusal names the parameter, so a form shows it beside its field."""
    for name, (text, limit) in texts.items():
        if text is not None and len(text) > limit:
            raise InvalidInput(
                _("The text is too long: %(length)d characters, at most %(limit)d."),
                field=name,
                length=len(text),
                limit=limit,
            )
