"""The mock's memory allocator: set for bodies of many megabytes, and made to hand memory back.

A 10 MB image arrives as a 13 MB JSON body, and each request makes a few blocks of that size
(the joined body, the parsed base64 text, the decoded image's slices). glibc's malloc gives a
block over its mmap threshold fresh pages from the kernel and returns them on free, so every
such request page-faulted ~28 MB back in: ~7,000 faults, a third of the request's time
(measured under wrk: 786k faults for 99 requests, 19.7 req/s). :func:`keep_large_blocks`
raises the mmap threshold above those sizes, so they come from the heap, and the trim
threshold, so freed heap is kept for the next request: 39k faults for 148 requests, 29.5 req/s,
for ~50 MB more resident memory. Only ``vlm-harness serve`` (and its workers) call it: a test
process embedding the mock keeps the allocator as it is. What expired state freed is handed
back all the same: the store sweeper calls :func:`release_freed_memory` (``malloc_trim``),
which releases freed heap whatever the thresholds. Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any

# mallopt(3) parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
LARGE = 64 * 1024 * 1024  # every block of a 10 MB image's request; larger ones get own pages
KEEP = 256 * 1024 * 1024  # free heap kept for reuse: a few 13 MB requests in flight at once


@functools.cache
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 (musl and others lack them: not glibc)
    except (OSError, AttributeError):
        return None
    return libc


def keep_large_blocks() -> bool:
    """Serve blocks up to :data:`LARGE` from the heap and keep up to :data:`KEEP` of freed
    heap; True when the allocator took both settings (glibc), False where there is none."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, LARGE)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, KEEP))


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps what a process freed for reuse, so a
    flood of 20 MB uploads, once expired, still held ~60 MiB of RSS (bench/bench_soak.py);
    ``malloc_trim(0)`` returns them."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
