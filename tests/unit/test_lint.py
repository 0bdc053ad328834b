"""Unit tests of harness.lint: the findings on the shipped documents, and broken copies."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from harness import schemas
from harness.cli import app
from harness.findings import Finding, Severity
from harness.lint import RULES, Origin, exit_code, lint, origin_of
from harness.lint.base import rule
from harness.lint.examples import Example, extract, load_examples

EXAMPLES = schemas.schema_root() / "_examples"
# The source documents are not in the repository: CI keeps them beside the checkout
# (../shared/reference); elsewhere point VLM_HARNESS_REFERENCE at them (README: "Tests that
# need the source documents").
REFERENCE = Path(os.environ.get("VLM_HARNESS_REFERENCE",
                                Path(__file__).resolve().parents[2].parent / "shared" / "reference"))
# The documented examples that are broken as published, and only those.
BROKEN = {"000-image-submit-curl.yaml", "001-v46-vision-curl.yaml", "001-o45-vision-curl.yaml",
          "004-anthropic-base64-curl.yaml", "004-anthropic-base64-python.yaml",
          "004-openai-multi-image-python.yaml"}


@pytest.fixture(scope="module")
def shipped() -> list[Finding]:
    return lint()


def of(findings: list[Finding], file: str) -> list[Finding]:
    return [f for f in findings if dict(f.extra).get("file", "").endswith(file)]


def test_wavespeed_curl_lacks_the_required_image(shipped: list[Finding]) -> None:
    [found] = of(shipped, "000-image-submit-curl.yaml")
    assert (found.check, found.severity, found.instance_pointer) == ("doc-example",
                                                                     Severity.ERROR, "")
    assert "'image'" in found.message and found.schema_pointer == "/required"
    assert found.source and found.source.document == "seeds/000_ed8972f90c0253f6.txt"
    assert origin_of(found) is Origin.UPSTREAM


def test_mimo_anthropic_base64_examples_do_not_parse(shipped: list[Finding]) -> None:
    curl = [f.message for f in of(shipped, "004-anthropic-base64-curl.yaml")]
    python = [f.message for f in of(shipped, "004-anthropic-base64-python.yaml")]
    assert any("not valid JSON" in m and "line 16 of the example" in m for m in curl)
    assert any("truncated" in m for m in curl)  # it starts at --header: no curl, no URL
    assert any("not valid Python" in m and "line 21" in m for m in python)


@pytest.mark.parametrize("file", ["004-anthropic-base64-curl.yaml",
                                  "004-anthropic-base64-python.yaml"])
def test_mime_type_placeholder_is_rejected(shipped: list[Finding], file: str) -> None:
    at = "/messages/0/content/0/source/media_type"
    [found] = [f for f in of(shipped, file) if f.instance_pointer == at]
    assert "'{MIME_TYPE}'" in found.message and "repaired transcription" in found.message
    assert found.schema_pointer.endswith("/media_type/pattern")
    # The pointer is a real place in the schema file, not jsonschema's path through $refs.
    node = schemas.schema_node("anthropic-messages/request", found.schema_pointer)
    assert node.startswith("^") and "/" in node


def test_base64_placeholders_make_vision_examples_invalid(shipped: list[Finding]) -> None:
    for file in ("001-v46-vision-curl.yaml", "004-openai-multi-image-python.yaml"):
        [found] = of(shipped, file)
        assert found.instance_pointer.endswith("/image_url/url")
        assert "BASE64_IMAGE" in found.message


def test_exactly_the_broken_examples_are_reported(shipped: list[Finding]) -> None:
    errors = {dict(f.extra)["file"].rsplit("/", 1)[1] for f in shipped
              if f.check == "doc-example" and f.is_error}
    assert errors == BROKEN
    assert len(load_examples(EXAMPLES)) == 20


def test_contradictions_are_reported_as_upstream_warnings(shipped: list[Finding]) -> None:
    entries = yaml.safe_load((EXAMPLES / "contradictions.yaml").read_text("utf-8"))
    found = [f for f in shipped if f.check == "doc-contradiction"]
    assert len(found) == len(entries) == 24
    assert {f.severity for f in found} == {Severity.WARNING, Severity.INFO}
    assert all(f.source and f.source.document for f in found)
    assert any("api-key" in f.message and "x-api-key" in f.message for f in found)


def test_project_files_are_clean(shipped: list[Finding]) -> None:
    """No project errors; the only project findings are the listed advisory limits."""
    project = [f for f in shipped if origin_of(f) is Origin.PROJECT]
    assert [f for f in project if f.is_error or f.check != "limits"] == []
    assert exit_code(shipped) == 0


def test_cli_exit_status_and_json() -> None:
    result = CliRunner().invoke(app, ["lint"])
    assert result.exit_code == 0, result.output
    assert "the project's own schemas and profiles are clean" in result.output
    result = CliRunner().invoke(app, ["lint", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data
    # the project's own findings are only the advisory limits it lists (warnings)
    assert {(d["origin"], d["severity"]) for d in data if d["origin"] == "project"} == {
        ("project", "warning")}
    # Upstream problems cannot fail the run (exit 0), so none reads "error".
    assert {d["severity"] for d in data if d["origin"] == "upstream"} == {
        "upstream-defect", "warning", "info"}
    # Documents are named as a reader can find them, not by capture file names.
    assert not any(d["where"].startswith("seeds/") for d in data)
    assert any("<https://wavespeed.ai/docs/docs-api/wavespeed-ai/minicpm-v-image>" in d["where"]
               for d in data)
    table = CliRunner().invoke(app, ["lint"]).output
    firsts = {line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│ ")}
    assert "error" not in firsts and "upstream-defect" in firsts
    assert "(0 error, 10 upstream-defect," in " ".join(table.split())


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=(
    f"the source documents are not at {REFERENCE} (../shared/reference beside the checkout, "
    "or set VLM_HARNESS_REFERENCE); see the README"))
def test_every_fixture_is_verbatim_from_its_document() -> None:
    for example in load_examples(EXAMPLES):
        assert isinstance(example, Example), example
        assert example.raw in (REFERENCE / example.document).read_text("utf-8"), example.file


# --- a broken copy of the schemas folder ---------------------------------------------------

@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(schemas.schema_root(), tmp_path / "schemas"))


def edit(root: Path, name: str, change: Any) -> None:
    path = root / f"{name}.json"
    doc = json.loads(path.read_text("utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def run(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["lint", "--schemas-dir", str(root), "--json"])
    return result.exit_code, result.stdout


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lint", "--schemas-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "not a folder" in result.output


def test_bad_keyword_and_dangling_ref_fail_the_run(copy: Path) -> None:
    edit(copy, "openai-chat/request", lambda d: d["properties"].update(
        n={"type": "strng"}, m={"$ref": "#/definitions/nope"}))
    found = lint(copy)
    [meta] = [f for f in found if f.check == "schema-meta"]
    assert meta.schema_pointer == "/properties/n/type" and meta.is_error
    assert "openai-chat/request.json" in meta.message and "strng" in meta.message
    [ref] = [f for f in found if f.check == "schema-refs"]
    assert ref.schema_pointer == "/properties/m/$ref" and "#/definitions/nope" in ref.message
    code, out = run(copy)
    assert code == 1 and "openai-chat/request.json" in out


def test_unparseable_file_missing_id_and_source(copy: Path) -> None:
    (copy / "fal-queue/output.json").write_text('{"type": "object",\n}', encoding="utf-8")
    edit(copy, "wavespeed-v3/video-input", lambda d: [d.pop("x-source"), d.update({"$id": "x"})])
    messages = [f.message for f in lint(copy, ("schema-meta",))]
    assert any("fal-queue/output.json: not valid JSON" in m and "line 2" in m for m in messages)
    assert any("video-input.json: $id is 'x'" in m for m in messages)
    assert any("video-input.json: no x-source" in m for m in messages)
    assert run(copy)[0] == 1


def test_a_schema_cited_by_a_profile_must_exist(copy: Path) -> None:
    (copy / "openai-chat/models.json").unlink()
    found = lint(copy, ("profile",))
    assert {f.provider for f in found} == {"local", "mimo", "modelbest"}
    assert all("cites missing schema 'openai-chat/models'" in f.message for f in found)


def test_an_unreadable_schema_keeps_the_other_rules_running(copy: Path) -> None:
    (copy / "anthropic-messages/request.json").write_text("{", encoding="utf-8")
    found = lint(copy)
    assert {"schema-meta", "doc-example"} <= {f.check for f in found}
    assert exit_code(found) == 1


def test_bad_fixtures_are_the_projects_fault(copy: Path) -> None:
    (copy / "_examples/zz-bad.yaml").write_text("document: x\n", encoding="utf-8")
    fixture = copy / "_examples/002-input.yaml"
    fixture.write_text(fixture.read_text("utf-8") + "json: {prompt: drifted}\n", "utf-8")
    found = lint(copy, ("example-fixture",))
    assert [f.message for f in found if "zz-bad" in f.message] == [
        "zz-bad.yaml: missing section, schema, kind, raw"]
    assert any("002-input.yaml: `json` differs" in f.message for f in found)
    assert exit_code(found) == 1


# --- pieces -----------------------------------------------------------------------------

def example(raw: str, extract_: str, target: str = "") -> Example:
    return Example("t.yaml", "doc", "sec", "openai-chat/request", "request", raw,
                   extract=extract_, target=target)


def test_curl_body_and_python_extraction() -> None:
    got = extract(example("curl https://x \\\n  -d '{\"a\": 1}'", "json-body"))
    assert got.ok and got.instance == {"a": 1} and got.problems == ()
    raw = "def make(**kw):\n    pass\nmake(a=[1, {'b': None}], c=os.sep)"
    got = extract(example(raw, "python-call", "make"))
    assert not got.ok  # c is not a literal
    assert [s for s, _ in got.problems] == [Severity.WARNING, Severity.ERROR]
    assert "`os` without importing" in got.problems[0][1]
    got = extract(example("import json\npayload = {'k': (1, 2)}", "python-value", "payload"))
    assert got.instance == {"k": (1, 2)} and got.problems == ()


def test_rule_names_are_unique_and_upstream_errors_do_not_fail() -> None:
    with pytest.raises(ValueError, match="already registered"):
        rule("doc-example", Origin.UPSTREAM)(lambda ss: ())
    upstream = Finding("doc-example", Severity.ERROR, "bad example")
    assert exit_code([upstream]) == 0
    assert exit_code([upstream, Finding("schema-refs", Severity.ERROR, "x")]) == 1
    assert {r.origin for r in RULES.values()} == set(Origin)


def test_a_folder_without_schemas_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lint", "--schemas-dir", str(tmp_path)])
    assert result.exit_code == 2 and "holds no <protocol>/<kind>.json schemas" in result.output
