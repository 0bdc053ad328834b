"""``vlm-harness import``: the published bundle becomes our layout, equivalent to the folder we
derived by hand; hand-made files and dialect overlays are never overwritten, but listed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from harness.specs.importer import derived_from, dialect_conflicts, import_spec
from harness.specs.migration import diff_paths
from harness.specs.read import read_spec
from tests.unit.specs.conftest import BUNDLE, EARLIER, FAL_OPENAPI, published, write

NAME = "minicpm-o-realtime/earlier"


def imported(tmp_path: Path) -> Path:
    result = CliRunner().invoke(app, [
        "import", str(BUNDLE), "--protocol", "minicpm-o-realtime", "--revision", "earlier",
        "-o", str(tmp_path / "out"), "--reports-dir", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def test_import_reproduces_the_earlier_folder(tmp_path: Path) -> None:
    out = imported(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in EARLIER.iterdir())
    # equivalent: no change either way once our own provenance text is set aside
    assert diff_paths(EARLIER, out, provenance=False) == []
    assert diff_paths(out, EARLIER, provenance=False) == []
    guide = (tmp_path / "reports" / "import-minicpm-o-realtime-earlier.md").read_text()
    assert "No changes: nothing to migrate." in guide
    cli = CliRunner().invoke(app, ["diff", "--ignore-provenance", str(EARLIER), str(out)])
    assert cli.exit_code == 0 and "No changes" in cli.output, cli.output


def test_imported_files_carry_id_and_provenance(tmp_path: Path) -> None:
    out = imported(tmp_path)
    event = json.loads((out / "session.update.json").read_text())
    assert event["$id"] == f"https://vlm-contract-harness.dev/schemas/{NAME}/session.update.json"
    assert event["x-source"] == {"document": str(BUNDLE),
                                 "version": "minicpm-o-realtime-protocol-v2",
                                 "section": "#/definitions/client/session.update"}
    assert event["properties"]["session"]["properties"]["ref_audio"]["$ref"] == (
        "common.json#/definitions/base64_string")
    union = json.loads((out / "server-event.json").read_text())
    assert {"$ref": "session.queue_done.json"} in union["oneOf"]
    common = json.loads((out / "common.json").read_text())
    assert common["description"] == published()["description"]  # the prose facts survive
    assert set(common["definitions"]) == {"base64_string", "error_object"}


def test_import_over_our_folder_keeps_hand_made_files(tmp_path: Path) -> None:
    dest = tmp_path / "earlier"
    dest.mkdir()
    for file in EARLIER.iterdir():
        (dest / file.name).write_bytes(file.read_bytes())
    overlay = write(dest / "session.close.json", {"type": "object", "title": "hand-made"})
    result = import_spec(BUNDLE, NAME, dest, EARLIER, str(BUNDLE))
    assert [c for c in result.conflicts if "session.close.json" in c]
    assert json.loads(overlay.read_text()) == {"type": "object", "title": "hand-made"}
    assert dest / "session.closed.json" in result.written  # derived files are replaced
    assert derived_from(dest / "error.json", "https://example.org/x/realtime-protocol-schema.json")
    assert not derived_from(overlay, str(BUNDLE))


def test_import_lists_the_migration_against_the_replaced_schemas(tmp_path: Path) -> None:
    doc = published()
    del doc["definitions"]["client"]["session.close"]["properties"]["reason"]
    spec = write(tmp_path / "realtime-protocol-schema.json", doc)
    result = import_spec(spec, NAME, tmp_path / "out", EARLIER, str(spec))
    assert [(c.pointer, c.kind.value) for c in result.changes] == [
        ("session.close#/reason", "breaking")]


def test_dialect_overlay_on_a_field_the_import_drops_is_a_conflict() -> None:
    # mimo and modelbest narrow openai-chat/request's `model`; an import without it must say so
    conflicts = dialect_conflicts("openai-chat", {"request.json": {"properties": {}}})
    assert "harness/providers/modelbest.yaml: dialect overlay of openai-chat/request constrains " \
           "'model', which the imported schema no longer has" in conflicts
    assert dialect_conflicts("openai-chat", {"request.json": {"properties": {"model": {}}}}) == []


def test_import_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["import", str(BUNDLE), "--protocol", "minicpm-o-realtim"])
    assert bad.exit_code == 2 and "minicpm-o-realtime" in bad.output
    rev = runner.invoke(app, ["import", str(BUNDLE), "--protocol", "minicpm-o-realtime",
                              "--revision", "latest"])
    assert rev.exit_code == 2 and "current, earlier" in rev.output
    one = write(tmp_path / "request.json", {"type": "object"})
    plain = runner.invoke(app, ["import", str(one), "--protocol", "fal-queue",
                                "-o", str(tmp_path / "o")])
    assert plain.exit_code == 2 and "this is schema" in plain.output
    gone = runner.invoke(app, ["import", str(tmp_path / "nope.json"), "--protocol", "fal-queue"])
    assert gone.exit_code == 2 and "nope.json: no such file" in gone.output


def test_import_from_a_url_records_the_url(tmp_path: Path) -> None:
    url = BUNDLE.as_uri()
    result = CliRunner().invoke(app, [
        "import", url, "--protocol", "minicpm-o-realtime", "--revision", "earlier",
        "-o", str(tmp_path / "out"), "--reports-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    event = json.loads((tmp_path / "out" / "error.json").read_text())
    assert event["x-source"]["document"] == url


def test_imported_folder_lints_like_the_hand_made_one(tmp_path: Path) -> None:
    from harness.findings import Finding
    from harness.lint import lint
    from harness.schemas import schema_root

    root = tmp_path / "schemas"
    shutil.copytree(schema_root(), root)
    shutil.rmtree(root / NAME)
    result = import_spec(BUNDLE, NAME, root / NAME, EARLIER, str(BUNDLE))
    assert result.conflicts == [] and len(result.written) == 14
    # same $id rules, refs, meta-schemas and x-source checks as the shipped schemas
    def messages(findings: list[Finding], where: Path) -> list[str]:
        return sorted(f.message.replace(str(where), "schemas") for f in findings)

    assert messages(lint(root), root) == messages(lint(), schema_root())


def test_openapi_import_one_file_per_component_and_inline_body(tmp_path: Path) -> None:
    doc = json.loads(FAL_OPENAPI.read_text())
    ok = doc["paths"]["/fal-ai/mini-cpm"]["post"]["responses"]["200"]
    ok["content"]["application/json"]["schema"] = {"type": "object", "properties": {
        "request_id": {"type": "string"}, "status": {"$ref": "#/components/schemas/QueueStatus/"
                                                             "properties/status"}}}
    spec = write(tmp_path / "openapi.json", doc)
    result = import_spec(spec, "fal-queue", tmp_path / "out", tmp_path / "none", str(spec))
    assert sorted(p.name for p in result.written) == [
        "mini-cpm-input.json", "mini-cpm-output.json", "post-fal-ai-mini-cpm-response-200.json",
        "queue-status.json"]
    inline = json.loads((tmp_path / "out" / "post-fal-ai-mini-cpm-response-200.json").read_text())
    assert inline["properties"]["status"]["$ref"] == "queue-status.json#/properties/status"
    assert inline["x-source"]["section"] == (
        "#/paths/~1fal-ai~1mini-cpm/post/responses/200/content/application~1json/schema")
    status = json.loads((tmp_path / "out" / "queue-status.json").read_text())
    assert status["$id"].endswith("/schemas/fal-queue/queue-status.json")
    # what the client receives keeps its direction in our layout (file names say it)
    folder = read_spec(tmp_path / "out")
    assert folder.messages["post-fal-ai-mini-cpm-response-200"].direction.value == "response"
    assert folder.messages["mini-cpm-input"].direction.value == "request"
