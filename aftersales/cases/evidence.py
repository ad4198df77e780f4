"""Checking uploaded evidence by its content, not its name (R4.1)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from aftersales.core.errors import InvalidInput

from .choices import EvidenceKind

# What buyers' phones produce. Anything else (SVG, HTML, executables renamed .jpg) is refused.
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "image/jpeg": (EvidenceKind.IMAGE, "jpg"),
    "image/png": (EvidenceKind.IMAGE, "png"),
    "image/webp": (EvidenceKind.IMAGE, "webp"),
    "image/heic": (EvidenceKind.IMAGE, "heic"),
    "video/mp4": (EvidenceKind.VIDEO, "mp4"),
    "video/quicktime": (EvidenceKind.VIDEO, "mov"),
    "video/webm": (EvidenceKind.VIDEO, "webm"),
}


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    content_type: str
    extension: str
    size_bytes: int
    sha256: str
    storage_name: str


def check_upload(stream: IO[bytes], *, shop_id: int) -> CheckedUpload:
    """Sniff the type from the first bytes, enforce the size limit, hash the whole file."""
    stream.seek(0)
    head = stream.read(8192)
    guess = filetype.guess(head)
    if guess is None or guess.mime not in ALLOWED_TYPES:
        raise InvalidInput(_("Only JPEG, PNG, WebP or HEIC images and MP4, MOV or WebM videos."))
    kind, extension = ALLOWED_TYPES[guess.mime]
    limit = (
        settings.EVIDENCE_MAX_IMAGE_BYTES
        if kind == EvidenceKind.IMAGE
        else settings.EVIDENCE_MAX_VIDEO_BYTES
    )
    digest = hashlib.sha256(head)
    size = len(head)
    chunk = head
    while chunk:
        # Checked before each further read, so a file that fits in the head is checked too.
        if size > limit:
            raise InvalidInput(
                _("The file is larger than %(limit)d MB."), limit=limit // (1024 * 1024)
            )
        chunk = stream.read(1024 * 1024)
        size += len(chunk)
        digest.update(chunk)
    stream.seek(0)
    return CheckedUpload(
        kind=kind,
        content_type=guess.mime,
        extension=extension,
        size_bytes=size,
        sha256=digest.hexdigest(),
        storage_name=f"evidence/{shop_id}/{uuid.uuid4().hex}.{extension}",
    )
