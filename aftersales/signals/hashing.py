"""Perceptual hashes of photos with Pillow: the same picture resized or saved again at
another JPEG quality keeps (nearly) the same 64 bits; a different picture differs in about
half of them. Pure.

- **dHash** (difference hash): the picture in grey at 9×8; each bit says whether a pixel is
  brighter than its right-hand neighbour.
- **pHash** (DCT hash): the picture in grey at 32×32, its 2-D DCT-II; the 8×8 lowest
  frequencies without the constant term, each bit says whether a coefficient is above their
  median.

Two photos are the same picture when both distances (the number of differing bits) are at
most the rule's threshold. A picture with almost no left-to-right structure (a plain colour,
a top-to-bottom gradient: its dHash has fewer than `MIN_STRUCTURE_BITS` bits set, or as few
unset) says nothing about where it came from and is never compared.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache

from PIL import Image, UnidentifiedImageError

MIN_STRUCTURE_BITS = 8
_PHASH_SIZE = 32
_PHASH_KEEP = 8


@dataclass(frozen=True)
class PictureHash:
    dhash: int
    phash: int

    @property
    def informative(self) -> bool:
        ones = bin(self.dhash).count("1")
        return MIN_STRUCTURE_BITS <= ones <= 64 - MIN_STRUCTURE_BITS

    def distance(self, other: PictureHash) -> int:
        """The larger of the two Hamming distances."""
        return max(hamming(self.dhash, other.dhash), hamming(self.phash, other.phash))


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def _grey(image: Image.Image, size: tuple[int, int]) -> list[int]:
    image.draft("L", (size[0] * 4, size[1] * 4))  # JPEG: decode at a fraction of the size
    small = image.convert("L").resize(size, Image.Resampling.LANCZOS)
    return list(small.tobytes())


def dhash(image: Image.Image) -> int:
    pixels = _grey(image, (9, 8))
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return bits


@cache
def _dct_matrix(n: int) -> tuple[tuple[float, ...], ...]:
    return tuple(
        tuple(
            math.cos(math.pi * (2 * x + 1) * u / (2 * n))
            * (math.sqrt(1 / n) if u == 0 else math.sqrt(2 / n))
            for x in range(n)
        )
        for u in range(n)
    )


def phash(image: Image.Image) -> int:
    n, keep = _PHASH_SIZE, _PHASH_KEEP
    pixels = _grey(image, (n, n))
    rows = [pixels[r * n : (r + 1) * n] for r in range(n)]
    dct = _dct_matrix(n)
    # Only the first `keep` frequencies are needed in each direction.
    by_row = [
        [sum(c * v for c, v in zip(dct[u], row, strict=True)) for u in range(keep)] for row in rows
    ]
    coeffs = [
        sum(dct[v][y] * by_row[y][u] for y in range(n)) for v in range(keep) for u in range(keep)
    ]
    low = coeffs[1:]  # without the constant term
    median = sorted(low)[len(low) // 2]
    bits = 0
    for value in coeffs:
        bits = (bits << 1) | (1 if value > median else 0)
    return bits


def picture_hash(data: bytes) -> PictureHash | None:
    """Both hashes of an image file, or None if Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return PictureHash(dhash=dhash(image.copy()), phash=phash(image.copy()))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def to_hex(value: int) -> str:
    return f"{value:016x}"


def from_hex(text: str) -> int:
    return int(text, 16)
