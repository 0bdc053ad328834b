"""Static checks on the JSON Schemas in schemas/ (schemas/harness and schemas/_examples excluded).

Every file must be a draft-07 schema written in the subset shared with draft 2020-12, carry an
``$id`` that matches its path and an ``x-source`` pointing into the reference documents, and
only use ``$ref``s that resolve without recursion. Request schemas are then exercised with a
hand-written valid example and targeted mutations that must be rejected; the documents' own
invalid examples (see schemas/FINDINGS-NOTES.md) must be rejected too.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from harness.schemas import resolved, with_advisories

HERE = Path(__file__).resolve()
SCHEMAS = HERE.parents[2] / "schemas"
REFERENCE = HERE.parents[3] / "shared" / "reference"
BASE = "https://vlm-contract-harness.dev/schemas/"
DRAFT7_URI = "http://json-schema.org/draft-07/schema#"
EXCLUDED_DIRS = {"harness", "_examples"}

# Keywords outside the common subset of draft-07 and 2020-12 (or unsupported by
# hypothesis-jsonschema); "items" as an array is checked separately.
FORBIDDEN = {
    "$defs", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
    "dependentSchemas", "dependencies", "$anchor", "$dynamicRef", "$dynamicAnchor",
    "$recursiveRef", "$recursiveAnchor", "additionalItems",
}
ALLOWED_FORMATS = {"uri", "date-time"}
# Keywords that may sit beside a $ref (annotations only: draft-07 ignores $ref siblings,
# 2020-12 applies them, so anything that validates would behave differently).
REF_SIBLINGS = {"description", "title", "x-source", "examples", "default", "$comment"}
# Regex syntax that Python re and ECMA-262 read differently or only one of them knows.
NON_PORTABLE_REGEX = ("(?P", "(?<", "\\A", "\\Z", "\\z", "(?#", "(?i", "(?m", "(?s", "(?x",
                      "(?a", "(?u", "(?L", "\\h", "\\p{", "*+", "++", "?+")

SCHEMA_KEYWORDS_SINGLE = ("items", "additionalProperties", "not", "if", "then", "else",
                          "contains", "propertyNames")
SCHEMA_KEYWORDS_MAP = ("properties", "definitions", "patternProperties")
SCHEMA_KEYWORDS_LIST = ("allOf", "anyOf", "oneOf")


def _schema_files() -> list[Path]:
    return sorted(
        p for p in SCHEMAS.rglob("*.json")
        if p.relative_to(SCHEMAS).parts[0] not in EXCLUDED_DIRS
    )


FILES = _schema_files()
DOCS: dict[str, dict[str, Any]] = {}
for _path in FILES:
    _doc = json.loads(_path.read_text(encoding="utf-8"))
    DOCS[_doc.get("$id", str(_path))] = _doc
REGISTRY: Registry = Registry().with_resources(
    (sid, Resource.from_contents(doc, default_specification=DRAFT7)) for sid, doc in DOCS.items()
)


def name_of(path: Path) -> str:
    return path.relative_to(SCHEMAS).with_suffix("").as_posix()


def load(name: str) -> dict[str, Any]:
    return DOCS[BASE + name + ".json"]


def validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        load(name), registry=REGISTRY, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def subschemas(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object reachable without following $ref, with its JSON pointer."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key in SCHEMA_KEYWORDS_SINGLE:
        if isinstance(node.get(key), dict):
            yield from subschemas(node[key], f"{path}/{key}")
    for key in SCHEMA_KEYWORDS_MAP:
        for sub, value in (node.get(key) or {}).items():
            yield from subschemas(value, f"{path}/{key}/{sub}")
    for key in SCHEMA_KEYWORDS_LIST:
        for i, value in enumerate(node.get(key) or []):
            yield from subschemas(value, f"{path}/{key}/{i}")


def json_pointer(doc: Any, fragment: str) -> Any:
    node = doc
    for part in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


ids = [name_of(p) for p in FILES]


def test_schema_folder_is_populated() -> None:
    expected = {
        "openai-chat/request", "openai-chat/response", "openai-chat/chunk", "openai-chat/error",
        "openai-chat/models", "anthropic-messages/request", "anthropic-messages/response",
        "anthropic-messages/error", "anthropic-messages/stream-event",
        "wavespeed-v3/image-input", "wavespeed-v3/video-input", "wavespeed-v3/prediction",
        "wavespeed-v3/prediction-response", "wavespeed-v3/error-response",
        "wavespeed-v3/upload-request", "wavespeed-v3/upload-response",
        "fal-queue/mini-cpm-input", "fal-queue/mini-cpm-video-input", "fal-queue/output",
        "fal-queue/submit-response", "fal-queue/status-response", "fal-queue/cancel-response",
        "fal-queue/error", "fal-queue/storage-token", "fal-queue/cdn-upload-response",
        "minicpm-o-realtime/earlier/client-event", "minicpm-o-realtime/earlier/server-event",
        "minicpm-o-realtime/current/client-event", "minicpm-o-realtime/current/server-event",
    }
    assert expected <= set(ids)


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_meta_and_header(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(doc)
    assert doc["$schema"] == DRAFT7_URI
    assert doc["$id"] == BASE + name_of(path) + ".json"
    assert isinstance(doc.get("title"), str) and doc["title"].strip()
    assert isinstance(doc.get("description"), str) and doc["description"].strip()
    assert isinstance(doc.get("x-source"), dict) and doc["x-source"].get("document")


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_common_subset_only(path: Path) -> None:
    doc = DOCS[BASE + name_of(path) + ".json"]
    for pointer, node in subschemas(doc):
        assert not FORBIDDEN & set(node), f"{pointer}: {sorted(FORBIDDEN & set(node))}"
        assert not isinstance(node.get("items"), list), f"{pointer}: tuple-form items"
        assert "$id" not in node or pointer == "#", f"{pointer}: nested $id"
        if "format" in node:
            assert node["format"] in ALLOWED_FORMATS, f"{pointer}: format {node['format']}"
        if "$ref" in node:
            extra = set(node) - {"$ref"} - REF_SIBLINGS
            assert not extra, f"{pointer}: validation keywords beside $ref: {sorted(extra)}"
        if "pattern" in node:
            pattern = node["pattern"]
            re.compile(pattern)
            bad = [tok for tok in NON_PORTABLE_REGEX if tok in pattern]
            assert not bad, f"{pointer}: non-portable regex syntax {bad} in {pattern!r}"
        for key in ("required", "enum"):
            if key in node:
                assert node[key], f"{pointer}: empty {key}"
        if "required" in node:
            assert len(set(node["required"])) == len(node["required"]), pointer


def test_patterns_compile_as_ecma262() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; ECMA-262 regex check skipped")
    patterns = sorted({
        n["pattern"] for d in DOCS.values() for _, n in subschemas(d) if "pattern" in n
    })
    script = (
        "const ps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const bad = [];"
        "for (const p of ps) { for (const f of ['', 'u']) {"
        " try { new RegExp(p, f); } catch (e) { bad.push([p, f, String(e)]); } } }"
        "console.log(JSON.stringify(bad));"
    )
    out = subprocess.run([node, "-e", script], input=json.dumps(patterns), text=True,
                         capture_output=True, timeout=30, check=True)
    assert json.loads(out.stdout) == []


def _sources(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for pointer, node in subschemas(doc):
        if "x-source" in node:
            yield pointer, node["x-source"]


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_x_source_points_into_the_reference(path: Path) -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference documents not present at {REFERENCE}")
    doc = DOCS[BASE + name_of(path) + ".json"]
    for pointer, source in _sources(doc):
        if source["document"].startswith("github.com/"):
            # A server that publishes no API document but its code (the local flavours): the
            # citation is that code, pinned to a tag or commit, not a copy in the reference.
            assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+/blob/[^/]+/.+", source["url"]), pointer
            assert source["section"], pointer
            continue
        assert set(source) <= {"document", "section"}, pointer
        target = REFERENCE / source["document"]
        assert target.is_file(), f"{pointer}: {source['document']} does not exist"
        section = source.get("section", "")
        if not section:
            continue
        if target.suffix == ".json":
            assert section.startswith("#/"), f"{pointer}: JSON section must be a pointer"
            json_pointer(json.loads(target.read_text(encoding="utf-8")), section[1:])
        else:
            text = target.read_text(encoding="utf-8")
            assert section in text, f"{pointer}: section {section!r} not in {source['document']}"


def _check_refs(node: Any, base: str, stack: tuple[str, ...], done: set[str]) -> None:
    """Resolve every $ref reachable from node, failing on a cycle."""
    for pointer, sub in subschemas(node):
        if "$ref" not in sub:
            continue
        ref = sub["$ref"]
        assert ref.startswith("#") or "://" not in ref, f"{base}{pointer}: absolute $ref {ref}"
        resolved = REGISTRY.resolver(base_uri=base).lookup(ref)  # raises when unresolvable
        url, fragment = urldefrag(urljoin(base, ref))
        key = f"{url}#{fragment}"
        assert key not in stack, f"recursive $ref: {' -> '.join((*stack, key))}"
        if key in done:
            continue
        assert url in DOCS, f"{base}{pointer}: $ref {ref} leaves the schema set"
        assert resolved.contents == json_pointer(DOCS[url], fragment)
        _check_refs(resolved.contents, url, (*stack, key), done)
        done.add(key)


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_refs_resolve_without_recursion(path: Path) -> None:
    sid = BASE + name_of(path) + ".json"
    _check_refs(DOCS[sid], sid, (sid + "#",), set())


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_embedded_examples_are_valid(path: Path) -> None:
    name = name_of(path)
    v = validator(name)
    for pointer, node in subschemas(load(name)):
        if pointer == "#":
            for example in node.get("examples", []):
                assert not list(v.iter_errors(example)), f"{name}: examples {example!r}"


# --------------------------------------------------------------------------- examples
PNG_DATA_URL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBg"
                "AAAABQABh6FO1AAAAABJRU5ErkJggg==")
IMG_URL = "https://example-files.cnbj1.mi-fds.com/example-files/image/image_example.png"
B64 = "AAAAAAAAgD8="

VALID: dict[str, list[Any]] = {
    "openai-chat/request": [
        {"model": "MiniCPM-V-4.6-Instruct",
         "messages": [{"role": "user", "content": "Introduce yourself in one sentence."}]},
        {"model": "mimo-v2-omni", "max_completion_tokens": 1024, "temperature": 0.7,
         "top_p": 0.9, "seed": 7, "stop": ["\n\n"], "n": 1, "stream": True,
         "stream_options": {"include_usage": True},
         "messages": [
             {"role": "system", "content": "You are MiMo."},
             {"role": "user", "content": [
                 {"type": "image_url", "image_url": {"url": IMG_URL, "detail": "low"}},
                 {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                 {"type": "video_url", "video_url": {"url": "https://example.com/a.mp4",
                                                     "fps": 2, "media_resolution": "default"}},
                 {"type": "text", "text": "please describe the connections"}]},
             {"role": "assistant", "content": "Two pictures."},
             {"role": "user", "content": "More detail", "name": "u1"}]},
    ],
    "anthropic-messages/request": [
        {"model": "mimo-v2-omni", "max_tokens": 1024, "system": "You are MiMo.",
         "messages": [{"role": "user", "content": [
             {"type": "image", "source": {"type": "url", "url": IMG_URL}},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                          "data": PNG_DATA_URL.split(",", 1)[1]}},
             {"type": "text", "text": "please describe the content of the image"}]}]},
        {"model": "m", "max_tokens": 1, "stream": True, "temperature": 1, "top_k": 5,
         "top_p": 0.5, "stop_sequences": ["END"], "metadata": {"user_id": "u"},
         "system": [{"type": "text", "text": "sys"}],
         "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    ],
    "wavespeed-v3/image-input": [
        {"image": IMG_URL},
        {"image": PNG_DATA_URL, "preset_prompt": "caption", "custom_prompt": "Describe it.",
         "seed": -1, "enable_sync_mode": True},
        {"image": IMG_URL, "seed": 2147483647, "enable_sync_mode": False},
    ],
    "wavespeed-v3/video-input": [
        {"video": "https://example.com/v.mp4", "preset_prompt": "describe", "seed": 0,
         "enable_sync_mode": False},
    ],
    "wavespeed-v3/upload-request": [
        {"filename": "a.png", "size": 67, "content_type": "image/png"},
    ],
    "fal-queue/mini-cpm-input": [
        {"image_urls": ["https://llava-vl.github.io/static/images/monalisa.jpg", PNG_DATA_URL],
         "prompt": "Who is she? Who drew this?"},
    ],
    "fal-queue/mini-cpm-video-input": [
        {"video_url": "https://storage.googleapis.com/falserverless/model_tests/musepose/dance.mp4",
         "prompt": "What is she doing?"},
    ],
    "minicpm-o-realtime/earlier/client-event": [
        {"type": "session.update", "session": {"instructions": "Be brief.", "max_slice_nums": 1,
                                               "ref_audio": B64}},
        {"type": "input_audio_buffer.append", "audio": B64, "video_frames": [B64] * 4,
         "force_listen": False, "max_slice_nums": 9},
        {"type": "session.close", "reason": "user_stop"},
    ],
    "minicpm-o-realtime/current/client-event": [
        {"type": "session.init", "payload": {"system_prompt": "Be brief.",
                                             "config": {"length_penalty": 1.1},
                                             "voice": {"ref_audio_base64": B64,
                                                       "tts_ref_audio_base64": B64}}},
        {"type": "input.append", "input": {"audio": B64, "video_frames": [B64],
                                           "force_listen": True, "hints": {"max_slice_nums": 2}}},
        {"type": "input.append", "input": {
            "messages": [{"type": "text", "text": "What is this?"}, {"type": "image", "data": B64}],
            "streaming": True, "generation": {"max_new_tokens": 256, "length_penalty": 1.1},
            "image": {"max_slice_nums": 4}, "omni_mode": False,
            "tts": {"enabled": True, "ref_audio_data": B64}, "use_tts_template": True,
            "enable_thinking": False}},
        {"type": "input.append", "input": {"messages": "hello"}},
        {"type": "session.close"},
    ],
}

Mutation = Callable[[Any], None]


def _del(*path: Any) -> Mutation:
    def run(doc: Any) -> None:
        node = doc
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return run


def _set(value: Any, *path: Any) -> Mutation:
    def run(doc: Any) -> None:
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return run


# (schema, index into VALID, mutation id, mutation): every mutated instance must be invalid.
MUTATIONS: list[tuple[str, int, str, Mutation]] = [
    ("openai-chat/request", 0, "missing model", _del("model")),
    ("openai-chat/request", 0, "missing messages", _del("messages")),
    ("openai-chat/request", 0, "empty messages", _set([], "messages")),
    ("openai-chat/request", 0, "tool role", _set("tool", "messages", 0, "role")),
    ("openai-chat/request", 0, "content wrong type", _set(42, "messages", 0, "content")),
    ("openai-chat/request", 0, "max_tokens 0", _set(0, "max_tokens")),
    ("openai-chat/request", 0, "max_completion_tokens str", _set("9", "max_completion_tokens")),
    ("openai-chat/request", 0, "temperature > 2", _set(2.5, "temperature")),
    ("openai-chat/request", 0, "top_p > 1", _set(1.5, "top_p")),
    ("openai-chat/request", 0, "seed float", _set(1.5, "seed")),
    ("openai-chat/request", 0, "five stops", _set(["a", "b", "c", "d", "e"], "stop")),
    ("openai-chat/request", 0, "n 0", _set(0, "n")),
    ("openai-chat/request", 0, "stream str", _set("yes", "stream")),
    ("openai-chat/request", 1, "detail unknown", _set("ultra", "messages", 1, "content", 0,
                                                      "image_url", "detail")),
    ("openai-chat/request", 1, "image url ftp", _set("ftp://x/y.png", "messages", 1, "content", 0,
                                                     "image_url", "url")),
    ("openai-chat/request", 1, "image_url missing url", _del("messages", 1, "content", 0,
                                                             "image_url", "url")),
    ("openai-chat/request", 1, "fps 0", _set(0, "messages", 1, "content", 2, "video_url", "fps")),
    ("openai-chat/request", 1, "unknown part type", _set("audio", "messages", 1, "content", 3,
                                                         "type")),
    ("openai-chat/request", 1, "image in system", _set([{"type": "image_url",
                                                         "image_url": {"url": IMG_URL}}],
                                                       "messages", 0, "content")),
    ("openai-chat/request", 1, "include_usage str", _set("1", "stream_options", "include_usage")),
    ("anthropic-messages/request", 0, "missing max_tokens", _del("max_tokens")),
    ("anthropic-messages/request", 0, "missing model", _del("model")),
    ("anthropic-messages/request", 0, "max_tokens 0", _set(0, "max_tokens")),
    ("anthropic-messages/request", 0, "system role", _set("system", "messages", 0, "role")),
    ("anthropic-messages/request", 0, "media_type bmp", _set("image/bmp", "messages", 0,
                                                             "content", 1, "source", "media_type")),
    ("anthropic-messages/request", 0, "data url in base64 data", _set(PNG_DATA_URL, "messages", 0,
                                                                      "content", 1, "source", "data")),
    ("anthropic-messages/request", 0, "source type file", _set("file", "messages", 0, "content",
                                                               0, "source", "type")),
    ("anthropic-messages/request", 1, "temperature > 1", _set(1.5, "temperature")),
    ("anthropic-messages/request", 1, "system int", _set(3, "system")),
    ("anthropic-messages/request", 1, "image from assistant", _set(
        [{"type": "image", "source": {"type": "url", "url": IMG_URL}}], "messages", 1, "content")),
    ("wavespeed-v3/image-input", 1, "missing image", _del("image")),
    ("wavespeed-v3/image-input", 1, "unknown field", _set(1, "prompt")),
    ("wavespeed-v3/image-input", 1, "seed below -1", _set(-2, "seed")),
    ("wavespeed-v3/image-input", 1, "seed above int32", _set(2147483648, "seed")),
    ("wavespeed-v3/image-input", 1, "seed str", _set("-1", "seed")),
    ("wavespeed-v3/image-input", 1, "preset unknown", _set("summarize", "preset_prompt")),
    ("wavespeed-v3/image-input", 1, "sync mode str", _set("true", "enable_sync_mode")),
    ("wavespeed-v3/image-input", 1, "image wrong type", _set(["x"], "image")),
    ("wavespeed-v3/video-input", 0, "missing video", _del("video")),
    ("wavespeed-v3/video-input", 0, "image field", _set(IMG_URL, "image")),
    ("wavespeed-v3/video-input", 0, "seed out of range", _set(-5, "seed")),
    ("wavespeed-v3/upload-request", 0, "missing size", _del("size")),
    ("wavespeed-v3/upload-request", 0, "negative size", _set(-1, "size")),
    ("fal-queue/mini-cpm-input", 0, "missing prompt", _del("prompt")),
    ("fal-queue/mini-cpm-input", 0, "missing image_urls", _del("image_urls")),
    ("fal-queue/mini-cpm-input", 0, "empty image_urls", _set([], "image_urls")),
    ("fal-queue/mini-cpm-input", 0, "image_urls str", _set(IMG_URL, "image_urls")),
    ("fal-queue/mini-cpm-input", 0, "unknown field", _set(1, "seed")),
    ("fal-queue/mini-cpm-video-input", 0, "missing video_url", _del("video_url")),
    ("fal-queue/mini-cpm-video-input", 0, "image_urls instead", _set([IMG_URL], "image_urls")),
    ("minicpm-o-realtime/earlier/client-event", 0, "empty instructions",
     _set("", "session", "instructions")),
    ("minicpm-o-realtime/earlier/client-event", 0, "unknown session field",
     _set("x", "session", "voice")),
    ("minicpm-o-realtime/earlier/client-event", 1, "five frames", _set([B64] * 5, "video_frames")),
    ("minicpm-o-realtime/earlier/client-event", 1, "slices 10", _set(10, "max_slice_nums")),
    ("minicpm-o-realtime/earlier/client-event", 1, "missing audio", _del("audio")),
    ("minicpm-o-realtime/earlier/client-event", 1, "audio not base64", _set("a b", "audio")),
    ("minicpm-o-realtime/earlier/client-event", 2, "unknown type", _set("session.end", "type")),
    ("minicpm-o-realtime/current/client-event", 0, "missing payload", _del("payload")),
    ("minicpm-o-realtime/current/client-event", 1, "no audio nor messages", _del("input", "audio")),
    ("minicpm-o-realtime/current/client-event", 1, "slices 0", _set(0, "input", "hints",
                                                                   "max_slice_nums")),
    ("minicpm-o-realtime/current/client-event", 2, "part type video", _set("video", "input",
                                                                          "messages", 1, "type")),
    ("minicpm-o-realtime/current/client-event", 2, "max_new_tokens 0", _set(0, "input",
                                                                           "generation",
                                                                           "max_new_tokens")),
    ("minicpm-o-realtime/current/client-event", 2, "streaming str", _set("no", "input",
                                                                        "streaming")),
    ("minicpm-o-realtime/current/client-event", 4, "earlier event name",
     _set("input_audio_buffer.append", "type")),
]


@pytest.mark.parametrize(
    ("name", "example"),
    [(n, e) for n, exs in VALID.items() for e in exs],
    ids=[f"{n}[{i}]" for n, exs in VALID.items() for i in range(len(exs))],
)
def test_valid_request_examples(name: str, example: Any) -> None:
    errors = [e.message for e in validator(name).iter_errors(example)]
    assert not errors


@pytest.mark.parametrize(("name", "index", "label", "mutate"), MUTATIONS,
                         ids=[f"{m[0]}:{m[2]}" for m in MUTATIONS])
def test_mutations_are_rejected(name: str, index: int, label: str, mutate: Mutation) -> None:
    """Each mutation is refused; one past an advisory limit (x-advisory: no document states
    it) only by the strict schema, the lenient one accepts it."""
    instance = copy.deepcopy(VALID[name][index])
    mutate(instance)
    strict = jsonschema.Draft7Validator(with_advisories(resolved(name)),
                                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert not strict.is_valid(instance), label
    assert validator(name).is_valid(instance) is (label in ADVISORY), label


# Mutations past limits that no document states (lint's `limits` rule lists them).
ADVISORY = {"temperature > 2", "top_p > 1", "five stops", "detail unknown", "media_type bmp",
            "temperature > 1", "unknown field", "image field", "image_urls instead"}


# --------------------------------------------- response / event / documented-invalid cases
CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                      "finish_reason": None}]}
PREDICTION = {"id": "p1", "model": "wavespeed-ai/minicpm-v/image", "outputs": [],
              "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/p1/result"},
              "has_nsfw_contents": [], "status": "created",
              "created_at": "2023-04-01T12:34:56.789Z", "error": "", "timings": {"inference": 0}}
CASES: list[tuple[str, Any, bool]] = [
    ("openai-chat/response", {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": "Hi",
                                                       "reasoning_content": "hmm"}}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                        "total_tokens": 2}}, True),
    ("openai-chat/response", {"id": "x", "object": "chat.completion.chunk", "created": 1,
                              "model": "m", "choices": []}, False),
    ("openai-chat/chunk", CHUNK, True),
    ("openai-chat/chunk", {**CHUNK, "choices": [], "usage": {"prompt_tokens": 1,
                                                             "completion_tokens": 2,
                                                             "total_tokens": 3}}, True),
    ("openai-chat/chunk", {**CHUNK, "choices": []}, False),
    ("openai-chat/chunk", {**CHUNK, "choices": [], "usage": None}, False),
    ("openai-chat/chunk", {**CHUNK, "choices": [{"index": 0, "delta": {},
                                                 "finish_reason": "eos"}]}, False),
    ("openai-chat/error", {"error": {"message": "m", "type": "invalid_request_error",
                                     "param": None, "code": None}}, True),
    ("openai-chat/error", {"error": {"message": "m"}}, False),
    ("openai-chat/models", {"object": "list", "data": [{"id": "m", "object": "model"}]}, True),
    ("anthropic-messages/response", {"id": "msg_1", "type": "message", "role": "assistant",
                                     "model": "m", "content": [{"type": "text", "text": "Hi"}],
                                     "stop_reason": "end_turn", "stop_sequence": None,
                                     "usage": {"input_tokens": 1, "output_tokens": 1}}, True),
    ("anthropic-messages/error", {"type": "error", "error": {"type": "overloaded_error",
                                                            "message": "busy"},
                                  "request_id": "req_1"}, True),
    ("anthropic-messages/error", {"type": "error", "error": {"type": "teapot_error",
                                                            "message": "x"}}, False),
    ("anthropic-messages/stream-event", {"type": "ping"}, True),
    ("anthropic-messages/stream-event", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": "Hi"}}, True),
    ("anthropic-messages/stream-event", {"type": "message_delta",
                                         "delta": {"stop_reason": "end_turn",
                                                   "stop_sequence": None},
                                         "usage": {"output_tokens": 5}}, True),
    ("anthropic-messages/stream-event", {"type": "message_delta",
                                         "delta": {"stop_reason": "end_turn"}, "usage": {}},
     False),
    ("anthropic-messages/stream-event", {"type": "error", "error": {"type": "overloaded_error",
                                                                   "message": "Overloaded"}},
     True),
    ("anthropic-messages/stream-event", {"type": "done"}, False),
    ("wavespeed-v3/prediction-response", {"code": 200, "message": "success",
                                          "data": PREDICTION}, True),
    ("wavespeed-v3/prediction-response", {"code": 200, "message": "success", "data": None}, False),
    ("wavespeed-v3/prediction-response", {"code": 200, "message": "success",
                                          "data": {**PREDICTION, "status": "queued"}}, False),
    ("wavespeed-v3/error-response", {"code": 401, "message": "Unauthorized", "data": None}, True),
    ("wavespeed-v3/error-response", {"code": 200, "message": "ok"}, False),
    ("wavespeed-v3/upload-response", {"code": 200, "message": "success", "data": {
        "upload": {"method": "PUT", "url": "http://127.0.0.1:9/u", "headers": {}},
        "download_url": "http://127.0.0.1:9/d"}}, True),
    ("fal-queue/submit-response", {"request_id": "764cabcf-b745-4b3e-ae38-1200304cf45b",
                                   "status_url": "http://127.0.0.1:8000/fal-ai/mini-cpm/requests/1/status",
                                   "response_url": "http://127.0.0.1:8000/fal-ai/mini-cpm/requests/1",
                                   "cancel_url": "http://127.0.0.1:8000/fal-ai/mini-cpm/requests/1/cancel"},
     True),
    ("fal-queue/submit-response", {"request_id": "1"}, False),
    ("fal-queue/status-response", {"status": "IN_QUEUE", "queue_position": 0}, True),
    ("fal-queue/status-response", {"status": "IN_QUEUE"}, False),
    ("fal-queue/status-response", {"status": "IN_PROGRESS", "logs": None}, True),
    ("fal-queue/status-response", {"status": "IN_PROGRESS"}, False),
    ("fal-queue/status-response", {"status": "COMPLETED", "logs": [{"message": "done"}],
                                   "metrics": {"inference_time": 1.2}}, True),
    ("fal-queue/status-response", {"status": "COMPLETED"}, False),
    ("fal-queue/status-response", {"status": "FAILED", "logs": None}, False),
    ("fal-queue/cancel-response", {"status": "CANCELLATION_REQUESTED"}, True),
    ("fal-queue/error", {"detail": [{"loc": ["body", "prompt"], "msg": "field required",
                                     "type": "value_error.missing"}]}, True),
    ("fal-queue/error", {"detail": "Not found", "error_type": "not_found"}, True),
    ("fal-queue/error", {"message": "x"}, False),
    ("minicpm-o-realtime/earlier/server-event", {"type": "response.output_audio.delta",
                                                 "text": "hi", "audio": B64,
                                                 "end_of_turn": False,
                                                 "kv_cache_length": 10}, True),
    ("minicpm-o-realtime/earlier/server-event", {"type": "session.created", "session_id": "rt_1",
                                                 "extra": 1}, False),
    ("minicpm-o-realtime/earlier/server-event", {"type": "session.closed", "reason": "bye"}, False),
    ("minicpm-o-realtime/current/server-event", {"type": "response.output.delta", "kind": "text",
                                                 "text": "hi", "response_id": "r1",
                                                 "session_id": "s1"}, True),
    ("minicpm-o-realtime/current/server-event", {"type": "response.output.delta",
                                                 "kind": "text"}, False),
    ("minicpm-o-realtime/current/server-event", {"type": "response.output.delta",
                                                 "kind": "audio", "text": "x"}, False),
    ("minicpm-o-realtime/current/server-event", {"type": "response.output.delta",
                                                 "kind": "listen"}, True),
    ("minicpm-o-realtime/current/server-event", {"type": "error", "error": {
        "code": "queue_full", "message": "full", "type": "server_error"}}, True),
    ("minicpm-o-realtime/current/server-event", {"type": "error", "error": {
        "code": "rate_limited", "message": "x", "type": "server_error"}}, False),
    ("minicpm-o-realtime/current/server-event", {"type": "session.closed",
                                                 "reason": "context_full"}, True),
    ("minicpm-o-realtime/current/server-event", {"type": "session.queue_done"}, True),
    # The documents' own examples that break their documented contract (FINDINGS-NOTES.md).
    ("wavespeed-v3/image-input", {"preset_prompt": "describe", "seed": -1,
                                  "enable_sync_mode": True}, False),
    ("openai-chat/request", {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe this image."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,<BASE64_IMAGE>"}}]}]},
     False),
    ("openai-chat/request", {"model": "mimo-v2-omni", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:{MIME_TYPE};base64,$BASE64_IMAGE"}}]}]},
     False),
    ("anthropic-messages/request", {"model": "mimo-v2-omni", "max_tokens": 1024, "messages": [
        {"role": "user", "content": [{"type": "image", "source": {
            "type": "base64", "media_type": "{MIME_TYPE}", "data": "$BASE64_IMAGE"}}]}]}, False),
]


@pytest.mark.parametrize(("name", "instance", "ok"), CASES,
                         ids=[f"{c[0]}#{i}-{'ok' if c[2] else 'bad'}" for i, c in enumerate(CASES)])
def test_response_and_documented_cases(name: str, instance: Any, ok: bool) -> None:
    assert validator(name).is_valid(instance) is ok, [
        e.message for e in validator(name).iter_errors(instance)]


def test_earlier_revision_matches_shipped_schema() -> None:
    """The per-event files keep the shipped earlier-revision constraints exactly."""
    shipped_path = REFERENCE / "minicpm-o-realtime" / "realtime-protocol-schema.json"
    if not shipped_path.is_file():
        pytest.skip(f"reference documents not present at {REFERENCE}")
    shipped = json.loads(shipped_path.read_text(encoding="utf-8"))["definitions"]

    def unref(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (v.replace("common.json#", "#") if k == "$ref" else unref(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [unref(v) for v in node]
        return node

    header = {"$schema", "$id", "title", "description", "x-source"}
    for side in ("client", "server"):
        for name, body in shipped[side].items():
            ours = load(f"minicpm-o-realtime/earlier/{name}")
            assert unref({k: v for k, v in ours.items() if k not in header}) == body, name
        refs = [r["$ref"] for r in load(f"minicpm-o-realtime/earlier/{side}-event")["oneOf"]]
        assert refs == [r["$ref"].rsplit("/", 1)[1] + ".json"
                        for r in shipped[f"{side}_event"]["oneOf"]]
    common = load("minicpm-o-realtime/earlier/common")["definitions"]
    assert common == {k: shipped[k] for k in ("base64_string", "error_object")}
