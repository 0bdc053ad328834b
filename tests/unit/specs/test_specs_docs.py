"""``drift --docs`` offline: the profiles' spec URLs are answered from fixture copies.

No test touches the network: ``fetch`` is injected (a dict of URL → bytes), and the CLI test
swaps the module's fetcher the same way. ``file://`` URLs are read by the real fetcher.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness import providers
from harness.cli import app
from harness.errors import ExitCode
from harness.specs import docs
from tests.unit.specs.conftest import BUNDLE, FAL_OPENAPI, published

REALTIME_URL = providers.get("modelbest").specs[0].url
FAL_URLS = [s.url for s in providers.get("fal").specs]


def answers(bodies: dict[str, bytes]) -> Callable[[str], bytes]:
    def fetch(url: str) -> bytes:
        if url not in bodies:
            raise OSError(f"{url}: connection refused")
        return bodies[url]
    return fetch


def run(tmp_path: Path, fetch: Callable[[str], bytes], provider: str = "modelbest",
        update: bool = False) -> int:
    return docs.command(provider=provider, baselines_dir=tmp_path / "baselines" / "docs",
                        reports_dir=tmp_path / "reports", update_baseline=update, quiet=True,
                        fetch=fetch)


def report(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "reports" / "docs" / "docs-drift.json").read_text())


def test_profiles_list_their_published_specs_with_provenance() -> None:
    (spec,) = providers.get("modelbest").specs
    assert spec.compare == "minicpm-o-realtime/earlier" and spec.source is not None
    assert len(FAL_URLS) == 2 and all("endpoint_id=fal-ai/mini-cpm" in u for u in FAL_URLS)


def test_first_run_keeps_a_baseline_and_matches_the_project(tmp_path: Path) -> None:
    assert run(tmp_path, answers({REALTIME_URL: BUNDLE.read_bytes()})) == ExitCode.OK
    kept = tmp_path / "baselines" / "docs" / "modelbest" / "realtime-protocol-schema.json"
    assert kept.read_bytes() == BUNDLE.read_bytes()
    (entry,) = report(tmp_path)["specs"]
    assert entry["against_project"] == [] and entry["against_baseline"] is None


def test_upstream_change_is_reported_against_baseline_and_project(tmp_path: Path) -> None:
    run(tmp_path, answers({REALTIME_URL: BUNDLE.read_bytes()}))
    newer = published()
    del newer["definitions"]["server"]["session.queue_done"]
    newer["definitions"]["server_event"]["oneOf"].remove(
        {"$ref": "#/definitions/server/session.queue_done"})
    code = run(tmp_path, answers({REALTIME_URL: json.dumps(newer).encode()}))
    assert code == ExitCode.FINDINGS
    (entry,) = report(tmp_path)["specs"]
    for side in ("against_project", "against_baseline"):
        assert [(c["pointer"], c["kind"], c["provider"]) for c in entry[side]] == [
            ("session.queue_done", "breaking", "modelbest")]
    results = json.loads((tmp_path / "reports" / "docs" / "results.json").read_text())
    (case,) = results["cases"]
    assert (case["check"], case["outcome"], len(case["findings"])) == ("docs-drift", "fail", 2)
    assert (tmp_path / "reports" / "docs" / "junit.xml").is_file()
    # the kept copy is the accepted one: not replaced until --update-baseline says so
    kept = tmp_path / "baselines" / "docs" / "modelbest" / "realtime-protocol-schema.json"
    assert kept.read_bytes() == BUNDLE.read_bytes()
    run(tmp_path, answers({REALTIME_URL: json.dumps(newer).encode()}), update=True)
    assert json.loads(kept.read_bytes()) == newer


def test_unreachable_spec_is_reported_and_not_green(tmp_path: Path) -> None:
    assert run(tmp_path, answers({})) == ExitCode.UNREACHABLE
    (entry,) = report(tmp_path)["specs"]
    assert entry["error"].startswith("unreachable:") and "connection refused" in entry["error"]
    results = json.loads((tmp_path / "reports" / "docs" / "results.json").read_text())
    assert results["cases"][0]["outcome"] == "fail"  # never a skip that reads as green


def test_unreadable_spec_is_a_finding(tmp_path: Path) -> None:
    assert run(tmp_path, answers({REALTIME_URL: b"<html>moved</html>"})) == ExitCode.FINDINGS
    assert report(tmp_path)["specs"][0]["error"].startswith("unreadable:")


def test_nothing_checked_is_not_green(tmp_path: Path) -> None:
    assert run(tmp_path, answers({}), provider="local") == ExitCode.NOTHING_CHECKED


def test_openapi_specs_against_their_last_copy(tmp_path: Path) -> None:
    body = FAL_OPENAPI.read_bytes()
    assert run(tmp_path, answers(dict.fromkeys(FAL_URLS, body)), "fal") == ExitCode.OK
    doc = json.loads(body)
    ok = doc["paths"]["/fal-ai/mini-cpm"]["post"]["responses"]
    ok["201"] = ok.pop("200")
    changed = {FAL_URLS[0]: json.dumps(doc).encode(), FAL_URLS[1]: body}
    assert run(tmp_path, answers(changed), "fal") == ExitCode.FINDINGS
    first, second = report(tmp_path)["specs"]
    assert [c["pointer"] for c in first["against_baseline"]] == ["POST /fal-ai/mini-cpm 200"]
    assert second["against_baseline"] == []


def test_file_urls_are_read_without_a_network(tmp_path: Path) -> None:
    assert docs.fetch_url(BUNDLE.as_uri()) == BUNDLE.read_bytes()
    with pytest.raises(OSError, match="unsupported URL scheme 'ftp'"):
        docs.fetch_url("ftp://example.org/x.json")


def test_cli_drift_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "fetch_url", answers({REALTIME_URL: BUNDLE.read_bytes()}))
    result = CliRunner().invoke(app, [
        "drift", "--docs", "--provider", "modelbest,local", "--baselines-dir",
        str(tmp_path / "b"), "--reports-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "modelbest/realtime-protocol-schema" in result.output
    assert "1 published spec(s): 0 not checked, 0 with breaking changes" in result.output
    assert (tmp_path / "b" / "docs" / "modelbest" / "realtime-protocol-schema.json").is_file()


def test_docs_refuses_probe_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drift", "--docs", "--target", "mock",
                                      "--reports-dir", str(tmp_path)])
    assert result.exit_code == 2 and "--docs fetches published specs" in result.output
