"""Unit tests of harness.report.html: a well-formed, self-contained, accessible page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from report_fixtures import PROVIDERS, StrictBalance, older_run
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import UsageError
from harness.report.html import render
from harness.report.results import CAPABILITIES, RunResult

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


@pytest.fixture
def page(runs: list[RunResult]) -> str:
    return render(runs)


@pytest.fixture
def tree(page: str) -> ET.Element:
    return ET.fromstring(page)  # the markup is XHTML-compatible: it must parse as XML


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def section(tree: ET.Element, ident: str) -> ET.Element:
    found = tree.find(f".//section[@id='{ident}']")
    assert found is not None, ident
    return found


def text(el: ET.Element) -> str:
    """Visible text, one space between pieces (elements are separated as a reader sees)."""
    return " ".join(" ".join(el.itertext()).split())


def test_strictly_balanced(page: str) -> None:
    checked = StrictBalance().check(page)
    assert checked.problems == []
    assert len(checked.ids) == len(set(checked.ids)), "duplicate ids"


def test_balance_check_can_fail() -> None:
    assert StrictBalance().check("<div><p>x</div>").problems
    assert StrictBalance().check("<p><br></p>").problems
    assert StrictBalance().check("<section>").problems


def test_self_contained(page: str) -> None:
    checked = StrictBalance().check(page)
    assert [r for r in checked.refs if EXTERNAL.match(r[2])] == []
    assert all(value.startswith("#") for _, name, value in checked.refs if name == "href")
    assert not {"script", "link", "img", "iframe", "object"} & set(checked.tags)
    assert "@import" not in page and "url(" not in page
    assert "https://cdn.example/cat.png" in page  # URLs in text content are fine


def test_matrix_is_providers_by_ten_capabilities(tree: ET.Element) -> None:
    table = next(t for t in tree.iter("table") if "matrix" in classes(t))
    header = [text(th) for th in table.find("thead").iter("th")]
    assert header == ["Provider", *CAPABILITIES]
    assert all(th.get("scope") == "col" for th in table.find("thead").iter("th"))
    rows = table.find("tbody").findall("tr")
    assert [text(r.find("th")) for r in rows] == list(PROVIDERS)
    assert all(r.find("th").get("scope") == "row" for r in rows)
    cells = [td for td in table.iter("td") if "cell" in classes(td)]
    assert len(cells) == len(PROVIDERS) * 10


def test_every_cell_links_to_its_findings(tree: ET.Element) -> None:
    ids = {el.get("id") for el in tree.iter() if el.get("id")}
    table = next(t for t in tree.iter("table") if "matrix" in classes(t))
    targets = [a.get("href") for a in table.iter("a")]
    assert len(targets) == len(PROVIDERS) * 10
    assert all(t.startswith("#") and t[1:] in ids for t in targets)


def test_status_has_colour_and_words(tree: ET.Element) -> None:
    table = next(t for t in tree.iter("table") if "matrix" in classes(t))
    by_status: dict[str, list[str]] = {}
    for td in table.iter("td"):
        status = next(c for c in classes(td) if c.startswith("st-"))
        by_status.setdefault(status, []).append(text(td))
    assert set(by_status) == {"st-pass", "st-fail", "st-skip", "st-not-offered", "st-none"}
    assert all(t.startswith("✓ pass") for t in by_status["st-pass"])
    # A cell no check looked at is not "skipped" beside a chip that counts skipped cases
    assert all(t == "· no check" for t in by_status["st-none"])
    assert not any("no check ran" in t for t in by_status["st-skip"])
    chips = {text(li).split(" ", 1)[1]: int(text(li).split(" ", 1)[0])
             for li in tree.find(".//ul[@class='summary']")}
    assert chips["cells with no check"] == len(by_status["st-none"])
    assert all(t.startswith("✗ fail") for t in by_status["st-fail"])
    assert all(t.startswith("– not offered") for t in by_status["st-not-offered"])


def test_skipped_cell_shows_reason_in_title_and_note(tree: ET.Element) -> None:
    td = next(td for td in tree.iter("td") if (td.get("title") or "").startswith(
        "wavespeed · video"))
    assert "enable_sync_mode" in td.get("title")
    note = next(s for s in td.iter("span") if "note" in classes(s))
    assert "video page versions disagree" in text(note)


def test_findings_show_pointer_source_and_escaped_excerpt(tree: ET.Element, page: str) -> None:
    findings = section(tree, "findings")
    error = next(d for d in findings.iter("div") if "sev-error" in classes(d))
    body = text(error)
    assert "schema.response" in body and "/properties/choices/items" in body
    assert "seeds/004_0764332ed8449b67.txt § OpenAI API" in body
    assert "<script>x</script>" in text(error.find(".//pre"))  # shown as text...
    assert "<script>" not in page and "&lt;script&gt;" in page  # ...because it was escaped
    # problems come first, open; passing cells are collapsed
    cells = list(findings.iter("details"))
    assert "st-fail" in classes(cells[0].find("summary/h3/span"))
    assert cells[0].get("open") == "open"
    passing = [d for d in cells if "st-pass" in classes(d.find("summary/h3/span"))]
    assert passing and all(d.get("open") is None for d in passing)


def test_drift_grouped_by_kind(tree: ET.Element) -> None:
    drift = section(tree, "drift")
    headings = [text(h) for h in drift.iter("h3")]
    assert headings == ["Breaking (1)", "Latency regressions (1)", "Additive (1)",
                        "Cosmetic (1)"]
    body = text(drift)
    assert 'chat#/choices/*/finish_reason ["length","stop"] → ["stop"]' in body


def test_history_one_column_per_run_oldest_first(tree: ET.Element) -> None:
    history = section(tree, "history")
    head = [text(th) for th in history.find(".//thead").iter("th")]
    assert head == ["Run", "2026-11-22 10:00 mock", "2026-11-23 10:00 mock"]
    changed = [text(tr.find("th")) for tr in history.iter("tr") if "changed" in classes(tr)]
    assert "mimo · image" in changed and "mimo · text" not in changed


def test_no_history_for_a_single_run(newest: RunResult) -> None:
    assert 'id="history"' not in render([newest])


def test_latency_chart(tree: ET.Element) -> None:
    latency = section(tree, "latency")
    svg = latency.find("svg")
    assert svg is not None and svg.get("role") == "img"
    assert svg.find("title") is not None
    groups = len(latency.find(".//tbody").findall("tr"))
    assert groups == 5  # mimo chat, mimo messages, wavespeed submit, fal queue, modelbest chat
    assert len(svg.findall("rect")) == 2 * groups
    assert "p50 655 ms" in text(svg) and "p95 1138 ms" in text(svg)


def test_metadata_and_stylesheets(tree: ET.Element, page: str) -> None:
    run = text(section(tree, "run"))
    for expected in ("Seed 1234", "Schemas 0123456789ab", "Python 3.11.9", "vlm-harness run"):
        assert expected in run
    assert "@media print" in page and "@media (max-width" in page
    assert 'name="viewport"' in page


def test_render_needs_results() -> None:
    with pytest.raises(UsageError):
        render([])


def test_report_command(runs: list[RunResult], tmp_path: Path) -> None:
    inputs = [r.write_json(tmp_path / f"run{i}.json") for i, r in enumerate(runs)]
    out, xml = tmp_path / "site" / "index.html", tmp_path / "junit.xml"
    result = CliRunner().invoke(app, ["report", *map(str, inputs), "-o", str(out),
                                      "--junit", str(xml)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert 'id="history"' in page and StrictBalance().check(page).problems == []
    assert ET.parse(xml).getroot().tag == "testsuites"


def test_report_command_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "i.html")])
    assert result.exit_code == 2
    assert "not a results file" in " ".join(result.output.split())


def test_older_run_alone_renders(tmp_path: Path) -> None:
    page = render([older_run()])
    assert StrictBalance().check(page).problems == []
    # A contract run did not run drift: the page says so rather than "no drift".
    assert "Drift was not run" in page and "No drift against the baseline." not in page


def test_durations_are_measured_or_a_dash_never_zero() -> None:
    from report_fixtures import case

    from harness.report.html import duration
    from harness.report.results import Outcome

    timed = case("text", "mimo", "chat", "text", Outcome.PASS)
    assert duration(replace(timed, duration_s=0.0123)) == "12 ms"
    assert duration(replace(timed, duration_s=2.5)) == "2.50 s"
    assert duration(replace(timed, duration_s=0.0, latencies_ms=(120.0, 80.0))) == "200 ms"
    assert duration(replace(timed, duration_s=0.0, latencies_ms=())) == "—"


def test_fuzz_runs_get_their_own_section_and_history_compares_like_with_like() -> None:
    from report_fixtures import case, meta

    from harness.report.results import Outcome

    suite_old = RunResult(meta("2026-01-01T00:00:00+00:00"), (
        case("text", "mimo", "chat", "text", Outcome.PASS),))
    suite_new = RunResult(meta("2026-01-03T00:00:00+00:00"), (
        case("text", "mimo", "chat", "text", Outcome.PASS),))
    url_run = RunResult(replace(meta("2026-01-02T00:00:00+00:00"), target="url"), (
        case("text", "mimo", "chat", "text", Outcome.SKIP),))
    fuzz_run = RunResult(replace(meta("2026-01-04T00:00:00+00:00"), kind="fuzz"), (
        replace(case("fuzz", "mimo", "submit:chat", "errors", Outcome.PASS),
                reason="10 requests (positive 200 5, negative 400 5)"),))
    page = render([suite_old, url_run, fuzz_run, suite_new])
    tree = ET.fromstring(page)
    assert "Target <b>mock</b> · started 2026-01-03" in page  # the suite run is the headline
    fuzz = section(tree, "fuzz")
    assert "10 requests (positive 200 5, negative 400 5)" in text(fuzz)
    history = section(tree, "history")
    heads = [text(th) for th in history.iter("th") if th.get("scope") == "col"][1:]
    assert len(heads) == 2 and all("mock" in h for h in heads)  # not the url or fuzz run
    assert "1 other run(s) of another kind or target are not compared here." in text(history)
