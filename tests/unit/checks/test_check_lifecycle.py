"""Lifecycle checks: pass on the mock (in process and served), and name each planted job defect.

Answers are corrupted with the shared :class:`Rewrite` middleware (``broken_target``, the mock's
default 50 ms job clock) or, where the request itself must change (a cancel the server fakes, a
webhook parameter a gateway drops), with a small ASGI wrapper over a mock on a 10 ms clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from harness import engine
from harness.checks.exchange import Probe
from harness.checks.registry import Skip
from harness.engine import Plan
from harness.findings import Severity
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.report.results import Outcome
from harness.targets.base import Target, TargetKind, TargetOptions
from harness.targets.mock import MockTarget
from harness.targets.url import UrlTarget

OPTIONS = {"poll_interval": 0.01, "max_polls": 30, "webhook_timeout": 3.0}
CASES = [("wavespeed", "wavespeed-v3", "async-job-lifecycle"), ("fal", "fal-queue", "async-job-lifecycle"),
         ("wavespeed", "wavespeed-v3", "envelope-failure"), ("fal", "fal-queue", "cancel-honoured"),
         ("fal", "fal-queue", "webhook-delivered")]
WS = ("wavespeed", "wavespeed-v3")
FAL = ("fal", "fal-queue")


@pytest.fixture
def fast() -> Iterator[Callable[..., MockTarget]]:
    """``fast(wrap)``: the mock on a 10 ms job clock, its app wrapped by ``wrap`` if given."""
    made: list[MockTarget] = []

    def build(wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> MockTarget:
        target = MockTarget(mock_config=MockConfig(job_step_s=0.01))
        if wrap is not None:
            target.app = wrap(target.app)  # type: ignore[assignment]
        made.append(target)
        return target

    yield build
    for target in made:
        target.close()


@pytest.fixture(scope="module")
def served() -> Iterator[UrlTarget]:
    # A 100 ms clock: a cancel sent over loopback still finds the job unfinished.
    with ServedMock(MockConfig(job_step_s=0.1), names=["wavespeed", "fal"]) as mock:
        target = UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=mock.url))
        yield target
        target.close()


def edit_jobs(fn: Callable[[dict[str, Any]], None], *, when: str = "/") -> Any:
    """A response edit calling ``fn`` on the job object (WaveSpeed ``data``, fal body) of every
    successful JSON answer whose path contains ``when``."""
    def edit(wire: Any, status: int, headers: dict[str, str], body: bytes
             ) -> tuple[int, dict[str, str], bytes]:
        if status not in (200, 202) or when not in wire.path or not body.startswith(b"{"):
            return status, headers, body
        doc = json.loads(body)
        fn(doc["data"] if isinstance(doc.get("data"), dict) else doc)
        return status, headers, json.dumps(doc).encode()
    return edit


def messages(findings: list[Any]) -> list[str]:
    return [f.message for f in findings]


@pytest.mark.parametrize(("provider", "protocol", "name"), CASES)
def test_passes_on_the_reference_mock(fast: Any, run_check: Any, provider: str, protocol: str,
                                      name: str) -> None:
    assert run_check(fast(), provider, protocol, name, options=OPTIONS) == []


@pytest.mark.parametrize(("provider", "protocol", "name"), CASES)
def test_passes_on_the_served_mock_via_the_url_target(served: UrlTarget, run_check: Any,
                                                      provider: str, protocol: str, name: str) -> None:
    assert run_check(served, provider, protocol, name, options=OPTIONS) == []


def test_engine_runs_them_with_the_exchange_checks(fast: Any) -> None:
    result = engine.run(Plan(fast(), provider_spec="wavespeed,fal", options=OPTIONS, check_spec=(
        "async-job-lifecycle,envelope-failure,cancel-honoured,webhook-delivered,"
        "response-schema-conformance,documented-status,content-type,error-shape")))
    assert all(c.outcome is Outcome.PASS for c in result.cases), [
        (c.check, c.endpoint, c.findings) for c in result.cases if c.outcome is not Outcome.PASS]
    scenario = {(c.check, c.provider) for c in result.cases if c.capability == "async"}
    assert scenario == {("async-job-lifecycle", "wavespeed"), ("async-job-lifecycle", "fal"),
                        ("envelope-failure", "wavespeed"), ("cancel-honoured", "fal"),
                        ("webhook-delivered", "fal")}


# --- the state machine ---------------------------------------------------------------------

def _completed_then_processing() -> Any:
    seen: list[str] = []

    def fn(data: dict[str, Any]) -> None:
        if data["status"] == "completed":
            seen.append(data["id"])
            if len(seen) > 1:  # the first completed answer passes, a later one takes it back
                data.update(status="processing", outputs=[])
    return edit_jobs(fn, when="/predictions/")


def _set(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.update(fields)


@pytest.mark.parametrize(("where", "edit", "message"), [
    (WS, _completed_then_processing(), "status moved from terminal 'completed' back to 'processing'"),
    (WS, edit_jobs(lambda d: d.update(outputs=["early"]) if d["status"] == "created" else None),
     "data.outputs has 1 item(s) while data.status is 'created'; outputs stay empty until completed"),
    (WS, edit_jobs(lambda d: d.update(status="queued")),
     "status 'queued' is not a documented status (created → processing → completed → failed); "
     "the wavespeed SDK polls forever on it"),
    (WS, edit_jobs(lambda d: d["urls"].update(get=d["urls"]["get"].replace(d["id"], "other-id"))),
     "/result does not end with /api/v3/predictions/"),
    (FAL, edit_jobs(_set(status="RUNNING"), when="/status"),
     "status 'RUNNING' is not a documented status (IN_QUEUE → IN_PROGRESS → COMPLETED); the fal SDK "
     "raises on it"),
    (FAL, edit_jobs(lambda d: d.pop("logs", None), when="/status"),
     "COMPLETED status answer has no logs key (null allowed)"),
    (FAL, edit_jobs(lambda d: d.pop("queue_position", None), when="/status"),
     "IN_QUEUE status answer has no integer queue_position"),
])
def test_lifecycle_defects(broken_target: Any, run_check: Any, where: tuple[str, str], edit: Any,
                           message: str) -> None:
    findings = run_check(broken_target(response=edit), *where, "async-job-lifecycle", options=OPTIONS)
    assert any(message in m for m in messages(findings)), messages(findings)
    assert all(f.severity is Severity.ERROR for f in findings)


def test_fal_status_for_another_request_is_reported(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_jobs(_set(request_id="someone-else"), when="/status"))
    findings = run_check(target, *FAL, "async-job-lifecycle", options=OPTIONS)
    assert any("carries request_id 'someone-else'" in m for m in messages(findings))


def test_a_job_that_never_finishes_ends_the_check_with_its_last_status(broken_target: Any,
                                                                      run_check: Any) -> None:
    target = broken_target(response=edit_jobs(
        lambda d: d.update(status="processing", outputs=[]) if d["status"] == "completed" else None))
    [by_polls] = run_check(target, *WS, "async-job-lifecycle", options={**OPTIONS, "max_polls": 4})
    assert "did not finish within 4 polls" in by_polls.message
    assert by_polls.message.endswith("last status 'processing'")
    [by_time] = run_check(target, *WS, "async-job-lifecycle",
                          options={"poll_interval": 0.01, "max_polls": 10_000, "job_timeout": 0.3})
    assert "did not finish" in by_time.message and "last status 'processing'" in by_time.message


def test_a_status_url_off_the_api_base_is_reported_and_not_followed(broken_target: Any,
                                                                   run_check: Any) -> None:
    def elsewhere(doc: dict[str, Any]) -> None:
        if "status_url" in doc:
            doc["status_url"] = doc["status_url"].replace("mock.invalid", "collector.example")
    probes: list[Probe] = []
    target = broken_target(response=edit_jobs(elsewhere, when="/fal-ai/mini-cpm"))
    findings = run_check(target, *FAL, "async-job-lifecycle", options=OPTIONS, probe_out=probes)
    assert [m for m in messages(findings) if "status_url" in m] == [m for m in messages(findings)]
    assert "is not under the API base http://mock.invalid/fal/queue; not followed" in findings[0].message
    assert not any("collector.example" in ex.url for ex in probes[0].exchanges)
    assert any(ex.url.endswith("/status?logs=1") for ex in probes[0].exchanges)  # polled by id


# --- failures inside the envelope ----------------------------------------------------------

@pytest.mark.parametrize(("edit", "message"), [
    (_set(error=""), "has a malformed envelope: data.error is empty"),
    (_set(outputs=["partial"]), "has a malformed envelope: data.outputs is ['partial'], not []"),
])
def test_a_malformed_failure_envelope_is_reported(broken_target: Any, run_check: Any, edit: Any,
                                                  message: str) -> None:
    target = broken_target(response=edit_jobs(lambda d: edit(d) if d["status"] == "failed" else None))
    [finding] = run_check(target, *WS, "envelope-failure", options=OPTIONS)
    assert message in finding.message and finding.schema_pointer.startswith("wavespeed-v3/prediction")


def test_an_unexpected_failure_inside_a_200_is_reported(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_jobs(
        lambda d: d.update(status="failed", error="GPU fell over") if d["status"] == "completed" else None))
    [finding] = run_check(target, *WS, "envelope-failure", options=OPTIONS)
    assert "failed inside an HTTP 200 (data.status 'failed', data.error 'GPU fell over')" in finding.message
    assert finding.instance_pointer == "/data/status" and "-> 200" in finding.excerpt


def test_the_provoked_failure_is_not_attempted_on_a_live_target(fast: Any, run_check: Any) -> None:
    target = fast()
    target.kind = TargetKind.LIVE  # type: ignore[misc]
    [note] = run_check(target, *WS, "envelope-failure", options=OPTIONS)
    assert note.severity is Severity.INFO
    assert "provoked failure not attempted on a live target" in note.message


def test_a_server_that_ignores_the_fail_marker_is_reported(broken_target: Any, run_check: Any) -> None:
    def succeed(data: dict[str, Any]) -> None:
        if data["status"] == "failed":
            data.update(status="completed", error="", outputs=["fine"])
    target = broken_target(response=edit_jobs(succeed))
    [finding] = run_check(target, *WS, "envelope-failure", options=OPTIONS)
    assert "with [fail] in custom_prompt ended 'completed'" in finding.message
    assert finding.severity is Severity.ERROR


# --- cancel and webhook --------------------------------------------------------------------

def fake_cancel(app: ASGIApp) -> ASGIApp:
    """A gateway that answers every cancel itself and never tells the app."""
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and scope["path"].endswith("/cancel"):
            await send({"type": "http.response.start", "status": 202,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"status":"CANCELLATION_REQUESTED"}'})
            return
        await app(scope, receive, send)
    return wrapped


def drop_webhook(app: ASGIApp) -> ASGIApp:
    """A gateway that forwards submits without their ?fal_webhook= parameter."""
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "query_string": b""}
        await app(scope, receive, send)
    return wrapped


def test_a_cancel_that_is_not_honoured_is_reported(fast: Any, run_check: Any) -> None:
    found = messages(run_check(fast(fake_cancel), *FAL, "cancel-honoured", options=OPTIONS))
    assert len(found) == 2, found
    assert "cancel not honoured" in found[0] and "COMPLETED without error" in found[0]
    assert "cancel of completed request" in found[1] and "expected ALREADY_COMPLETED" in found[1]


def bare_cancel(app: ASGIApp) -> ASGIApp:
    """A gateway that refuses every cancel with a 400 whose body has no status field."""
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and scope["path"].endswith("/cancel"):
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"detail":"nope"}'})
            return
        await app(scope, receive, send)
    return wrapped


def test_a_cancel_answer_without_a_status_reads_as_such_not_none(fast: Any, run_check: Any) -> None:
    found = messages(run_check(fast(bare_cancel), *FAL, "cancel-honoured", options=OPTIONS))
    assert found and "answered HTTP 400 with no status field; expected 202" in found[0], found
    assert not any("None" in m for m in found)


def test_a_webhook_that_never_comes_is_reported(fast: Any, run_check: Any) -> None:
    [finding] = run_check(fast(drop_webhook), *FAL, "webhook-delivered",
                          options={**OPTIONS, "webhook_timeout": 0.3})
    assert finding.message.startswith("no webhook POST reached http://127.0.0.1:")
    assert "within 0.3 s after request" in finding.message


@pytest.mark.parametrize("kind", [TargetKind.LIVE, TargetKind.CASSETTE])
def test_the_webhook_check_skips_where_loopback_is_unreachable(fast: Any, run_check: Any,
                                                               kind: TargetKind) -> None:
    target: Target = fast()
    target.kind = kind  # type: ignore[misc]
    with pytest.raises(Skip, match="cannot reach this machine's loopback webhook receiver"):
        run_check(target, *FAL, "webhook-delivered", options=OPTIONS)


def test_the_webhook_check_skips_a_url_target_off_loopback(run_check: Any) -> None:
    target = UrlTarget(TargetOptions(kind=TargetKind.URL, base_url="http://gateway.invalid"))
    with pytest.raises(Skip, match=r"server at http://gateway\.invalid/fal/queue cannot reach"):
        run_check(target, *FAL, "webhook-delivered", options=OPTIONS)
    target.close()
