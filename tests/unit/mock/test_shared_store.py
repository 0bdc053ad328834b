"""The on-disk store that the workers of ``serve --workers N`` share (harness/mock/shared_store.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.mock import shared_store
from harness.mock.shared_store import DiskStore


def test_two_stores_on_one_folder_see_each_others_entries(tmp_path: Path) -> None:
    one, other = DiskStore(tmp_path, 8, 60), DiskStore(tmp_path, 8, 60)
    one.put("job:fal:1", {"output": "text"})
    assert other.get("job:fal:1") == {"output": "text"}
    other.put("job:fal:1", {"output": "changed"})  # e.g. a cancel on another worker
    assert one.get("job:fal:1") == {"output": "changed"}
    assert other.pop("job:fal:1") == {"output": "changed"} and one.get("job:fal:1") is None
    assert one.get("never") is None


def aged(store: DiskStore[bytes], key: str, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(store._path(key), (past, past))


def test_entries_expire_and_the_folder_stays_bounded(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store: DiskStore[bytes] = DiskStore(tmp_path, 3, 600)
    store.put("old", b"x")
    aged(store, "old", 900)
    assert store.get("old") is None and store.evicted == 1
    monkeypatch.setattr(shared_store, "SWEEP_EVERY", 1)
    for i in range(5):  # file times are coarse (a clock tick): age each one distinctly
        store.put(f"k{i}", bytes([i]))
        aged(store, f"k{i}", 100 - i)
    assert len(store) == 3 and sorted(store) == ["k2", "k3", "k4"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_bad_bounds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_items"):
        DiskStore(tmp_path, 0, 1)
