"""The ``local`` target against a real llama.cpp server: llama-cpp-python 0.3.36's OpenAI server.

One ``vlm-harness run --target local`` (the command a user types, as a process) against the
tiny model of ``conftest.py``, with the default budgets of the local target. From its
``results.json`` the tests hold the run to issue 9's bar: it finishes in under two minutes,
every case ends pass / fail / skip / not-offered with a reason, every finding is one of
:data:`KNOWN` (the server's genuine deviations, each judged in docs/local-servers.md) and every
known deviation is found, so a harness false positive or a fixed deviation both fail here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from extra_servers import ROOT, known_deviation

from harness.errors import ExitCode
from harness.report.results import Outcome, RunResult

LIMIT_S = 120.0  # issue 9: the whole run, on these 2-core machines

# (check, provider/endpoint, pattern of the message): llama-cpp-python 0.3.36's deviations,
# each judged in docs/local-servers.md. The first three are one cause (a body that is not JSON
# raises inside the server: a plain-text 500) seen by three checks.
KNOWN: tuple[tuple[str, str, str], ...] = (
    ("bad-input-errors", "local/chat", r"^invalid-json: HTTP 500 on bad input"),
    ("content-type", "local/chat", r"content-type is 'text/plain', expected 'application/json'"),
    ("error-shape", "local/chat", r"HTTP 500 with a non-JSON body"),
    # FastAPI's validation error is caught by the server's route handler and answered as 500
    ("bad-input-errors", "local/chat", r"^wrong-type: HTTP 500 on bad input"),
    # `messages` defaults to an empty list: a request without it is answered
    ("bad-input-errors", "local/chat", r"^missing-field: HTTP 200, the invalid request was accepted"),
    # one model served under any name
    ("bad-input-errors", "local/chat", r"^unknown-model: HTTP 200, the invalid request was accepted"),
    # without a vision projector, image parts are dropped unread, decodable or not
    ("bad-input-errors", "local/chat", r"^undecodable-media: HTTP 200, the invalid request was"),
    ("bad-input-errors", "local/chat", r"^mislabelled-media: HTTP 200, the invalid request was"),
    # stream_options.include_usage is ignored: no usage chunk
    ("sse-framing", "local/chat", r"with stream_options\.include_usage the last chunk before "
                                  r"\[DONE\] must have choices \[\] and a usage object"),
    # a character split across byte tokens is streamed as empty deltas and never completed
    ("stream-equals-non-stream", "local/chat", r"^streamed content differs from non-streamed"),
)


@pytest.fixture(scope="module")
def run(llama_server: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, float, str]:
    out = tmp_path_factory.mktemp("llama-run")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--target", "local",
         "--provider", "local", "--base-url", f"{llama_server.url}/v1",
         "--reports-dir", str(out), "--format", "plain"],
        capture_output=True, text=True, timeout=LIMIT_S * 2, cwd=ROOT)
    took = time.monotonic() - started
    print(f"llama.cpp run: {took:.1f} s, exit {proc.returncode}\n{proc.stdout[-6000:]}")
    assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stdout[-3000:] + proc.stderr
    results = sorted(out.rglob("results.json"))
    assert results, f"no results.json under {out}: {proc.stdout[-2000:]}"
    return RunResult.from_dict(json.loads(results[-1].read_text())), took, proc.stdout


def local_cases(result: RunResult) -> list[Any]:
    return [c for c in result.cases if c.provider == "local"]


def test_the_run_finishes_within_two_minutes(run: tuple[RunResult, float, str]) -> None:
    assert run[1] < LIMIT_S


def test_every_case_is_explained(run: tuple[RunResult, float, str]) -> None:
    cases = local_cases(run[0])
    assert cases and any(c.outcome is Outcome.PASS for c in cases)
    for case in cases:
        if case.outcome is Outcome.FAIL:
            assert case.findings, case
        elif case.outcome is not Outcome.PASS:
            assert case.reason, case
        assert "check raised" not in " ".join(f.message for f in case.findings), case


def test_every_finding_is_a_known_llama_cpp_deviation(run: tuple[RunResult, float, str]) -> None:
    unknown = [f"{c.endpoint} {f.check}: {f.message}" for c in local_cases(run[0])
               for f in c.findings if not known_deviation(KNOWN, f, c.provider, c.endpoint)]
    assert not unknown, "\n".join(unknown)


def test_every_known_deviation_is_found(run: tuple[RunResult, float, str]) -> None:
    seen = [(c.provider, c.endpoint, f) for c in local_cases(run[0]) for f in c.findings]
    missing = [entry for entry in KNOWN if not any(
        f.check == entry[0] and re.search(entry[2], f.message) for _, _, f in seen)]
    assert not missing, missing

