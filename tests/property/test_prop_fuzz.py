"""Schemathesis through the targets: clean on the reference mock, loud on a broken one.

Each provider's OpenAPI document is fuzzed (positive and negative cases) against the
in-process mock and must produce no failing row. The same run against a planted defect (a
500 on one endpoint, a wrong field type in a 200, every 4xx in nobody's error shape) must
report it under the right ``schemathesis:<check>`` rows, both schemathesis' own checks and
ours registered with it. A served mock reached over a socket (the ``url`` target) fuzzes the
same way, and a request budget stops a run where it says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from schemathesis.checks import CHECKS
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typer.testing import CliRunner

from harness import fuzz, openapi, providers
from harness.cli import app
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.report.results import CaseResult, Outcome
from harness.targets import TargetOptions
from harness.targets.mock import MockTarget

HTTP_PROVIDERS = [p.name for p in providers.all_profiles()]
EXAMPLES = 4  # per operation: 2 positive, 2 negative


def failing(rows: list[CaseResult]) -> dict[tuple[str, str], list[str]]:
    return {(r.check, r.endpoint): [f.message for f in r.findings]
            for r in rows if r.outcome is Outcome.FAIL}


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
def test_the_reference_mock_survives_fuzzing(prop_target: MockTarget, provider: str) -> None:
    rows = fuzz.fuzz(TargetOptions(), provider, EXAMPLES, seed=0, target=prop_target)
    assert not failing(rows)
    ops = {r.endpoint for r in rows if r.check == "fuzz"}
    assert ops == {route.op.key for route in fuzz.routes(providers.get(provider)).values()}
    assert all(r.outcome is Outcome.PASS and "requests" in r.reason for r in rows if r.check == "fuzz")
    checks = {r.check for r in rows}
    assert {"schemathesis:not_a_server_error", "schemathesis:response_schema_conformance",
            "schemathesis:error-shape", "schemathesis:documented-status"} <= checks


class Broken:
    """The mock with one planted defect on requests whose path ends with ``suffix``."""

    def __init__(self, app: ASGIApp, suffix: str, edit: Any) -> None:
        self.app, self.suffix, self.edit = app, suffix, edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(self.suffix):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status, body = self.edit(start["status"], b"".join(chunks))
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def broken_target(suffix: str, edit: Any, config: MockConfig | None = None) -> MockTarget:
    target = MockTarget(mock_config=config)
    target.app = Broken(target.app, suffix, edit)  # type: ignore[assignment]
    return target


def test_a_500_on_one_endpoint_is_reported_there_only() -> None:
    target = broken_target("/models", lambda status, body: (500, b"Internal Server Error"))
    try:
        rows = fuzz.fuzz(TargetOptions(), "modelbest", EXAMPLES, seed=0, target=target)
    finally:
        target.close()
    found = failing(rows)
    assert {("schemathesis:not_a_server_error", "models"), ("schemathesis:documented-status", "models"),
            ("schemathesis:error-shape", "models")} <= set(found)
    assert not [key for key in found if key[1] != "models"]
    finding = next(r for r in rows if (r.check, r.endpoint) == (
        "schemathesis:not_a_server_error", "models")).findings[0]
    assert finding.provider == "modelbest" and finding.excerpt.startswith("GET ")
    assert int(dict(finding.extra)["occurrences"]) >= 1


def test_a_wrong_field_type_in_a_200_is_reported_by_both_schema_checks() -> None:
    def stringly(status: int, body: bytes) -> tuple[int, bytes]:
        data = json.loads(body)
        return status, json.dumps({**data, "data": "not-a-list"} if status == 200 else data).encode()

    target = broken_target("/models", stringly)
    try:
        rows = fuzz.fuzz(TargetOptions(), "mimo", EXAMPLES, seed=0, target=target)
    finally:
        target.close()
    found = failing(rows)
    assert ("schemathesis:response_schema_conformance", "models") in found
    ours = found[("schemathesis:response-schema-conformance", "models")]
    assert any("/data" in m and "array" in m for m in ours), ours


def test_errors_in_nobodys_shape_are_reported() -> None:
    target = MockTarget(mock_config=MockConfig(defects="wrong-error-shape"))
    try:
        rows = fuzz.fuzz(TargetOptions(), "wavespeed", EXAMPLES, seed=0, target=target)
    finally:
        target.close()
    checks = {check for check, _ in failing(rows)}
    assert {"schemathesis:response_schema_conformance", "schemathesis:error-shape"} <= checks


def test_our_checks_are_registered_with_schemathesis_and_idle_outside_a_run() -> None:
    names = {getattr(c, "__name__", "") for c in CHECKS.get_all()}
    assert {"vlm_error_shape", "vlm_response_schema_conformance", "vlm_documented_status",
            "vlm_content_type"} <= names
    check = next(c for c in CHECKS.get_all() if getattr(c, "__name__", "") == "vlm_error_shape")
    assert check(None, None, None) is None  # no harness run: no provider to judge against


def test_routes_mirror_the_document() -> None:
    for name in HTTP_PROVIDERS:
        doc = fuzz.document(name)
        paths = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
        assert set(fuzz.routes(providers.get(name))) == paths
    # The fuzzed document is the exported one: its event-stream schemas need no patching.
    assert fuzz.document("mimo") == openapi.build("mimo")


def test_the_url_target_fuzzes_a_served_mock_within_its_budget() -> None:
    with ServedMock(MockConfig(job_step_s=0.02), names=["wavespeed", "local"]) as served:
        rows = fuzz.fuzz(TargetOptions(kind="url", base_url=served.url), "local", 2, seed=1)
        assert not failing(rows)
        assert all(r.outcome is Outcome.PASS for r in rows if r.check == "fuzz")
        budget = fuzz.fuzz(TargetOptions(kind="url", base_url=served.url, max_requests=3),
                           "wavespeed", 4, seed=1)
    summary = [r for r in budget if r.check == "fuzz"]
    sent = sum(int(r.reason.split()[0]) for r in summary if r.outcome is Outcome.PASS)
    assert sent <= 3
    assert any("budget" in r.reason for r in summary)
    assert [r for r in summary if r.outcome is Outcome.SKIP and "budget" in r.reason]


def test_examples_are_shared_by_the_generation_modes() -> None:
    assert fuzz.split(5, ("positive", "negative")) == {"positive": 3, "negative": 2}
    assert fuzz.split(1, ("positive", "negative")) == {"positive": 1}
    assert fuzz.DEFAULT_EXAMPLES["mock"] > fuzz.FALLBACK_EXAMPLES  # live/local get few


def test_cli_writes_reports_and_refuses_cassettes(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["fuzz", "--provider", "local", "--max-examples", "2",
                                 "--reports-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert any(c["check"].startswith("schemathesis:") for c in data["cases"])
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "index.html").is_file()
    refused = runner.invoke(app, ["fuzz", "--target", "cassette"])
    assert refused.exit_code == 2 and "cannot fuzz the cassette target" in " ".join(refused.output.split())
