"""Unit tests of harness.openapi: valid 3.1 documents that schemathesis loads, built once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from openapi_spec_validator import validate
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance
from typer.testing import CliRunner

from harness import openapi, providers
from harness.cli import app
from harness.lint.base import walk
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock

# (method, path) pairs per provider; fal's status/result/cancel are shared by its two apps.
OPERATIONS = {"fal": 13, "local": 2, "mimo": 3, "modelbest": 2, "wavespeed": 7}


@pytest.fixture(scope="module", params=sorted(OPERATIONS))
def built(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, openapi.build(request.param)


def refs(node: Any) -> list[str]:
    return [n["$ref"] for _, n in walk(node) if isinstance(n, dict) and "$ref" in n]


def test_every_http_provider_is_covered() -> None:
    assert sorted(OPERATIONS) == providers.known()


def test_valid_openapi_that_schemathesis_loads(built: tuple[str, dict[str, Any]]) -> None:
    name, doc = built
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    operations = [result.ok() for result in schemathesis.openapi.from_dict(doc)
                  .get_all_operations()]
    assert len(operations) == OPERATIONS[name]
    assert len({o.definition.raw["operationId"] for o in operations}) == OPERATIONS[name]


def test_schemas_are_components_referenced_once(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    components = doc["components"]["schemas"]
    used = {ref.removeprefix("#/components/schemas/") for ref in refs(doc["paths"])}
    assert used == set(components)  # every component used, no operation points elsewhere
    for path, node in walk(doc["paths"]):
        if len(path) > 1 and path[-2] == "content" and "x-event-schema" not in node:
            if path[-1] == "*/*" or ("requestBody" in path and "storage" in path[0]):
                assert node["schema"] in ({}, {"type": "object"})  # raw bytes; fal's {} body
                continue
            assert set(node["schema"]) == {"$ref"}  # our schemas: referenced, never inlined
    for name, schema in components.items():
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9._-]+", name)
        assert refs(schema) == []  # inlined: self-contained
        keys = {k for _, n in walk(schema) if isinstance(n, dict) for k in n}
        assert not keys & {"$id", "$schema", "definitions"}
        assert "x-source" in schema


def test_dialect_overlay_is_applied() -> None:
    for name, model in (("mimo", "mimo-v2-omni"), ("modelbest", "MiniCPM-V-4.6-Thinking")):
        request = openapi.build(name)["components"]["schemas"]["openai-chat.request"]
        base, overlay = request["allOf"]
        assert model in overlay["properties"]["model"]["enum"] and "properties" in base
    assert "allOf" not in openapi.build("local")["components"]["schemas"]["openai-chat.request"]


@pytest.mark.parametrize("flavour", sorted(providers.get("local").flavours))
def test_a_local_flavour_exports_its_own_shapes(flavour: str) -> None:
    """The export of a flavour is what its checks expect: SGLang's errors are the top-level
    object, llama.cpp's carry its overlay; and the document is valid OpenAPI."""
    from openapi_spec_validator import validate

    doc = openapi.build("local", flavour=flavour)
    validate(doc)
    components = doc["components"]["schemas"]
    replaced = "openai-chat.error-object" in components
    assert replaced == (flavour in ("sglang", "vllm-legacy"))
    assert ("openai-chat.error" in components) != replaced
    error = components["openai-chat.error" if not replaced else "openai-chat.error-object"]
    assert ("allOf" in error) == (flavour in ("llama.cpp", "vllm"))
    chat = doc["paths"]["/v1/chat/completions"]["post"]["responses"]["400"]
    assert chat["content"]["application/json"]["schema"]["$ref"].endswith(
        "openai-chat.error-object" if replaced else "openai-chat.error")


def test_path_parameters_and_request_bodies(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    for key, item in doc["paths"].items():
        for method, op in item.items():
            if method == "servers":  # a handed-out URL's own server
                continue
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", key))
            if method == "post" and "requestBody" in op and key != "/rest/storage/auth/token":
                assert op["requestBody"]["required"] is True


def test_what_the_sdks_send_beyond_our_schemas_is_described() -> None:
    """fal-client 1.x: POST /storage/auth/token?storage_type=fal-cdn-v3 with a {} body, then the
    raw bytes to the CDN with the token as Bearer; the wavespeed SDK PUTs to a presigned URL."""
    fal = openapi.build("fal")
    token = fal["paths"]["/rest/storage/auth/token"]["post"]
    assert [p["name"] for p in token["parameters"]] == ["storage_type"]
    assert token["requestBody"] == {"required": False, "content": {
        "application/json": {"schema": {"type": "object"}}}}
    assert "422" in token["responses"]
    upload = fal["paths"]["/cdn/files/upload"]["post"]
    assert upload["security"] == [{"storage-token": []}]
    assert fal["components"]["securitySchemes"]["storage-token"]["scheme"] == "bearer"
    assert set(upload["requestBody"]["content"]) == {"*/*"}
    assert [p["name"] for p in upload["parameters"]] == ["X-Fal-File-Name"]
    submit = fal["paths"]["/queue/fal-ai/mini-cpm"]["post"]
    assert [p["name"] for p in submit["parameters"]] == ["fal_webhook"]
    download = fal["paths"]["/cdn/files/{blob_id}/{name}"]
    assert download["get"]["security"] == [] and download["servers"][0]["url"] == "{mock}/fal"
    wavespeed = openapi.build("wavespeed")
    put = wavespeed["paths"]["/media/uploads/{blob_id}"]
    assert put["put"]["security"] == []  # presigned: size and signature ride in the query
    assert {p["name"] for p in put["put"]["parameters"] if p["in"] == "query"} == {"size", "sig"}
    assert put["put"]["responses"]["200"] == {"description": "OK"}  # no body
    assert put["servers"] == [wavespeed["servers"][1]]  # the mock's URL, not api.wavespeed.ai
    assert "/media/files/{blob_id}/{filename}" in wavespeed["paths"]
    assert "vlm-harness serve" in wavespeed["servers"][1]["description"]


def test_the_fuzzed_document_leaves_out_the_handed_out_urls() -> None:
    from harness.fuzz.document import document

    paths = document("wavespeed")["paths"]
    assert "/api/v3/media/uploads" in paths and "/media/uploads/{blob_id}" not in paths


def test_auth_styles_become_security_schemes() -> None:
    schemes = openapi.build("mimo")["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer",
                                 "description": "`Authorization: Bearer $MIMO_API_KEY`"}
    assert {schemes[n]["name"] for n in ("api-key", "x-api-key")} == {"api-key", "x-api-key"}
    fal = openapi.build("fal")
    assert fal["components"]["securitySchemes"]["authorization-key"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "`Authorization: Key $FAL_KEY`"}
    assert set(fal["components"]["securitySchemes"]) == {"authorization-key", "storage-token"}
    local = openapi.build("local")["paths"]["/v1/chat/completions"]["post"]
    assert {} in local["security"]  # a local server usually needs no key


def test_responses_and_streams() -> None:
    mimo = openapi.build("mimo")["paths"]
    messages = mimo["/anthropic/v1/messages"]["post"]["responses"]
    assert set(messages) >= {"200", "401", "413", "529"}
    assert messages["529"]["description"] == "Overloaded"
    stream = mimo["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert stream["text/event-stream"]["x-event-schema"] == {
        "$ref": "#/components/schemas/openai-chat.chunk"}
    event, text = stream["text/event-stream"]["schema"]["anyOf"]
    assert text["type"] == "string"  # the stream as one string, as Prism's proxy reads it
    data = event["properties"]["data"]["anyOf"]
    assert data[0] == {"const": "[DONE]"}  # openai's end marker is not JSON
    assert [d["contentSchema"]["$ref"].rsplit("/", 1)[1] for d in data[1:]] == [
        "openai-chat.chunk", "openai-chat.error"]
    anthropic = mimo["/anthropic/v1/messages"]["post"]["responses"]["200"]["content"]
    assert "[DONE]" not in json.dumps(anthropic["text/event-stream"]["schema"])
    versions = mimo["/anthropic/v1/messages"]["post"]["parameters"]
    assert versions[0]["name"] == "anthropic-version"


def test_servers_fit_the_mock_and_the_real_hosts() -> None:
    wavespeed = openapi.build("wavespeed")
    assert wavespeed["servers"][0]["url"] == "https://api.wavespeed.ai"
    assert wavespeed["servers"][1]["url"] == "{mock}/wavespeed"
    assert "/api/v3/predictions/{id}/result" in wavespeed["paths"]
    assert openapi.build("modelbest", "http://h:1/modelbest/")["servers"] == [
        {"url": "http://h:1/modelbest", "description": "given on the command line"}]
    assert "/v1/chat/completions" in openapi.build("modelbest")["paths"]  # documented /v1 kept
    fal = openapi.build("fal")
    assert [s["url"] for s in fal["servers"]] == ["{mock}/fal"]
    assert fal["x-hosts"]["/queue"] == "https://queue.fal.run" and "/run/fal-ai/mini-cpm" in (
        fal["paths"])
    # Every path is the mock's mount prefix (less /{provider}) plus the documented path.
    for api in providers.get("fal").apis:
        assert all(k.startswith(tuple(api.mock_prefix(h).removeprefix("/fal")
                                      for h in api.base_urls)) for k in fal["paths"])


def test_websocket_api_is_mentioned_not_described() -> None:
    doc = openapi.build("modelbest")
    [ws] = doc["x-websocket"]
    assert ws["url"] == "wss://api.modelbest.cn/v1/realtime" and set(ws["revisions"]) == {
        "current", "earlier"}
    assert "WebSocket" in doc["info"]["description"]
    assert not any("realtime" in key for key in doc["paths"])


def test_cli_writes_a_valid_document(tmp_path: Path) -> None:
    out = tmp_path / "api" / "wavespeed.json"
    result = CliRunner().invoke(app, ["openapi", "wavespeed", "-o", str(out)])
    assert result.exit_code == 0, result.output
    validate(json.loads(out.read_text("utf-8")))
    result = CliRunner().invoke(app, ["openapi", "local", "--server", "http://gpu:9000"])
    assert result.exit_code == 0 and json.loads(result.stdout)["servers"][0]["url"] == (
        "http://gpu:9000")


def test_unknown_provider_lists_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["openapi", "wavspeed"])
    assert result.exit_code == 2
    assert "unknown provider 'wavspeed'; known: fal, local, mimo, modelbest, wavespeed" in (
        " ".join(result.output.split()))  # rich wraps the line at the terminal width


def test_a_server_that_is_not_a_url_names_the_flag() -> None:
    result = CliRunner().invoke(app, ["openapi", "wavespeed", "--server", "not a url"])
    assert result.exit_code == 2 and "--server 'not a url'" in result.output


STREAMS = [("/v1/chat/completions", {"api-key": MOCK_KEY}, {}),
           ("/anthropic/v1/messages", {"x-api-key": MOCK_KEY}, {"max_tokens": 8})]


@pytest.mark.parametrize(("path", "auth", "extra"), STREAMS, ids=["openai", "anthropic"])
def test_schemathesis_accepts_valid_streams_and_rejects_broken_ones(
        served_mock: ServedMock, path: str, auth: dict[str, str], extra: dict[str, Any]) -> None:
    """Issue 15: ``{type: string}`` made schemathesis fail every streamed 200 (ST108)."""
    base = f"{served_mock.url}/mimo"
    operation = schemathesis.openapi.from_dict(openapi.build("mimo", server=base))[path]["POST"]
    body = {"model": "mimo-v2-omni", "stream": True, **extra,
            "messages": [{"role": "user", "content": "hi"}]}
    case = operation.Case(body=body, headers=auth)
    response = case.call(base_url=base)
    assert response.status_code == 200
    assert response.headers["content-type"][0].startswith("text/event-stream")
    case.validate_response(response, checks=[response_schema_conformance])
    # The same stream with one event's field retyped must fail: the data is really checked.
    broken = re.sub(rb'"index":\s*0', b'"index":"zero"', response.content, count=1)
    assert broken != response.content
    tampered = type(response)(200, response.headers, broken, response.request, response.elapsed,
                              response.verify)
    with pytest.raises(FailureGroup) as failed:
        case.validate_response(tampered, checks=[response_schema_conformance])
    assert [e.code for e in failed.value.exceptions] == ["ST108"]
