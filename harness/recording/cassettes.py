"""Cassette files and the per-provider pool that replays and records them.

A cassette is ``cassettes/<provider>/<scenario>.yaml`` in vcrpy's own format (read and written
by ``vcr.cassette.Cassette``, so vcrpy itself can load it) with vcrpy's top-level ``metadata``:
``origin`` (``reference-mock``, ``url:<host>`` or ``live:<provider>``), ``recorded_at``,
``harness_version``, ``schema_version``, ``target``, ``provider``, ``scenario`` and
``media_threshold``. Targets never know which check is running, so replay cannot pick a
scenario's file: a :class:`Pool` holds every cassette of one provider and, among the unplayed
interactions matching a request, prefers the one right after the last one played from its
cassette, then one from the cassette it last played from, then the first by file name. That
follows a run whether it replays the whole suite or one check: the recorder gives each scenario
a fresh mock, so two checks opening with the same request recorded the same answer, and either
copy serves until a later request tells them apart. When every match has been played, a
replay-only pool starts over a cassette played to its end (a second run on one target), else
repeats the last match (a poll asked once more gets the final status again); a recording pool
sends the request on and records it instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from vcr.cassette import Cassette
from vcr.persisters.filesystem import FilesystemPersister
from vcr.record_mode import RecordMode
from vcr.request import Request
from vcr.serializers import yamlserializer

from harness import __version__
from harness.errors import UnknownNameError
from harness.providers import Api
from harness.recording.match import MATCH_ON, CassetteMiss, Parts, Recorded, key
from harness.recording.scrub import Hooks, Rebase

# The origin cassettes are written on: the in-process mock's reserved name, so a cassette
# recorded anywhere reads (and replays) as if recorded against the in-process mock.
CANONICAL_ROOT = "http://mock.invalid"
SUFFIX = ".yaml"
UNSORTED = "unsorted"  # where interactions go when nothing says which scenario they belong to
MODES = ("none", "once", "new_episodes", "all")  # vcrpy's documented modes ("any" is not)


class _Dumper(yamlserializer._CassetteDumper):  # type: ignore[misc,name-defined]
    """vcrpy's safe dumper, writing multi-line strings (SSE streams) as literal blocks."""


def _str(dumper: Any, data: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


class Serializer:
    """vcrpy's YAML serializer, except that a stream reads as the lines the server sent
    (PyYAML falls back to a quoted string where a literal block cannot hold the text)."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        return str(yaml.dump(cassette_dict, Dumper=_Dumper))

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        return yamlserializer.deserialize(cassette_string)


SERIALIZER = Serializer()


def record_mode(value: str | RecordMode) -> RecordMode:
    """``value`` as a vcrpy record mode; an unknown one lists the known ones."""
    name = value.value if isinstance(value, RecordMode) else value
    if name not in MODES:
        raise UnknownNameError("record mode", str(name), MODES)
    return RecordMode(name)


def default_dir() -> Path:
    """The cassettes shipped with the harness: packaged in the wheel, or the checkout's."""
    packaged = Path(__file__).resolve().parent.parent / "_cassettes"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent.parent / "cassettes"


def canonical_base(api: Api, host: str = "default") -> str:
    """The API base as cassettes record it: the mock layout on :data:`CANONICAL_ROOT`."""
    return f"{CANONICAL_ROOT}{api.mock_prefix(host)}"


def metadata(*, origin: str, target: str, provider: str, scenario: str,
             media_threshold: int) -> dict[str, Any]:
    from harness.report.results import schema_version  # hashes the schemas: only when recording

    return {"origin": origin, "recorded_at": datetime.now(UTC).date().isoformat(),
            "harness_version": __version__, "schema_version": schema_version(), "target": target,
            "provider": provider, "scenario": scenario, "media_threshold": media_threshold}


@dataclass(frozen=True, slots=True)
class Written:
    """One cassette file saved by a recording session."""

    path: Path
    interactions: int
    size: int


@dataclass
class Recording:
    """How a pool records: the hook chains, the origin rebase and each new cassette's metadata."""

    hooks: Hooks
    rebase: Rebase
    origin: str
    target: str
    media_threshold: int


@dataclass
class _Entry:
    scenario: str
    path: Path
    cassette: Cassette
    existed: bool


@dataclass
class Pool:
    """Every cassette of one provider: the replay index and where new interactions go."""

    provider: str
    folder: Path
    mode: RecordMode = RecordMode.NONE
    own: tuple[str, ...] = ()
    recording: Recording | None = None
    _entries: dict[str, _Entry] = field(default_factory=dict, init=False)
    _index: dict[Parts, list[tuple[str, int]]] = field(default_factory=dict, init=False)
    _last: str | None = field(default=None, init=False)  # the scenario last played from
    _cursor: dict[str, int] = field(default_factory=dict, init=False)  # index after its last play
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode is not RecordMode.NONE and self.recording is None:
            raise ValueError("a recording pool needs its hooks")
        if self.mode is RecordMode.ALL:
            return  # re-recorded from scratch: nothing old is replayed or kept
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            self._open(path.stem, path, existed=True)

    @property
    def directory(self) -> Path:
        return self.folder / self.provider

    def __len__(self) -> int:
        return sum(len(e.cassette) for e in self._entries.values())

    def _open(self, scenario: str, path: Path, *, existed: bool) -> _Entry:
        kwargs: dict[str, Any] = {"path": str(path), "match_on": MATCH_ON, "serializer": SERIALIZER,
                                  "record_mode": self.mode, "allow_playback_repeats": False}
        if self.recording is not None:
            kwargs |= {"before_record_request": self.recording.hooks.request,
                       "before_record_response": self.recording.hooks.response}
        cassette = Cassette.load(**kwargs) if existed else Cassette(**kwargs)
        entry = self._entries[scenario] = _Entry(scenario, path, cassette, existed)
        for i, (request, _) in enumerate(cassette.data):
            self._index.setdefault(key(request, ()), []).append((scenario, i))
        return entry

    # -- replay ---------------------------------------------------------------------------------

    def _fresh(self, hits: list[tuple[str, int]]) -> list[tuple[str, int]]:
        return [h for h in hits if not self._entries[h[0]].cassette.play_counts[h[1]]]

    def find(self, request: Request) -> Mapping[str, Any] | None:
        """The recorded response for ``request`` (marked played), or None."""
        with self._lock:
            hits = self._index.get(key(request, self.own), [])
            fresh = self._fresh(hits)
            if hits and not fresh and self.mode is RecordMode.NONE:
                # A cassette played to its end starts over when asked again: a second run on
                # the same target replays like the first.
                for name in {s for s, _ in hits}:
                    entry = self._entries[name]
                    if all(entry.cassette.play_counts[i] for i in range(len(entry.cassette))):
                        entry.cassette.rewind()
                        self._cursor.pop(name, None)
                fresh = self._fresh(hits)
            if fresh:
                order = {h: n for n, h in enumerate(hits)}
                scenario, i = max(fresh, key=lambda h: (
                    h[1] == self._cursor.get(h[0], 0), h[0] == self._last, -order[h]))
            elif hits and self.mode is RecordMode.NONE:
                mine = [h for h in hits if h[0] == self._last]
                scenario, i = (mine or hits)[-1]  # asked more often than recorded: the last again
            else:
                return None  # nothing recorded, or recording: send it and record the answer
            cassette = self._entries[scenario].cassette
            cassette.play_counts[i] += 1
            self._last, self._cursor[scenario] = scenario, i + 1
            return cassette.data[i][1]

    def miss(self, request: Request) -> CassetteMiss:
        searched = [Recorded(r, e.path, i) for e in self._entries.values()
                    for i, (r, _) in enumerate(e.cassette.data)]
        hint = "" if searched else (
            f"no cassettes for {self.provider} under {self.folder}; record them with: "
            f"vlm-harness record --target mock --provider {self.provider}")
        key(request, self.own)  # normalise with our keys before the matchers read it
        return CassetteMiss(request, self.provider, self.directory, searched, hint=hint)

    # -- recording ------------------------------------------------------------------------------

    def records(self, scenario: str) -> bool:
        """Whether a request that found no match may be sent on and recorded into ``scenario``."""
        if self.mode is RecordMode.ONCE:
            entry = self._entries.get(scenario)
            return entry is None or not entry.existed
        return self.mode in (RecordMode.NEW_EPISODES, RecordMode.ALL)

    def add(self, scenario: str, request: Request, response: dict[str, Any]) -> None:
        """Append one interaction (scrubbed by the hooks) to ``scenario``'s cassette."""
        assert self.recording is not None
        with self._lock:
            entry = self._entries.get(scenario)
            if entry is None:
                entry = self._open(scenario, self.directory / f"{scenario}{SUFFIX}", existed=False)
                for name, value in metadata(
                        origin=self.recording.origin, target=self.recording.target,
                        provider=self.provider, scenario=scenario,
                        media_threshold=self.recording.media_threshold).items():
                    entry.cassette.get_metadata(name, value)
            before = len(entry.cassette)
            entry.cassette.append(request, response)
            if len(entry.cassette) > before:  # a hook may drop an interaction
                stored = entry.cassette.data[-1][0]
                self._index.setdefault(key(stored, ()), []).append((scenario, before))
                entry.cassette.play_counts[before] = 1  # answered live: never replayed this session

    def save(self) -> list[Written]:
        """Write every cassette that changed; vcrpy serialises it."""
        written = []
        with self._lock:
            for entry in self._entries.values():
                if entry.cassette.dirty:
                    entry.cassette._save()
                    written.append(Written(entry.path, len(entry.cassette), entry.path.stat().st_size))
        return written


def scenarios(folder: Path, provider: str) -> list[str]:
    """The scenario names recorded for ``provider`` under ``folder``."""
    return sorted(p.stem for p in (folder / provider).glob(f"*{SUFFIX}"))


def load(path: Path) -> Cassette:
    """One cassette file as vcrpy loads it (for inspection and tests)."""
    return Cassette.load(path=str(path), match_on=MATCH_ON, record_mode=RecordMode.NONE,
                         serializer=SERIALIZER)


def metadata_of(path: Path) -> dict[str, Any]:
    """The ``metadata`` block of a cassette file, read by vcrpy's own persister."""
    _, _, *meta = FilesystemPersister.load_cassette(str(path), serializer=yamlserializer)
    return dict(meta[0]) if meta else {}
