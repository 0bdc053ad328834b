"""A bounded, expiring store on disk, shared by the worker processes of ``serve --workers N``.

Each worker is its own process, and a client's poll may land on any of them, so what one
worker creates every other must find. Job ids keep fal's UUID shape (128 bits, what SDKs,
cassettes and drift's shape inference see), too small to carry a job's answer, which quotes the
prompt and describes the media; uploads are megabytes of bytes. So jobs and uploads of a
multi-worker mock live in files under one private folder made per ``serve`` (mode 0700, only
the mock's own processes write it); everything else (realtime sessions, the request log) stays
in each worker's memory. One file per key, written to a temporary name and renamed, so a
reader never sees half an entry; a file's age is its modification time. The interface is
:class:`harness.mock.store.BoundedStore`'s.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Generic, TypeVar

V = TypeVar("V")
SWEEP_EVERY = 64  # puts between two sweeps of the folder (a sweep lists every file)


class DiskStore(Generic[V]):
    def __init__(self, folder: str | Path, max_items: int, ttl_s: float, *,
                 max_bytes: int | None = None) -> None:
        if max_items < 1 or ttl_s <= 0:
            raise ValueError("DiskStore needs max_items >= 1 and ttl_s > 0")
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_items, self.ttl_s, self.max_bytes = max_items, ttl_s, max_bytes
        self.evicted = 0
        self._puts = 0

    def _path(self, key: str) -> Path:
        return self.folder / hashlib.sha256(key.encode()).hexdigest()

    def put(self, key: str, value: V) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            # pickle is safe here: only this mock's own processes can write the folder
            pickle.dump((key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
            size = f.tell()
        os.replace(tmp, self._path(key))
        self._puts += 1
        # A big file (an upload) may tip the byte budget: sweep now rather than 64 puts later.
        big = self.max_bytes is not None and size * SWEEP_EVERY > self.max_bytes
        if big or self._puts % SWEEP_EVERY == 0:
            self._sweep()

    def get(self, key: str) -> V | None:
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.ttl_s:
                path.unlink(missing_ok=True)
                self.evicted += 1
                return None
            with path.open("rb") as f:
                stored_key, value = pickle.load(f)
        except FileNotFoundError:
            return None
        return value if stored_key == key else None

    def pop(self, key: str) -> V | None:
        value = self.get(key)
        self._path(key).unlink(missing_ok=True)
        return value

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for path in self.folder.iterdir():
            if path.name.startswith(".tmp-"):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # another worker removed it meanwhile
                continue
            out.append((stat.st_mtime, stat.st_size, path))
        return sorted(out)

    @property
    def bytes(self) -> int:
        """What the folder holds (pickled sizes: the byte budget counts these)."""
        return sum(size for _, size, _ in self._entries())

    def sweep(self) -> int:
        """Drop what is expired, over the item count or over the byte budget; how many went."""
        before = self.evicted
        self._sweep()
        return self.evicted - before

    def _sweep(self) -> None:
        entries, now = self._entries(), time.time()
        total = sum(size for _, size, _ in entries)
        for i, (born, size, path) in enumerate(entries):
            over_bytes = self.max_bytes is not None and total > self.max_bytes and i < len(
                entries) - 1
            if len(entries) - i <= self.max_items and now - born <= self.ttl_s and not over_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        for _, _, path in self._entries():
            try:
                with path.open("rb") as f:
                    yield pickle.load(f)[0]
            except FileNotFoundError:
                continue
