"""Media for canonical requests, made by hand with the standard library only.

The samples need small, valid media of several formats and exact sizes without an image
library (Pillow is a test dependency): :func:`png` writes an RGB PNG (padded to an exact byte
count by :func:`png_of_size`, for the size-limit probes), :data:`JPEG` and :data:`GIF` are 1x1
images kept as bytes, :data:`MP4` an ISO-BMFF header a mock can recognise, :func:`images` a
run of data URLs of different formats, and :func:`pcm_tone` a sine as base64 float32 PCM, the
input audio of a realtime turn.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib

from harness.media import data_url


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (220, 40, 40), *,
        comment: bytes = b"") -> bytes:
    """A valid RGB PNG; ``comment`` goes into a tEXt chunk (how sizes are padded exactly)."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    text = _chunk(b"tEXt", b"Comment\x00" + comment) if comment else b""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + text + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


_PNG_TEXT_OVERHEAD = 12 + len(b"Comment\x00")


def png_of_size(n: int) -> bytes:
    """A valid 1x1 PNG of exactly ``n`` bytes (a padded comment), for size-limit probes."""
    base = len(png())
    if n < base + _PNG_TEXT_OVERHEAD + 1:
        raise ValueError(f"a padded PNG needs at least {base + _PNG_TEXT_OVERHEAD + 1} bytes, not {n}")
    return png(comment=b"a" * (n - base - _PNG_TEXT_OVERHEAD))


# A 1x1 baseline JPEG and a 1x1 GIF, written once with an image library and kept as bytes.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4"
    "UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAABAAEDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI"
    "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRol"
    "JicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip"
    "qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAA"
    "AAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLR"
    "ChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaX"
    "mJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEA"
    "PwDLoooriPpj/9k=")
GIF = base64.b64decode("R0lGODdhAQABAIEAACgoyAAAAAAAAAAAACwAAAAAAQABAAAIBAABBAQAOw==")


def _box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", 8 + len(data)) + kind + data


# An ISO-BMFF header (ftyp isom + an empty mdat): enough for format detection and for a mock,
# not a decodable video; a live provider that decodes it may reject it, which is a finding.
MP4 = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41") + _box(b"mdat", b"\x00" * 16)


def images(n: int) -> list[str]:
    """``n`` small data URLs cycling through PNG, JPEG and GIF (different formats on purpose)."""
    def one(i: int) -> bytes:
        return png(rgb=(i % 256, 80, 160)) if i % 3 == 0 else JPEG if i % 3 == 1 else GIF

    return [data_url(one(i)) for i in range(n)]



def pcm_tone(seconds: float = 0.5, rate: int = 16000, freq: float = 440.0) -> str:
    """Base64 little-endian float32 mono PCM of a sine: input audio a duplex model answers."""
    n = int(seconds * rate)
    wave = (0.5 * math.sin(2 * math.pi * freq * i / rate) for i in range(n))
    return base64.b64encode(struct.pack(f"<{n}f", *wave)).decode("ascii")
