"""Unit tests of harness.report.junit: one testcase per check × provider × endpoint."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from report_fixtures import case, meta

from harness.findings import Finding, Severity
from harness.report import junit
from harness.report.results import Outcome, RunResult


def parse(result: RunResult) -> ET.Element:
    return ET.fromstring(junit.to_xml(result))


def test_one_testcase_per_check_provider_endpoint(newest: RunResult) -> None:
    root = parse(newest)
    cases = root.findall("./testsuite/testcase")
    keys = {(c.provider, c.endpoint, c.check) for c in newest.cases}
    assert len(cases) == len(keys) == int(root.get("tests"))
    seen = {(tc.get("classname"), tc.get("name")) for tc in cases}
    assert ("vlm.mimo.chat", "schema.response") in seen
    assert ("vlm.wavespeed.submit", "image.basic") in seen
    assert {s.get("name") for s in root.findall("testsuite")} == {
        f"vlm.{p}" for p in ("wavespeed", "fal", "modelbest", "mimo", "local")}


def test_failures_and_skips(newest: RunResult) -> None:
    root = parse(newest)
    failed = {tc.get("classname") + "/" + tc.get("name"): tc
              for tc in root.iter("testcase") if tc.find("failure") is not None}
    assert set(failed) == {"vlm.mimo.chat/schema.response",
                           "vlm.modelbest.realtime/realtime.session"}
    failure = failed["vlm.mimo.chat/schema.response"].find("failure")
    assert failure.get("message") == "choices[0].message.content is not a string"
    assert "schema: /properties/choices/items" in failure.text
    assert "source: seeds/004_0764332ed8449b67.txt § OpenAI API" in failure.text
    skipped = {tc.get("classname") + "/" + tc.get("name"): tc.find("skipped").get("message")
               for tc in root.iter("testcase") if tc.find("skipped") is not None}
    assert skipped["vlm.local.chat/text.basic"] == "VLM_HARNESS_LOCAL_URL not set"
    assert skipped["vlm.wavespeed.submit/text.basic"] == "image and video models only"
    assert int(root.get("failures")) == 2
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["vlm.mimo"].get("failures") == "1"
    assert suites["vlm.mimo"].get("skipped") == "1"


def test_cases_of_several_capabilities_merge_into_one_testcase() -> None:
    bad = Finding("limits.size", Severity.ERROR, "image over 10 MB accepted")
    run = RunResult(meta("2026-11-23T10:00:00Z"), (
        case("limits.size", "fal", "queue", "image", Outcome.PASS),
        case("limits.size", "fal", "queue", "video", Outcome.FAIL, findings=(bad,)),
        case("limits.size", "fal", "status", "video", Outcome.PASS),
    ))
    cases = parse(run).findall("./testsuite/testcase")
    assert len(cases) == 2
    queue = next(c for c in cases if c.get("classname") == "vlm.fal.queue")
    assert queue.find("failure") is not None
    assert float(queue.get("time")) == 0.5


def test_write_is_well_formed_xml(newest: RunResult, tmp_path: Path) -> None:
    path = junit.write(newest, tmp_path / "deep" / "junit.xml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<?xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["seed"] == "1234" and props["schema_version"] == "0123456789ab"
