"""The served mock's memory allocator, set for bodies of many megabytes.

A 10 MB image arrives as a 13 MB JSON body, and each request makes a few blocks of that size
(the joined body, the parsed base64 text, the decoded image's slices). glibc's malloc gives a
block over its mmap threshold fresh pages from the kernel and returns them on free, so every
such request page-faulted ~28 MB back in: ~7,000 faults, a third of the request's time
(measured under wrk: 786k faults for 99 requests, 19.7 req/s). Raising the mmap threshold
above those sizes puts them on the heap, and raising the trim threshold keeps freed heap for
the next request: 39k faults for 148 requests, 29.5 req/s, for ~50 MB more resident memory.
Only ``vlm-harness serve`` (and its workers) call :func:`keep_large_blocks`: a test process
embedding the mock keeps the allocator as it is. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt(3) parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
LARGE = 64 * 1024 * 1024  # every block of a 10 MB image's request; larger ones get own pages
KEEP = 256 * 1024 * 1024  # free heap kept for reuse: a few 13 MB requests in flight at once


def keep_large_blocks() -> bool:
    """Serve blocks up to :data:`LARGE` from the heap and keep up to :data:`KEEP` of freed
    heap; True when the allocator took both settings (glibc), False where there is none."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP))
