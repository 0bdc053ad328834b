"""Unit tests of the spec readers: the bundle, OpenAPI and folder readers yield one model."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drift.schema_diff import Direction
from harness.errors import UsageError
from harness.specs.facts import Fact, extract
from harness.specs.migration import diff_specs
from harness.specs.read import kinds, read_spec
from tests.unit.specs.conftest import BUNDLE, EARLIER, FAL_OPENAPI, write

CLIENT = {"session.update", "input_audio_buffer.append", "session.close"}
SERVER = {"session.created", "response.output_audio.delta", "response.listen", "session.closed",
          "session.queued", "session.queue_update", "session.queue_done", "error"}


def test_bundle_names_each_oneof_branch_by_its_type_const_with_its_direction() -> None:
    spec = read_spec(BUNDLE)
    assert spec.kind == "schema-bundle"
    assert set(spec.messages) == CLIENT | SERVER
    assert {k for k, m in spec.messages.items() if m.direction is Direction.REQUEST} == CLIENT
    update = spec.messages["session.update"]
    assert update.pointer == "#/definitions/client/session.update"
    # fields of each event stay under the event, refs into shared definitions followed
    assert update.nodes["/session/ref_audio"].bounds == (("pattern", '"^[A-Za-z0-9+/]+=*$"'),)
    assert update.nodes[""].closed and update.nodes["/session"].closed
    assert spec.version == "minicpm-o-realtime-protocol-v2"


def test_bundle_without_type_consts_names_messages_by_definition(tmp_path: Path) -> None:
    doc = {"definitions": {"ping": {"type": "object", "properties": {"t": {"type": "integer"}}},
                           "pong": {"type": "object"}},
           "oneOf": [{"$ref": "#/definitions/ping"}, {"$ref": "#/definitions/pong"}]}
    spec = read_spec(write(tmp_path / "bus.json", doc))
    assert spec.kind == "schema-bundle" and set(spec.messages) == {"ping", "pong"}


def test_prose_facts_of_the_published_bundle() -> None:
    facts = read_spec(BUNDLE).facts
    assert Fact("query", "mode", "video|audio") in facts
    assert Fact("id-format", "session_id", "rt_{timestamp_ms}") in facts
    assert {Fact("rate", "sample rate", "16kHz"), Fact("rate", "sample rate", "24kHz")} <= facts
    assert Fact("limit", "min sample", "4000", "input_audio_buffer.append#/audio") in facts
    assert Fact("limit", "max", "8192", "response.output_audio.delta#/kv_cache_length") in facts
    assert Fact("limit", "max token", "8192", "session.closed#/reason") in facts


@pytest.mark.parametrize(("text", "fact"), [
    ("wss://h/v1/realtime?mode={video|audio}[&session_id=xxx].",
     Fact("query", "session_id", "xxx (optional)")),
    ("GET /v1/x?limit=10&order=asc", Fact("query", "order", "asc")),
    ("the ticket_id looks like tk_{uuid}.", Fact("id-format", "ticket_id", "tk_{uuid}")),
    ("Up to 5 images.", Fact("limit", "max image", "5", "p")),
    ("At least 2,000 samples", Fact("limit", "min sample", "2000", "p")),
])
def test_fact_patterns(text: str, fact: Fact) -> None:
    assert fact in extract(text, "p")


def test_text_without_facts_yields_none() -> None:
    assert extract("Human-readable description (for debugging, do not parse)", "p") == set()


def test_folder_reader_matches_the_bundle_it_was_derived_from() -> None:
    folder, bundle = read_spec(EARLIER), read_spec(BUNDLE)
    assert folder.kind == "folder" and set(folder.messages) == set(bundle.messages)
    assert {k: m.direction for k, m in folder.messages.items()} == {
        k: m.direction for k, m in bundle.messages.items()}
    assert folder.facts == bundle.facts
    assert diff_specs(folder, bundle, provenance=False) == []


def test_openapi_reader_operations_parameters_and_statuses() -> None:
    spec = read_spec(FAL_OPENAPI)
    assert spec.kind == "openapi" and spec.version == "1.0.0"
    status = spec.messages["GET /fal-ai/mini-cpm/requests/{request_id}/status"]
    assert status.is_operation and status.direction is Direction.REQUEST
    assert status.params["/parameters/path/request_id"].required
    assert not status.params["/parameters/query/logs"].required
    assert set(status.responses) == {"200"}
    assert status.responses["200"] is not None and "/queue_position" in status.responses["200"]
    submit = spec.messages["POST /fal-ai/mini-cpm"]
    assert submit.nodes["/prompt"].required and submit.nodes["/image_urls/*"].types == {"string"}


def test_every_kind_is_registered_and_picked_by_content(tmp_path: Path) -> None:
    assert set(kinds()) == {"schema-bundle", "folder", "openapi", "schema"}
    assert read_spec(write(tmp_path / "request.json", {"type": "object"})).kind == "schema"
    assert read_spec(BUNDLE, kind="schema").kind == "schema"  # forced: one flattened message
    with pytest.raises(UsageError, match="unknown spec kind 'wsdl'"):
        read_spec(BUNDLE, kind="wsdl")
    with pytest.raises(UsageError, match=r"list\.json: not a JSON Schema.*\(list\)"):
        read_spec(write(tmp_path / "list.json", [1]))


def test_a_folder_without_schemas_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(UsageError, match=r"a: no \.json or \.yaml schema"):
        read_spec(tmp_path / "a")
