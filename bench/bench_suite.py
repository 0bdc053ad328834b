"""Benchmark of the whole contract suite: the in-process mock against cassette replay.

Runs ``engine.run`` on every provider with every registered check, as ``vlm-harness run
--target mock`` does, then records the suite into a temporary folder (``vlm-harness record
--target mock``) and replays it with the ``cassette`` target. The first run of each target is
reported as "cold" (schemas compiled, media made for the first time); then ``--repeat`` warm
runs each, and their median is compared. Requests are the exchanges the scenario checks made
(WebSocket sessions are not requests and do not replay). Both targets must agree on every
case's outcome and error findings, except where the cassette target skips with a reason.
Targets: the offline suite for all providers in under 60 s on 2 cores, and replay within 1.5x
of the in-process mock's wall time.

Run: ``.venv/bin/python bench/bench_suite.py`` (about 30 s; ``--quick`` for one run each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import engine  # noqa: E402
from harness.recording.recorder import record  # noqa: E402
from harness.report.results import Outcome, RunResult  # noqa: E402
from harness.targets import make_target  # noqa: E402
from harness.targets.base import TargetKind, TargetOptions  # noqa: E402

SUITE_BUDGET_S = 60.0
REPLAY_RATIO = 1.5


def run_once(options: TargetOptions) -> tuple[RunResult, float]:
    target = make_target(options)
    started = time.perf_counter()
    try:
        result = engine.run(engine.Plan(target=target, provider_spec="all"))
    finally:
        target.close()
    return result, time.perf_counter() - started


def requests(result: RunResult) -> int:
    return sum(len(case.latencies_ms) for case in result.cases)


def verdicts(result: RunResult) -> dict[tuple[str, str, str], tuple[str, tuple[str, ...]]]:
    return {(c.check, c.provider, c.endpoint): (c.outcome.value, tuple(f.message for f in c.findings
                                                                        if f.is_error))
            for c in result.cases}


def disagreements(mock: RunResult, replay: RunResult) -> list[str]:
    """Cases where replay does not say what the mock said (a reasoned replay skip is fine)."""
    a, b = verdicts(mock), verdicts(replay)
    skipped = {(c.check, c.provider) for c in replay.cases if c.outcome is Outcome.SKIP and c.reason}
    return [f"{key}: mock {a.get(key)} vs cassette {b.get(key)}" for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key) and key[:2] not in skipped]


def measure(label: str, options: TargetOptions, repeat: int) -> tuple[RunResult, float, float]:
    result, cold = run_once(options)
    warm = [run_once(options)[1] for _ in range(repeat)]
    median = statistics.median(warm) if warm else cold
    n = requests(result)
    print(f"{label:<9} {n:>4} requests  cold {cold:6.2f} s  warm median {median:6.2f} s "
          f"({len(warm)} runs)  {n / median:7.1f} req/s")
    return result, cold, median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one warm run per target")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per target (default 3)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    print(f"contract suite, all providers, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    mock, mock_cold, mock_s = measure("mock", TargetOptions(kind=TargetKind.MOCK), repeat)
    with tempfile.TemporaryDirectory(prefix="vlm-bench-cassettes-") as folder:
        started = time.perf_counter()
        summary = record(TargetOptions(kind=TargetKind.MOCK), "all", None, folder)
        print(f"record    {summary.interactions:>4} interactions into {len(summary.written)} "
              f"cassettes ({summary.total_bytes:,} bytes) in {time.perf_counter() - started:.2f} s")
        replay, replay_cold, replay_s = measure(
            "cassette", TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=folder), repeat)
    ratio = replay_s / mock_s
    differ = disagreements(mock, replay)
    slowest = max(mock_cold, replay_cold)
    print(f"ratio cassette/mock {ratio:.2f} (target <= {REPLAY_RATIO}); slowest cold suite "
          f"{slowest:.2f} s (target < {SUITE_BUDGET_S:.0f} s); outcomes agree: {not differ}")
    for line in differ:
        print(f"  differs: {line}")
    ok = ratio <= REPLAY_RATIO and slowest < SUITE_BUDGET_S and not differ
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
