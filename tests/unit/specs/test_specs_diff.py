"""Diffs of hand-made revisions of the published realtime bundle and of an OpenAPI document.

Each test makes one change to a fresh copy of the published file and checks that ``diff``
names it, at the right place, classified for a client, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from harness.cli import app
from harness.drift.classify import Change, Kind
from harness.specs.migration import diff_paths
from tests.unit.specs.conftest import BUNDLE, EARLIER, FAL_OPENAPI, write

Revise = Callable[[Callable[[dict[str, Any]], None]], Path]
SERVER = "#/definitions/server"
GO_AWAY = {"type": "object", "required": ["type", "reason"], "additionalProperties": False,
           "properties": {"type": {"const": "session.go_away"},
                          "reason": {"type": "string"},
                          "time_left_ms": {"type": "integer", "minimum": 0}}}


def kinds(changes: list[Change]) -> dict[str, list[Kind]]:
    out: dict[str, list[Kind]] = {}
    for c in changes:
        out.setdefault(c.pointer, []).append(c.kind)
    return out


def add_server_event(doc: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    doc["definitions"]["server"][name] = schema
    doc["definitions"]["server_event"]["oneOf"].append({"$ref": f"{SERVER}/{name}"})


def drop_server_event(doc: dict[str, Any], name: str) -> None:
    del doc["definitions"]["server"][name]
    branches = doc["definitions"]["server_event"]["oneOf"]
    branches.remove({"$ref": f"{SERVER}/{name}"})


def test_identical_revisions_have_no_changes(revision: Revise) -> None:
    assert diff_paths(BUNDLE, revision(lambda d: None)) == []


def test_event_added_is_additive_with_a_warning(revision: Revise) -> None:
    out = diff_paths(BUNDLE, revision(lambda d: add_server_event(d, "session.go_away", GO_AWAY)))
    assert kinds(out) == {"session.go_away": [Kind.ADDITIVE]}
    assert "new server event" in out[0].message and "exhaustive" in out[0].message


def test_event_removed_is_breaking(revision: Revise) -> None:
    out = diff_paths(BUNDLE, revision(lambda d: drop_server_event(d, "session.queue_done")))
    assert kinds(out) == {"session.queue_done": [Kind.BREAKING]}
    assert out[0].message == "event removed; it is no longer sent"


def test_event_renamed_is_one_change_not_a_removal_and_an_addition(revision: Revise) -> None:
    def rename(doc: dict[str, Any]) -> None:
        event = doc["definitions"]["server"]["session.queue_update"]
        event["properties"]["type"]["const"] = "session.queue_updated"
        drop_server_event(doc, "session.queue_update")
        add_server_event(doc, "session.queue_updated", event)

    out = diff_paths(BUNDLE, revision(rename))
    assert [(c.kind, c.old, c.new) for c in out] == [
        (Kind.BREAKING, "session.queue_update", "session.queue_updated")]
    assert "handle session.queue_updated where you handled session.queue_update" in out[0].message


def test_field_added_to_a_closed_server_event_breaks_a_validating_client(revision: Revise) -> None:
    def add_source(doc: dict[str, Any]) -> None:
        delta = doc["definitions"]["server"]["response.output_audio.delta"]
        delta["properties"]["source"] = {"type": "string", "description": "Audio source tag"}

    out = diff_paths(BUNDLE, revision(add_source))
    assert kinds(out) == {"response.output_audio.delta#/source": [Kind.BREAKING]}
    assert "additionalProperties: false" in out[0].message


def test_field_added_to_an_open_server_event_is_additive(revision: Revise) -> None:
    def opened(doc: dict[str, Any]) -> None:
        del doc["definitions"]["server"]["response.output_audio.delta"]["additionalProperties"]

    def opened_and_added(doc: dict[str, Any]) -> None:
        opened(doc)
        doc["definitions"]["server"]["response.output_audio.delta"]["properties"]["source"] = {
            "type": "string"}

    out = diff_paths(revision(opened), revision(opened_and_added))
    assert kinds(out) == {"response.output_audio.delta#/source": [Kind.ADDITIVE]}


def test_optional_field_added_to_a_closed_client_event_is_additive(revision: Revise) -> None:
    def add(doc: dict[str, Any]) -> None:
        doc["definitions"]["client"]["session.close"]["properties"]["code"] = {"type": "integer"}

    assert kinds(diff_paths(BUNDLE, revision(add))) == {"session.close#/code": [Kind.ADDITIVE]}


NEW_DESCRIPTION = (
    "WebSocket JSON message schema for MiniCPM-o Realtime API. Endpoint: "
    "wss://host/v1/realtime?mode={video|audio}[&session_id=xxx]. session_id is optional — if "
    "omitted the server generates one (rt_{timestamp_ms}). session.created returns the "
    "effective session_id. Audio: 16kHz float32 PCM (input), 24kHz float32 PCM (output). "
    "Video: JPEG base64.")


def test_query_parameter_stated_only_in_the_description(revision: Revise) -> None:
    out = diff_paths(BUNDLE, revision(lambda d: d.update(description=NEW_DESCRIPTION)))
    query = [c for c in out if "query" in c.pointer]
    assert [(c.kind, c.pointer, c.new) for c in query] == [
        (Kind.ADDITIVE, "description (query: session_id)", "xxx (optional)")]
    # the same id format said in other words is no change; the wording itself is cosmetic
    assert not [c for c in out if "id-format" in c.pointer]
    assert kinds(out)["description"] == [Kind.COSMETIC]


def test_prose_facts_that_break(revision: Revise) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["description"] = (doc["description"].replace("{video|audio}", "{video}")
                              .replace("rt_{timestamp_ms}", "sess_{uuid}"))
        audio = doc["definitions"]["client"]["input_audio_buffer.append"]["properties"]["audio"]
        audio["description"] = audio["description"].replace("Minimum 4000", "Minimum 8000")

    out = {c.pointer: c for c in diff_paths(BUNDLE, revision(edit))}
    assert out["description (query: mode)"].kind is Kind.BREAKING
    assert "['audio']" in out["description (query: mode)"].message
    assert out["description (id-format: session_id)"].kind is Kind.BREAKING
    limit = out["input_audio_buffer.append#/audio (limit: min sample)"]
    assert (limit.kind, limit.old, limit.new) == (Kind.BREAKING, "4000", "8000")


def test_description_change_shows_the_changed_words_in_text_and_json(revision: Revise) -> None:
    new = revision(lambda d: d.update(description=NEW_DESCRIPTION))
    runner = CliRunner()
    text = runner.invoke(app, ["diff", str(BUNDLE), str(new)])
    assert text.exit_code == 0, text.output  # additive and cosmetic only
    assert "{+wss://host/v1/realtime?mode={video|audio}[&session_id=xxx].+}" in text.output
    assert "[-generated by-] {+optional — if omitted+}" in text.output
    assert f"{BUNDLE} (older) → {new} (newer)" in text.output
    data = json.loads(runner.invoke(app, ["diff", "--json", str(BUNDLE), str(new)]).output)
    (change,) = [c for c in data["changes"] if c["pointer"] == "description"]
    assert change["old"] != change["new"]  # never the same prefix on both sides
    assert "[&session_id=xxx]" in change["new"] and "[&session_id=xxx]" not in change["old"]
    assert "(format: rt_{timestamp_ms})" in change["old"]
    assert data["older"] == str(BUNDLE) and data["newer"] == str(new)


def test_field_description_change_is_a_word_diff(revision: Revise) -> None:
    def edit(doc: dict[str, Any]) -> None:
        text = doc["definitions"]["server"]["response.output_audio.delta"]["properties"]["text"]
        text["description"] += " (may be empty)"

    (change,) = diff_paths(BUNDLE, revision(edit))
    assert change.kind is Kind.COSMETIC
    assert change.message.endswith("architecture {+(may be empty)+}")


def test_reverse_treats_the_second_side_as_older(revision: Revise) -> None:
    new = revision(lambda d: add_server_event(d, "session.go_away", GO_AWAY))
    runner = CliRunner()
    forward = runner.invoke(app, ["diff", "--json", str(BUNDLE), str(new)])
    backward = runner.invoke(app, ["diff", "--json", "--reverse", str(new), str(BUNDLE)])
    assert forward.output == backward.output and forward.exit_code == 0
    removed = runner.invoke(app, ["diff", "--reverse", str(BUNDLE), str(new)])
    assert removed.exit_code == 1 and "session.go_away → (none) — event removed" in removed.output


def test_folder_against_the_published_file_is_allowed() -> None:
    out = diff_paths(EARLIER, BUNDLE)
    # only the root descriptions our folder writes about each file (its provenance) differ
    assert out and {c.kind for c in out} == {Kind.COSMETIC}
    assert all("#" not in c.pointer for c in out)
    assert diff_paths(EARLIER, BUNDLE, provenance=False) == []


def test_openapi_operation_changing_its_status_code(tmp_path: Path) -> None:
    doc = json.loads(FAL_OPENAPI.read_text(encoding="utf-8"))
    submit = doc["paths"]["/fal-ai/mini-cpm"]["post"]
    submit["responses"]["202"] = submit["responses"].pop("200")
    out = diff_paths(FAL_OPENAPI, write(tmp_path / "openapi.json", doc))
    assert [(c.kind, c.pointer, c.old, c.new) for c in out] == [
        (Kind.BREAKING, "POST /fal-ai/mini-cpm 200", "200", "202")]
    assert "accept 202 where you expected 200" in out[0].message


def test_openapi_parameters_operations_and_response_fields(tmp_path: Path) -> None:
    doc = json.loads(FAL_OPENAPI.read_text(encoding="utf-8"))
    status = doc["paths"]["/fal-ai/mini-cpm/requests/{request_id}/status"]["get"]
    status["parameters"][1]["required"] = True
    del doc["paths"]["/fal-ai/mini-cpm/requests/{request_id}"]
    doc["components"]["schemas"]["QueueStatus"]["properties"]["logs"] = {"type": "array"}
    out = kinds(diff_paths(FAL_OPENAPI, write(tmp_path / "openapi.json", doc)))
    base = "GET /fal-ai/mini-cpm/requests/{request_id}"
    assert out == {
        f"{base}/status query:logs": [Kind.BREAKING],  # now required
        base: [Kind.BREAKING],  # operation removed
        f"{base}/status 200#/logs": [Kind.ADDITIVE],
        "POST /fal-ai/mini-cpm 200#/logs": [Kind.ADDITIVE],
    }


def test_prose_no_longer_stating_a_fact_is_not_a_removal(revision: Revise) -> None:
    # the endpoint URL is no longer written out: its query parameters are not thereby removed
    out = diff_paths(BUNDLE, revision(lambda d: d.update(description="Realtime messages.")))
    assert {c.kind for c in out} == {Kind.COSMETIC}
    mode = next(c for c in out if c.pointer == "description (query: mode)")
    assert "no longer stated in prose" in mode.message
    # but a parameter gone from a URL that is still written out is removed
    out = diff_paths(BUNDLE, revision(lambda d: d.update(
        description=d["description"].replace("?mode={video|audio}", "?lang=en"))))
    assert {c.pointer: c.kind for c in out}["description (query: mode)"] is Kind.BREAKING


def test_a_limit_that_moved_with_its_text_is_no_change(revision: Revise) -> None:
    def move(doc: dict[str, Any]) -> None:
        event = doc["definitions"]["client"]["input_audio_buffer.append"]
        event["description"] = "Audio chunk. Minimum 4000 samples (250ms)."
        audio = event["properties"]["audio"]
        audio["description"] = audio["description"].replace(" Minimum 4000 samples (250ms).", "")

    out = diff_paths(BUNDLE, revision(move))
    assert not [c for c in out if "limit" in c.pointer]
    assert {c.kind for c in out} == {Kind.COSMETIC}
