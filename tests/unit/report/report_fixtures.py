"""Builders of report fixtures: two runs covering every outcome, findings, drift and latency.

The newest run carries a planted key (the caller's random ``sk-planted-...``) in a finding
excerpt, a skip reason and the command line, so every writer can be checked for leaks. Kept
out of conftest.py so test modules can import it by a name no other folder uses.
"""

from __future__ import annotations

from html.parser import HTMLParser

from harness.drift.classify import Change, Kind
from harness.findings import Finding, Severity, Source
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult

PROVIDERS = ("wavespeed", "fal", "modelbest", "mimo", "local")


def meta(started: str, command: str = "vlm-harness run --target mock --seed 1234") -> RunMeta:
    return RunMeta(target="mock", started_at=started, finished_at=started.replace(":00Z", ":42Z"),
                   harness_version="0.1.0", schema_version="0123456789ab", seed=1234,
                   providers=PROVIDERS, python="3.11.9", command=command)


def case(check: str, provider: str, endpoint: str, capability: str, outcome: Outcome,
         reason: str = "", findings: tuple[Finding, ...] = (),
         latencies: tuple[float, ...] = ()) -> CaseResult:
    return CaseResult(check, provider, endpoint, capability, outcome, reason, findings,
                      latencies, 0.25)


def newest_run(key: str) -> RunResult:
    leak = Finding(
        check="schema.response", severity=Severity.ERROR,
        message="choices[0].message.content is not a string", provider="mimo",
        endpoint="chat", request_id="req-42", schema_pointer="/properties/choices/items",
        instance_pointer="/choices/0/message/content",
        source=Source("seeds/004_0764332ed8449b67.txt", "OpenAI API"),
        excerpt=(f'{{"content": 42, "echo": "api-key: {key}", "html": "<script>x</script>", '
                 '"image": "https://cdn.example/cat.png"}}'))
    warn = Finding("realtime.order", Severity.WARNING, "session.created before queue_done",
                   "modelbest", "realtime", source=Source("providers.md", "3. ModelBest (seed 001)"))
    cases = (
        case("schema.response", "mimo", "chat", "image", Outcome.FAIL, findings=(leak,),
             latencies=(800.0, 950.0, 1200.0)),
        case("text.basic", "mimo", "chat", "text", Outcome.PASS, latencies=(300.0, 420.0, 510.0)),
        case("stream.sse", "mimo", "messages", "stream", Outcome.PASS, latencies=(150.0, 220.0)),
        case("video.basic", "mimo", "chat", "video", Outcome.SKIP,
             reason=f"no video fixture (tried key {key})"),
        case("auth.missing", "mimo", "chat", "auth", Outcome.PASS),
        case("image.basic", "wavespeed", "submit", "image", Outcome.PASS,
             latencies=(2000.0, 2600.0)),
        case("async.poll", "wavespeed", "result", "async", Outcome.PASS),
        case("video.basic", "wavespeed", "submit", "video", Outcome.SKIP,
             reason="video page versions disagree on enable_sync_mode"),
        case("text.basic", "wavespeed", "submit", "text", Outcome.NOT_OFFERED,
             reason="image and video models only"),
        case("image.basic", "fal", "queue", "image", Outcome.PASS, latencies=(1500.0,)),
        case("async.poll", "fal", "status", "async", Outcome.PASS),
        case("limits.size", "fal", "queue", "limits", Outcome.PASS),
        case("realtime.session", "modelbest", "realtime", "realtime", Outcome.FAIL,
             findings=(warn,)),
        case("text.basic", "modelbest", "chat", "text", Outcome.PASS, latencies=(600.0, 640.0)),
        case("errors.catalogue", "modelbest", "chat", "errors", Outcome.PASS),
        case("text.basic", "local", "chat", "text", Outcome.SKIP,
             reason="VLM_HARNESS_LOCAL_URL not set"),
    )
    drift = (
        Change(Kind.BREAKING, "chat#/choices/*/finish_reason", "enum value(s) no longer sent: length",
               ["length", "stop"], ["stop"], "mimo", "chat"),
        Change(Kind.ADDITIVE, "chat#/usage/prompt_tokens_details", "new optional field", None,
               "object", "mimo", "chat"),
        Change(Kind.COSMETIC, "chat#/id", "value changed", "chatcmpl-1", "chatcmpl-2", "mimo",
               "chat"),
        Change(Kind.LATENCY, "submit#/latency/p95", "p95 latency regressed by 900 ms (53%)",
               1700.0, 2600.0, "wavespeed", "submit"),
    )
    return RunResult(meta("2026-11-23T10:00:00Z", f"MIMO_API_KEY={key} vlm-harness run --seed 1234"),
                     cases, drift)


def older_run() -> RunResult:
    cases = (
        case("schema.response", "mimo", "chat", "image", Outcome.PASS),
        case("text.basic", "mimo", "chat", "text", Outcome.PASS, latencies=(280.0,)),
        case("image.basic", "wavespeed", "submit", "image", Outcome.PASS),
        case("realtime.session", "modelbest", "realtime", "realtime", Outcome.PASS),
    )
    return RunResult(meta("2026-11-22T10:00:00Z"), cases)


VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


class StrictBalance(HTMLParser):
    """A strict well-formedness check on top of html.parser (which forgives everything).

    Every element must be closed by its own end tag, in order; void elements must be written
    self-closed (XHTML style), so the same page also parses as XML. Ids, link targets and
    resource attributes are collected for the tests to inspect.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: dict[str, int] = {}

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if name in ("src", "href", "xlink:href", "action", "poster", "data", "srcset"):
                self.refs.append((tag, name, value or ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag in VOID:
            self.problems.append(f"line {self.getpos()[0]}: <{tag}> not self-closed")
        else:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            opened = self.stack[-1] if self.stack else ("nothing", 0)
            self.problems.append(f"line {self.getpos()[0]}: </{tag}> closes <{opened[0]}> "
                                 f"opened on line {opened[1]}")
            return
        self.stack.pop()

    def check(self, page: str) -> StrictBalance:
        self.feed(page)
        self.close()
        self.problems += [f"<{tag}> opened on line {line} never closed"
                          for tag, line in self.stack]
        return self
