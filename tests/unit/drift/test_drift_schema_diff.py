"""Unit tests of the field-level diff (harness.drift.schema_diff) through harness.specs.migration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.drift.classify import Change, Kind
from harness.drift.schema_diff import Direction, direction_of
from harness.errors import UsageError
from harness.specs.migration import diff_paths as diff

ROOT = Path(__file__).resolve().parents[3]
REALTIME = ROOT / "schemas" / "minicpm-o-realtime"
needs_realtime = pytest.mark.skipif(
    not (REALTIME / "earlier").is_dir() or not (REALTIME / "current").is_dir(),
    reason="realtime schemas not written yet")


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required)}


def pair(tmp_path: Path, name: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return diff(write(tmp_path / "old" / name, old), write(tmp_path / "new" / name, new))


def by_pointer(changes: list[Change]) -> dict[str, list[Kind]]:
    out: dict[str, list[Kind]] = {}
    for c in changes:
        out.setdefault(c.pointer, []).append(c.kind)
    return out


@pytest.mark.parametrize(("name", "direction"), [
    ("client-event", Direction.REQUEST), ("server-event", Direction.RESPONSE),
    ("request", Direction.REQUEST), ("mini-cpm-input", Direction.REQUEST),
    ("response", Direction.RESPONSE), ("chunk", Direction.RESPONSE),
    ("event-message_start", Direction.RESPONSE), ("upload-request", Direction.REQUEST),
    ("upload-response", Direction.RESPONSE), ("prediction", Direction.RESPONSE),
])
def test_direction_from_file_names(name: str, direction: Direction) -> None:
    assert direction_of(name) is direction


def test_identical_documents_have_no_changes(tmp_path: Path) -> None:
    doc = obj({"model": {"type": "string", "enum": ["a", "b"]}}, ("model",))
    assert pair(tmp_path, "request.json", doc, doc) == []


def test_new_required_request_field_is_breaking_optional_is_additive(tmp_path: Path) -> None:
    old = obj({"model": {"type": "string"}}, ("model",))
    new = obj({"model": {"type": "string"}, "seed": {"type": "integer"},
               "top_k": {"type": "integer"}}, ("model", "seed"))
    out = by_pointer(pair(tmp_path, "request.json", old, new))
    assert out == {"request#/seed": [Kind.BREAKING], "request#/top_k": [Kind.ADDITIVE]}


def test_same_change_classified_by_direction(tmp_path: Path) -> None:
    old = obj({"id": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]}},
              ("id",))
    new = obj({"kind": {"type": "string", "enum": ["a", "c"]},
               "extra": {"type": "string"}})
    sent = pair(tmp_path / "s", "request.json", old, new)
    got = pair(tmp_path / "r", "response.json", old, new)
    # Removing a response field breaks readers; removing a request field breaks senders too.
    assert by_pointer(got)["response#/id"] == [Kind.BREAKING]
    assert by_pointer(sent)["request#/id"] == [Kind.BREAKING]
    # A narrowed enum breaks senders only; a widened one is additive-with-warning for readers.
    sent_kind = [c for c in sent if c.pointer == "request#/kind"]
    got_kind = [c for c in got if c.pointer == "response#/kind"]
    assert {c.kind for c in sent_kind} == {Kind.BREAKING, Kind.ADDITIVE}
    assert {c.kind for c in got_kind} == {Kind.COSMETIC, Kind.ADDITIVE}
    assert any("exhaustive" in c.message for c in got_kind if c.kind is Kind.ADDITIVE)
    assert by_pointer(got)["response#/extra"] == [Kind.ADDITIVE]


def test_required_becoming_optional_breaks_readers_not_senders(tmp_path: Path) -> None:
    old = obj({"text": {"type": "string"}}, ("text",))
    new = obj({"text": {"type": "string"}})
    assert by_pointer(pair(tmp_path / "a", "response.json", old, new)) == {
        "response#/text": [Kind.BREAKING]}
    assert by_pointer(pair(tmp_path / "b", "request.json", old, new)) == {
        "request#/text": [Kind.ADDITIVE]}


def test_retyped_and_bounds(tmp_path: Path) -> None:
    old = obj({"n": {"type": "integer", "maximum": 9}, "s": {"type": "string"}})
    new = obj({"n": {"type": "integer", "maximum": 4}, "s": {"type": "object"}})
    out = by_pointer(pair(tmp_path, "request.json", old, new))
    assert out == {"request#/n": [Kind.BREAKING], "request#/s": [Kind.BREAKING]}


def test_descriptions_are_cosmetic(tmp_path: Path) -> None:
    old = obj({"a": {"type": "string", "description": "old words"}})
    new = obj({"a": {"type": "string", "description": "new words"}})
    assert by_pointer(pair(tmp_path, "response.json", old, new)) == {
        "response#/a": [Kind.COSMETIC]}


def test_refs_are_followed(tmp_path: Path) -> None:
    common_old = {"definitions": {"id": {"type": "string"}}}
    common_new = {"definitions": {"id": {"type": "integer"}}}
    write(tmp_path / "old" / "common.json", common_old)
    write(tmp_path / "new" / "common.json", common_new)
    doc = obj({"id": {"$ref": "common.json#/definitions/id"}}, ("id",))
    out = pair(tmp_path, "response.json", doc, doc)
    assert [(c.pointer, c.kind) for c in out] == [("response#/id", Kind.BREAKING)]


def test_openapi_request_body_versus_responses(tmp_path: Path) -> None:
    def api(req: dict[str, Any], resp: dict[str, Any], extra_param: bool = False) -> dict:
        params = [{"name": "stream", "in": "query", "required": True}] if extra_param else []
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
            "/v1/chat": {"post": {
                "parameters": params,
                "requestBody": {"content": {"application/json": {"schema": req}}},
                "responses": {"200": {"content": {"application/json": {"schema": resp}}}}}}}}

    old = api(obj({"model": {"type": "string"}}), obj({"id": {"type": "string"}}, ("id",)))
    new = api(obj({"model": {"type": "string"}, "n": {"type": "integer"}}, ("n",)),
              obj({"id": {"type": "string"}, "usage": {"type": "object"}}, ("id",)),
              extra_param=True)
    out = by_pointer(diff(write(tmp_path / "old.json", old), write(tmp_path / "new.json", new)))
    assert out == {"POST /v1/chat request#/n": [Kind.BREAKING],
                   "POST /v1/chat 200#/usage": [Kind.ADDITIVE],
                   "POST /v1/chat query:stream": [Kind.BREAKING]}


def test_usage_errors(tmp_path: Path) -> None:
    file = write(tmp_path / "a.json", {"type": "object"})
    with pytest.raises(UsageError, match="no such"):
        diff(file, tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(UsageError, match=r"bad\.json"):
        diff(file, tmp_path / "bad.json")


@needs_realtime
def test_realtime_revisions_renamed_and_folded_events() -> None:
    out = diff(REALTIME / "earlier", REALTIME / "current")
    renames = {(c.old, c.new) for c in out if c.message.startswith("event renamed")}
    assert renames == {("session.update", "session.init"),
                       ("input_audio_buffer.append", "input.append"),
                       ("response.output_audio.delta", "response.output.delta")}
    folded = [c for c in out if c.message.startswith("event folded")]
    assert [(c.old, c.new) for c in folded] == [
        ("response.listen", "response.output.delta (kind=listen)")]
    assert all(c.kind is Kind.BREAKING for c in out if "event renamed" in c.message)
    # response.done is new and nothing else disappeared without a trace
    assert [c.new for c in out if c.message.startswith("new server event")] == ["response.done"]
    assert not [c for c in out if c.message.startswith("event removed")]


@needs_realtime
def test_realtime_revisions_field_mapping() -> None:
    out = diff(REALTIME / "earlier", REALTIME / "current")
    moves = {(c.old, c.new) for c in out if c.message.startswith("field moved")}
    assert {
        ("session.update#/session/instructions", "session.init#/payload/instructions"),
        ("session.update#/session/ref_audio", "session.init#/payload/voice/ref_audio_base64"),
        ("session.update#/session/tts_ref_audio",
         "session.init#/payload/voice/tts_ref_audio_base64"),
        ("input_audio_buffer.append#/audio", "input.append#/input/audio"),
        ("input_audio_buffer.append#/video_frames", "input.append#/input/video_frames"),
    } <= moves
    gone = {c.pointer for c in out if c.kind is Kind.BREAKING and "stop reading" in c.message}
    assert {"response.output_audio.delta#/end_of_turn",
            "response.output_audio.delta#/kv_cache_length"} <= gone
    # text/audio used to be required on every delta; now only for their kind
    maybe_missing = {c.pointer for c in out if "may now be missing" in c.message}
    assert {"response.output.delta#/text", "response.output.delta#/audio"} <= maybe_missing
    assert any(c.pointer == "response.output.delta#/kind" and c.kind is Kind.ADDITIVE
               for c in out)


def test_unrelated_documents_are_refused_by_name_not_reported_as_no_changes(tmp_path: Path) -> None:
    schema = write(tmp_path / "request.json", obj({"a": {"type": "string"}}))
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    profile = tmp_path / "mimo.yaml"
    profile.write_text("name: mimo\napis: []\nx-source: docs\n")
    openapi = write(tmp_path / "openapi.json", {"openapi": "3.1.0", "paths": {}})
    with pytest.raises(UsageError, match=r"array.json: not a JSON Schema.*\(list\)"):
        diff(array, schema)
    with pytest.raises(UsageError, match=r"mimo.yaml: not a JSON Schema.*keys apis, name"):
        diff(schema, profile)
    with pytest.raises(UsageError, match=r"cannot diff schema .* with openapi .*only with another"):
        diff(schema, openapi)
    assert diff(write(tmp_path / "empty.json", {}), schema)  # {} is a schema: accept anything
