"""Is it a whole file? The container structure of each media format, walked to its end.

Magic bytes say what a file claims to be; a 30-byte PNG that stops after its signature claims
it too. :func:`defect` walks a file's *container* (the framing every decoder reads before any
pixel or sample) from its first byte to its end marker, and names the first place it breaks:

- PNG: every chunk's length and type up to ``IEND``, with the CRC of the critical chunks
  (libpng rejects a bad CRC there and only warns on ancillary ones);
- JPEG: the marker segments up to the first scan, then an ``EOI`` marker after it (inside
  entropy-coded data a 0xFF is always stuffed, so ``FF D9`` can only be the real EOI);
- GIF: header, colour tables, every extension and image block's sub-blocks, the ``3B`` trailer;
- WebP and WAV: the RIFF size against the bytes present;
- MP4/MOV: the top-level ISO-BMFF boxes tile the file exactly (``largesize`` and to-end boxes
  included); WebM: the top-level EBML elements do (an unknown-size Segment runs to the end).

That is the depth at which truncation and corrupted framing show, without a codec: decoding
pixels would need Pillow or ffmpeg at run time, and a provider's decoder would refuse the same
files for the same reasons. Bytes after an end marker are ignored, as decoders ignore them.
The walk reads the decoded chunks as they stream past, so nothing is joined or kept.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator


class _Reader:
    """Sequential access to a stream of chunks: take a few bytes, skip (and CRC) many."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf, self._pos, self.offset = chunks, b"", 0, 0

    def _fill(self) -> bool:
        nxt = next(self._chunks, None)
        if nxt is None:
            return False
        self._buf, self._pos = self._buf[self._pos:] + nxt, 0
        return True

    def take(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n and self._fill():
            pass
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        self.offset += len(out)
        return out

    def skip(self, n: int, crc: int | None = None) -> tuple[int, int | None]:
        """Skip ``n`` bytes (fewer at the end); the CRC-32 of them continued from ``crc``."""
        done = 0
        while done < n:
            if self._pos == len(self._buf) and not self._fill():
                break
            step = min(n - done, len(self._buf) - self._pos)
            if crc is not None:
                crc = zlib.crc32(memoryview(self._buf)[self._pos:self._pos + step], crc)
            self._pos += step
            done += step
        self.offset += done
        return done, crc

    def find(self, pattern: bytes) -> bool:
        """Skip past the next occurrence of ``pattern``; False when the stream ends first."""
        while True:
            at = self._buf.find(pattern, self._pos)
            if at >= 0:
                self.offset += at + len(pattern) - self._pos
                self._pos = at + len(pattern)
                return True
            keep = max(self._pos, len(self._buf) - len(pattern) + 1)
            self.offset += keep - self._pos
            self._pos = keep
            if not self._fill():
                return False

    def hop_sub_blocks(self) -> None:
        """Skip the GIF sub-blocks (length byte, data) that lie wholly in the buffer: a 10 MB
        GIF has 40 000 of them, too many for a take and a skip each."""
        buf, pos, end = self._buf, self._pos, len(self._buf)
        while pos < end and buf[pos] and pos + 1 + buf[pos] < end:
            pos += 1 + buf[pos]
        self.offset += pos - self._pos
        self._pos = pos

    def at_end(self) -> bool:
        return self._pos == len(self._buf) and not self._fill()


def _short(r: _Reader, what: str) -> str:
    return f"truncated at byte {r.offset}: the file ends inside {what}"


def _png(r: _Reader) -> str | None:
    r.take(8)
    first = True
    while True:
        at = r.offset
        head = r.take(8)
        if len(head) < 8:
            return _short(r, "the chunk list, before IEND")
        length, kind = struct.unpack(">I4s", head)
        name = kind.decode("latin-1")
        if first and kind != b"IHDR":
            return f"the first chunk is {name!r}, not IHDR (byte {at})"
        first = False
        if length > 0x7FFFFFFF:
            return f"chunk {name!r} at byte {at} declares {length} bytes (over 2^31-1)"
        critical = not kind[0] & 0x20
        done, crc = r.skip(length, zlib.crc32(kind) if critical else None)
        stored = r.take(4)
        if done < length or len(stored) < 4:
            return _short(r, f"chunk {name!r} (declared {length} bytes at byte {at})")
        if critical and crc != int.from_bytes(stored, "big"):
            return f"CRC mismatch in chunk {name!r} at byte {at}"
        if kind == b"IEND":
            return None


_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length


def _jpeg(r: _Reader) -> str | None:
    r.take(2)
    while True:
        at = r.offset
        byte = r.take(1)
        if not byte:
            return _short(r, "the marker segments, before the image data")
        if byte != b"\xff":
            return f"expected a marker at byte {at}, found 0x{byte.hex()}"
        marker = r.take(1)
        while marker == b"\xff":  # fill bytes may pad before a marker
            marker = r.take(1)
        if not marker:
            return _short(r, "a marker")
        code = marker[0]
        if code == 0xD9:
            return None
        if code in _STANDALONE:
            continue
        size = r.take(2)
        if len(size) < 2:
            return _short(r, f"marker FF{code:02X}'s length")
        length = int.from_bytes(size, "big")
        if length < 2:
            return f"marker FF{code:02X} at byte {at} declares length {length} (< 2)"
        if r.skip(length - 2)[0] < length - 2:
            return _short(r, f"segment FF{code:02X} (declared {length} bytes at byte {at})")
        if code == 0xDA:  # start of scan: entropy-coded data (and later scans) up to EOI
            return None if r.find(b"\xff\xd9") else _short(r, "the image data: no EOI marker")


def _sub_blocks(r: _Reader, what: str) -> str | None:
    while True:
        r.hop_sub_blocks()
        size = r.take(1)
        if not size:
            return _short(r, what)
        if size[0] == 0:
            return None
        if r.skip(size[0])[0] < size[0]:
            return _short(r, what)


def _gif(r: _Reader) -> str | None:
    screen = r.take(13)
    if len(screen) < 13:
        return _short(r, "the logical screen descriptor")
    if screen[10] & 0x80 and r.skip(3 << ((screen[10] & 7) + 1))[0] < 3 << ((screen[10] & 7) + 1):
        return _short(r, "the global colour table")
    while True:
        at = r.offset
        kind = r.take(1)
        if not kind:
            return _short(r, "the blocks, before the 3B trailer")
        if kind == b"\x3b":
            return None
        if kind == b"\x21":
            if not r.take(1) or (bad := _sub_blocks(r, f"the extension at byte {at}")):
                return bad or _short(r, "an extension label")
        elif kind == b"\x2c":
            desc = r.take(9)
            table = 3 << ((desc[8] & 7) + 1) if len(desc) == 9 and desc[8] & 0x80 else 0
            if len(desc) < 9 or r.skip(table)[0] < table or not r.take(1):
                return _short(r, f"the image descriptor at byte {at}")
            if bad := _sub_blocks(r, f"the image data at byte {at}"):
                return bad
        else:
            return f"unexpected block introducer 0x{kind.hex()} at byte {at}"


def _riff(r: _Reader) -> str | None:
    head = r.take(12)
    if len(head) < 12:
        return _short(r, "the RIFF header")
    size = int.from_bytes(head[4:8], "little")
    if size < 4:
        return f"RIFF size {size} is too small for a form type"
    rest = r.skip(size - 4)[0]
    return None if rest == size - 4 else _short(r, f"the RIFF body (declares {size + 8} bytes)")


def _bmff(r: _Reader) -> str | None:
    while not r.at_end():
        at = r.offset
        head = r.take(8)
        if len(head) < 8:
            return _short(r, f"a box header at byte {at}")
        size, kind = struct.unpack(">I4s", head)
        name, header = kind.decode("latin-1"), 8
        if size == 0:  # the last box runs to the end of the file
            return None
        if size == 1:
            large = r.take(8)
            if len(large) < 8:
                return _short(r, f"box {name!r}'s 64-bit size")
            size, header = int.from_bytes(large, "big"), 16
        if size < header:
            return f"box {name!r} at byte {at} declares {size} bytes, less than its header"
        if r.skip(size - header)[0] < size - header:
            return _short(r, f"box {name!r} (declared {size} bytes at byte {at})")
    return None


def _vint(r: _Reader, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer: (value, width), None at the end of the stream."""
    first = r.take(1)
    if not first or not first[0]:
        return None
    width = 9 - first[0].bit_length()
    rest = r.take(width - 1)
    if len(rest) < width - 1:
        return None
    value = (first[0] if keep_marker else first[0] & (0xFF >> width)).to_bytes(1, "big") + rest
    return int.from_bytes(value, "big"), width


def _ebml(r: _Reader) -> str | None:
    while not r.at_end():
        at = r.offset
        element, size = _vint(r, True), _vint(r, False)
        if element is None or size is None:
            return _short(r, f"an element header at byte {at}")
        if size[0] == (1 << (7 * size[1])) - 1:  # all ones: unknown size, runs to the end
            return None
        if r.skip(size[0])[0] < size[0]:
            return _short(r, f"element 0x{element[0]:X} (declared {size[0]} bytes at byte {at})")
    return None


WALKERS: dict[str, Callable[[_Reader], str | None]] = {
    "png": _png, "jpeg": _jpeg, "gif": _gif, "webp": _riff, "wav": _riff,
    "mp4": _bmff, "mov": _bmff, "webm": _ebml}


def defect(fmt: str, chunks: Iterator[bytes]) -> str | None:
    """Why the ``fmt`` file streamed as ``chunks`` is not whole, or None. The iterator is
    consumed up to the format's end marker (the caller drains the rest)."""
    walk = WALKERS.get(fmt)
    return None if walk is None else walk(_Reader(chunks))
