"""The mock's upstream journal: what it received and answered, bounded, readable over HTTP."""

from __future__ import annotations

import httpx
import pytest

from harness import journal
from harness.errors import UsageError
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.journal_store import Journal
from harness.mock.transport import SyncASGITransport

CHAT = "/modelbest/v1/chat/completions"
MESSAGES = "/mimo/anthropic/v1/messages"
BEARER = {"authorization": f"Bearer {MOCK_KEY}"}


def _client(config: MockConfig | None = None) -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(build_app(config)), base_url="http://mock.invalid")


def _chat(**extra: object) -> dict[str, object]:
    return {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": "hi"}],
            **extra}


def test_a_streamed_answer_is_journaled_with_params_text_stop_and_usage() -> None:
    with _client() as c:
        answer = c.post(CHAT, headers={**BEARER, journal.CORRELATION_HEADER: "c1"}, json=_chat(
            max_tokens=5, stop=["zz"], temperature=0.5, top_p=0.9, seed=4, stream=True,
            stream_options={"include_usage": True}))
        got = c.get("/_harness/journal").json()
    mine = journal.answer_facts(200, answer.headers["content-type"], answer.content)
    (entry,) = [journal.Entry.from_dict(e) for e in got["entries"]]
    assert (entry.provider, entry.api, entry.correlation, entry.status) == (
        "modelbest", "openai-chat", "c1", 200)
    assert dict(entry.request.params) == {
        "model": "MiniCPM-V-4.6-Instruct", "max_tokens": 5, "stop": ["zz"], "temperature": 0.5,
        "top_p": 0.9, "seed": 4, "stream": True, "stream_options": {"include_usage": True}}
    assert entry.answer == mine and mine.complete and mine.usage["output"] == 5
    assert entry.key == journal.key_digest(MOCK_KEY) and entry.key_accepted
    assert entry.headers["authorization"] == "<REDACTED>"
    assert MOCK_KEY not in str(got)


def test_a_refused_request_is_journaled_with_its_body_facts_and_the_wrong_key_named() -> None:
    with _client() as c:
        c.post(MESSAGES, headers={"x-api-key": "not-the-key-123"}, json={
            "model": "mimo-v2-omni", "max_tokens": 5, "messages": [{"role": "user", "content": "yo"}]})
        (raw,) = c.get("/_harness/journal").json()["entries"]
    entry = journal.Entry.from_dict(raw)
    assert (entry.status, entry.api, entry.key_header, entry.key_accepted) == (
        401, "anthropic-messages", "x-api-key", False)
    assert entry.key == journal.key_digest("not-the-key-123") and entry.request.texts == ("yo",)
    assert entry.answer.error == "authentication_error"


@pytest.mark.parametrize("first, second, status", [
    (MOCK_KEY, "not-the-key-123", 200), ("not-the-key-123", MOCK_KEY, 401)])
def test_a_repeated_key_header_is_read_as_the_mock_read_it(first: str, second: str,
                                                            status: int) -> None:
    # Two Authorization headers: the mock authenticates with the first, and the journal must
    # name that one (it named the last, from a dict of the head, before the two shared a reader).
    with _client() as c:
        answer = c.post(CHAT, headers=[("authorization", f"Bearer {first}"),
                                       ("authorization", f"Bearer {second}")], json=_chat())
        (raw,) = c.get("/_harness/journal").json()["entries"]
    entry = journal.Entry.from_dict(raw)
    assert answer.status_code == entry.status == status
    assert entry.key == journal.key_digest(first) and entry.key_accepted is (status == 200)


def test_since_and_clear_read_a_run_in_pieces() -> None:
    with _client() as c:
        c.post(CHAT, headers=BEARER, json=_chat())
        first = c.get("/_harness/journal").json()
        c.post(CHAT, headers=BEARER, json=_chat())
        later = c.get("/_harness/journal", params={"since": first["next"]}).json()
        assert [e["seq"] for e in later["entries"]] == [first["next"] + 1]
        assert later["run"] == first["run"] and later["in_flight"] == 0
        assert c.delete("/_harness/journal").json()["cleared"] == 2
        assert c.get("/_harness/journal").json()["entries"] == []
        assert c.get("/_harness/journal", params={"since": "x"}).status_code == 400
    with _client() as other:  # a new mock is a new run: a reader never mixes two
        assert other.get("/_harness/journal").json()["run"] != first["run"]


def test_the_journal_is_bounded_in_entries_and_in_bytes() -> None:
    small = Journal(max_entries=3, max_bytes=10**6)
    for i in range(5):
        small.append(journal.Entry(seq=small.next_seq(), at=0.0, method="GET", path=f"/{i}"))
    assert [e.path for e in small.entries()] == ["/2", "/3", "/4"] and small.dropped == 2
    tight = Journal(max_entries=100, max_bytes=2000)
    for _ in range(10):
        tight.append(journal.Entry(seq=tight.next_seq(), at=0.0, method="GET", path="/x" * 100))
    snap = tight.snapshot()
    assert snap["bytes"] <= 2000 and 0 < len(snap["entries"]) < 10 and snap["dropped"] > 0
    with pytest.raises(UsageError):
        Journal(0, 10)
    with _client(MockConfig(journal_max_entries=2)) as c:
        for _ in range(3):
            c.post(CHAT, headers=BEARER, json=_chat())
        assert len(c.get("/_harness/journal").json()["entries"]) == 2


def test_a_runtime_fault_applies_until_cleared_and_is_journaled() -> None:
    with _client() as c:
        assert c.put("/_harness/fault", content="status=429,retry-after=2").json() == {
            "fault": "status=429,retry-after=2"}
        refused = c.post(CHAT, headers=BEARER, json=_chat())
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "2")
        assert c.put("/_harness/fault", content="nonsense=1").status_code == 400
        c.delete("/_harness/fault")
        assert c.post(CHAT, headers=BEARER, json=_chat()).status_code == 200
        entries = c.get("/_harness/journal").json()["entries"]
    assert [(e["status"], e["fault"]) for e in entries] == [(429, "status=429,retry-after=2"),
                                                           (200, "")]


@pytest.mark.parametrize(("path", "headers", "part"), [
    (CHAT, BEARER, lambda url: {"type": "image_url", "image_url": {"url": url}}),
    (MESSAGES, {"x-api-key": MOCK_KEY}, lambda url: {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": url.split(",", 1)[1]}}),
])
def test_the_journal_takes_the_handlers_decoding_of_the_media(monkeypatch: pytest.MonkeyPatch,
                                                              path: str, headers: dict[str, str],
                                                              part: object) -> None:
    """A large request's medium is decoded and hashed once (the handler notes its digest for
    the journal, which sums the request up at once); a small request's entry is made when the
    journal is read, from its bytes. Both digests are the ones a gateway check compares."""
    from harness import media
    from harness.mock.journaling import DEFER_MAX
    from harness.strategies.media import of_size

    url = media.data_url(of_size("png", DEFER_MAX), "image/png")
    model = "mimo-v2-omni" if path == MESSAGES else "MiniCPM-V-4.6-Instruct"
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": [
        part(url), {"type": "text", "text": "what?"}]}]}  # type: ignore[operator]
    parsed: list[str] = []
    real = media.parse
    monkeypatch.setattr(media, "parse", lambda v, *rest: parsed.append(v) or real(v, *rest))
    with _client() as c:
        assert c.post(path, headers=headers, json=body).status_code == 200
        (raw,) = c.get("/_harness/journal").json()["entries"]
        assert len(parsed) == 1
        small = {**body, "messages": [{"role": "user", "content": [
            part(media.data_url(of_size("png", 1000), "image/png"))]}]}  # type: ignore[operator]
        assert c.post(path, headers=headers, json=small).status_code == 200
        assert len(parsed) == 2  # served: decoded once
        entries = c.get("/_harness/journal").json()["entries"]
        assert len(parsed) == 3  # read: made from the request's bytes
    assert journal.Entry.from_dict(raw).request.media == (journal.media_digest(url),)
    assert journal.Entry.from_dict(entries[-1]).request.media == (
        journal.media_digest(media.data_url(of_size("png", 1000), "image/png")),)


@pytest.mark.parametrize("size", [200, 70_000, 150_000, 300_000])
def test_the_body_digest_is_of_the_bytes_received_whatever_the_size(
        monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """A small body is hashed when its deferred entry is made, a larger one when its entry is
    first read, and one past the cap (here 200 kB) as its chunks pass, its parts not kept;
    each names the bytes."""
    import hashlib
    import json

    from harness.mock import journaling

    monkeypatch.setattr(journaling, "BODY_CAP", 200_000)
    raw = json.dumps(_chat(user="x" * size)).encode()
    with _client() as c:
        got = c.post(CHAT, headers={**BEARER, "content-type": "application/json"}, content=raw)
        assert got.status_code == 200
        (entry,) = c.get("/_harness/journal").json()["entries"]
    assert entry["body_sha256"] == hashlib.sha256(raw).hexdigest()
    assert entry["body_bytes"] == len(raw)
    assert entry["status"] == 200


@pytest.mark.parametrize("size", [200, 70_000])
def test_an_entry_made_late_or_at_once_tells_the_exchange_exactly(size: int) -> None:
    """A small request's facts are kept packed until the journal is read, a larger one's are
    summed up at once: either way the entry gives back the head byte for byte (a value that is
    not UTF-8, one holding ': ' and CRLF-free punctuation), a path outside ASCII, the answer's
    status, content type and text, and times in order."""
    import hashlib

    import orjson

    raw = orjson.dumps(_chat(user="x" * size))
    odd = {b"x-odd": b"caf\xe9: \x7f", b"x-empty": b""}
    path = "/modelbest/v1/chat/caf%C3%A9"  # a 404, journaled like any answer
    with _client() as c:
        ok = c.post(CHAT, content=raw, headers={**odd, b"content-type": b"application/json",
                                                b"authorization": f"Bearer {MOCK_KEY}".encode()})
        missing = c.post(path, headers={**BEARER, "content-type": "application/json"}, content=raw)
        entries = [journal.Entry.from_dict(e) for e in c.get("/_harness/journal").json()["entries"]]
    assert (ok.status_code, missing.status_code) == (200, 404)
    first, second = entries
    assert {k.decode(): first.headers[k.decode()] for k in odd} == {
        k.decode(): v.decode("latin-1") for k, v in odd.items()}
    assert first.headers["authorization"] != BEARER["authorization"]  # redacted, as ever
    assert (first.path, second.path) == (CHAT, "/modelbest/v1/chat/café")
    assert (first.status, second.status) == (200, 404)
    assert first.content_type == ok.headers["content-type"]
    assert first.answer == journal.answer_facts(200, ok.headers["content-type"], ok.content)
    assert first.body_sha256 == second.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert first.at <= second.at and first.duration_ms >= 0 and first.seq + 1 == second.seq


def _counting_sha256(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each SHA-256 the journal's store takes, as the thread that took it."""
    import hashlib
    import threading

    from harness.mock import journal_store

    taken: list[int] = []

    class Counting:
        @staticmethod
        def sha256(*data: bytes) -> object:
            taken.append(threading.get_ident())
            return hashlib.sha256(*data)

    monkeypatch.setattr(journal_store, "hashlib", Counting)
    return taken


def test_a_larger_body_is_hashed_only_when_its_entry_is_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal holds a larger body's chunks and its entry's first reader hashes them, on a
    thread of its own: a load test that never reads the journal does not pay ~8 ms a 10 MB
    image for a digest no one sees. The entry is in the journal as soon as the answer is out."""
    import hashlib
    import json
    import threading

    from harness.mock import journal_store

    taken = _counting_sha256(monkeypatch)
    appended: list[int] = []
    append = journal_store.Journal.append

    def watched(self: Journal, *args: object) -> None:
        appended.append(threading.get_ident())
        append(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(journal_store.Journal, "append", watched)
    raw = json.dumps(_chat(user="x" * 150_000)).encode()
    with _client() as c:
        assert c.post(CHAT, headers={**BEARER, "content-type": "application/json"},
                      content=raw).status_code == 200
        assert taken == [] and len(appended) == 1
        got = c.get("/_harness/journal").json()
        again = c.get("/_harness/journal").json()
    assert got["in_flight"] == 0
    (entry,) = got["entries"]
    assert entry["body_sha256"] == hashlib.sha256(raw).hexdigest() == again["entries"][0]["body_sha256"]
    assert len(taken) == 1, "hashed once, by the first reader"
    assert taken[0] != appended[0], "hashed on the event loop"


def test_held_bodies_are_bounded_and_one_let_go_unread_has_no_digest() -> None:
    """Past the hold budget the oldest held body goes first and its entry says its digest is
    unknown (None, JSON null), never a digest of something else; a body larger than the whole
    budget is not held (nor pushes the others out); an entry the log drops or clears lets go
    of its body."""
    import hashlib

    def held(log: Journal, body: bytes) -> None:
        seq = log.next_seq()
        log.append(journal.Entry(seq=seq, at=0.0, method="POST", path=f"/{seq}",
                                 body_bytes=len(body)), [body[:3], body[3:]])

    log = Journal(max_entries=10, max_bytes=10**6, max_held_bytes=250)
    for body in (b"a" * 100, b"b" * 100, b"c" * 100, b"d" * 300):
        held(log, body)
    assert log.held_bytes == 200
    digests = [e.body_sha256 for e in log.entries()]
    assert digests == [None, hashlib.sha256(b"b" * 100).hexdigest(),
                       hashlib.sha256(b"c" * 100).hexdigest(), None]
    assert journal.Entry.from_dict(log.entries()[0].to_dict()).body_sha256 is None
    assert log.entries()[0].to_dict()["body_sha256"] is None

    log = Journal(max_entries=1, max_bytes=10**6, max_held_bytes=10**6)
    held(log, b"old")
    held(log, b"new")  # drops the first entry, and lets go of its body
    assert log.held_bytes == 3 and log.dropped == 1
    log.clear()
    assert log.held_bytes == 0


def test_a_reader_hashing_a_held_body_does_not_hold_up_new_requests() -> None:
    """A reader hashes a held body outside the journal's lock: the event loop, which takes
    the lock for every request, goes on meanwhile."""
    import hashlib
    import threading

    go = threading.Event()

    class Slow(list[bytes]):
        def __iter__(self):  # type: ignore[no-untyped-def]
            go.wait(5)
            return super().__iter__()

    log = Journal(max_entries=10, max_bytes=10**6)
    log.append(journal.Entry(seq=log.next_seq(), at=0.0, method="POST", path="/big",
                             body_bytes=4), Slow([b"body"]))
    read: list[list[journal.Entry]] = []
    reader = threading.Thread(target=lambda: read.append(log.entries()), daemon=True)
    reader.start()
    reader.join(0.2)
    assert reader.is_alive()  # hashing
    arrived = threading.Thread(target=log.next_seq, daemon=True)
    arrived.start()
    arrived.join(2)
    assert not arrived.is_alive(), "a new request waited for another request's digest"
    go.set()
    reader.join(2)
    assert [e.body_sha256 for e in read[0]] == [hashlib.sha256(b"body").hexdigest()]


@pytest.mark.parametrize("size", [200, 150_000])
def test_a_body_answered_before_it_was_read_whole_has_no_digest(size: int) -> None:
    """A request refused before its body was read (a 404 for a non-JSON upload) is journaled
    with the bytes that were read and no digest, not the digest of an empty body; a GET that
    announces no body has the empty body's digest."""
    import hashlib

    with _client() as c:
        assert c.post("/modelbest/v1/nowhere", headers={**BEARER, "content-type": "text/plain"},
                      content=b"x" * size).status_code == 404
        assert c.get("/modelbest/v1/models", headers=BEARER).status_code == 200
        refused, listed = c.get("/_harness/journal").json()["entries"]
    assert refused["body_sha256"] is None and refused["body_bytes"] < size
    assert listed["body_sha256"] == hashlib.sha256(b"").hexdigest()


def test_a_record_of_types_marshal_refuses_is_still_journaled() -> None:
    """The packed record is the exchange's values as marshal takes them; an app that answers
    with an IntEnum status and a str-subclass path still gets its entry, with the same facts."""
    import asyncio
    import http

    from starlette.types import Message, Receive, Scope, Send

    from harness import providers
    from harness.mock.context import MockState
    from harness.mock.journaling import Recorder

    class Path(str):
        pass

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": http.HTTPStatus.CREATED,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    state = MockState.create(MockConfig())
    profile = providers.get("modelbest")
    api = profile.api("openai-chat")
    prefix = api.mock_prefix(next(iter(api.base_urls)))
    recorder = Recorder(app, state, [(prefix, profile, api)])
    body = b'{"model": "m"}'
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        pass

    path = Path(f"{prefix}/chat/completions")
    asyncio.run(recorder({"type": "http", "method": "POST", "path": path,
                          "headers": [(b"content-type", b"application/json")]}, receive, send))
    (entry,) = state.journal.entries()
    assert (entry.status, entry.path, entry.body_bytes, entry.content_type) == (
        201, str(path), len(body), "application/json")
    assert type(entry.status) is int and type(entry.path) is str
