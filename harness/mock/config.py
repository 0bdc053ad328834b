"""Configuration of the reference mock: keys, clocks, limits, seed and faults.

One frozen value so the in-process app, the served app and every test build the mock the same
way. Times are scaled so that a test can watch a WaveSpeed job move created -> processing ->
completed, or a realtime session hit its 300 s limit, in a fraction of a second: that fast
clock is this value's default, for the suite. ``vlm-harness serve`` runs on the documents'
clock (``--time-scale 1``) unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.mock.realtime_buffer import DEFAULT_WAITING_S

# The key the mock accepts when none is configured: a published test value, never a secret.
MOCK_KEY = "mock-key-for-vlm-contract-harness"


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Everything that shapes the mock's behaviour."""

    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    seed: int = 0
    job_step_s: float = 0.05  # async jobs advance one status per step
    # Session limits (300 s/600 s), audio pacing and output chunk length are multiplied by this.
    realtime_time_scale: float = 0.01
    realtime_context_tokens: int = 8192
    # Seconds of speech a duplex session lets wait to be heard before dropping the oldest chunk
    # (the documents say old chunks are dropped, not when: harness.mock.realtime_buffer)
    realtime_buffer_s: float = DEFAULT_WAITING_S
    # Undocumented by ModelBest; 16 MiB is what uvicorn enforced before, now answered with an
    # error event before the 1009 close (the server's own cap sits above, see shield.WS_WIRE_MAX)
    realtime_max_frame_bytes: int = 16 * 1024 * 1024
    # State is kept per provider, bounded by count, age and bytes (harness.mock.store); the
    # byte budgets fit the largest single upload a profile allows (100 MB video) twice over.
    store_max_items: int = 2048
    store_ttl_s: float = 900.0
    upload_budget_bytes: int = 256 * 1024 * 1024  # uploaded files, per provider
    job_budget_bytes: int = 32 * 1024 * 1024  # jobs with their inputs and results, per provider
    session_budget_bytes: int = 8 * 1024 * 1024  # realtime session records, per provider
    journal_budget_bytes: int = 8 * 1024 * 1024  # the request log and the webhook log, each
    sweep_interval_s: float = 5.0  # how often expired state is dropped without new traffic
    faults: str = ""  # server-wide fault profile, see harness.mock.faults
    defects: str = ""  # planted contract defects, see harness.mock.defects
    public_url: str | None = None  # absolute base advertised in fal/WaveSpeed URLs
    webhook_timeout_s: float = 5.0  # per attempt; fal documents none
    webhook_retry_span_s: float = 72.0  # fal: 10 retries "in the span of 2 hours", x 0.01 scale
    webhook_concurrency: int = 8  # deliveries in flight at once
    webhook_queue_max: int = 1024  # deliveries waiting; past it they are dropped (and logged)
    # Enforce advisory limits (no document states them) as errors and read ambiguous units
    # ("10 MB") strictly; by default they are accepted and reported (harness.mock.advisory).
    strict: bool = False
    # serve --workers N: the folder holding jobs and uploads that every worker must see (see
    # harness.mock.shared_store), and this worker's name, which keeps the ids it mints apart
    # from its siblings'; a single server has neither, and mints the ids it always did
    shared_dir: str | None = None
    worker: str = ""
    # The upstream journal (harness.mock.journaling): entries and bytes kept, oldest dropped;
    # and the bytes of larger bodies it holds until their entries are read, for their digests
    # (one let go first has none), enough for the largest body it hashes (BODY_CAP).
    journal_max_entries: int = 1024
    journal_max_bytes: int = 4 * 1024 * 1024
    journal_hold_bytes: int = 64 * 1024 * 1024

    # Keys a user's own clients or gateway already send (``serve --key``), accepted for every
    # provider beside its own; ``any_key`` accepts any non-empty key (a missing one is still 401).
    extra_keys: tuple[str, ...] = ()
    any_key: bool = False
    # serve --local-flavour: the local profile answers as this server program does (its error
    # shape and /v1/models owner, harness.providers.flavours)
    local_flavour: str | None = None

    def unique(self, *parts: object) -> tuple[object, ...]:
        """``parts`` made unique to this worker, for ids that counters mint per process."""
        return (*parts, self.worker) if self.worker else parts

    def key_for(self, provider: str) -> str:
        return self.keys.get(provider, MOCK_KEY)

    def accepts(self, provider: str, presented: str) -> bool:
        """Whether ``presented`` authenticates a request to ``provider``'s APIs."""
        return bool(presented) and (self.any_key or presented == self.key_for(provider)
                                    or presented in self.extra_keys)
