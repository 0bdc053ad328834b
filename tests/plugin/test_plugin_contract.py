"""``vlm_contract`` and the target fixtures in a user's project: the suite on the in-process mock,
on a served mock reached as a gateway (url), on the served mock standing in for a local GPU
server, and failing loudly, with the findings, on a gateway that is not there."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.mock.serve import ServedMock

pytest_plugins = ["pytester"]

CLEAN = """
    from harness.suite import explain

    def test_my_gateway(vlm_contract):
        assert vlm_contract.exit_code == 0, explain(vlm_contract)
        assert any(c.outcome.value == "pass" for c in vlm_contract.cases)
        assert vlm_contract.meta.target == "{target}"
        assert set(vlm_contract.meta.providers) == {providers}
"""


def clean(target: str, *providers: str) -> str:
    return CLEAN.format(target=target, providers=set(providers))


def test_contract_passes_on_the_in_process_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(clean("mock", "local", "wavespeed"))
    pytester.runpytest("--vlm-provider", "local,wavespeed").assert_outcomes(passed=1)


def test_contract_passes_on_a_served_mock_as_a_gateway(pytester: pytest.Pytester,
                                                       served_mock: ServedMock) -> None:
    pytester.makepyfile(clean("url", "local", "mimo"))
    result = pytester.runpytest("--vlm-target", "url", "--vlm-base-url", served_mock.url,
                                "--vlm-provider", "local,mimo")
    result.assert_outcomes(passed=1)


def test_local_target_on_the_served_mock_as_a_gpu_server(pytester: pytest.Pytester,
                                                         served_mock: ServedMock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLM_HARNESS_LOCAL_URL", f"{served_mock.url}/local/v1")
    monkeypatch.delenv("VLM_HARNESS_LOCAL_KEY", raising=False)
    pytester.makepyfile(clean("local", "local") + """
        ran = {c.capability for c in vlm_contract.cases if c.outcome.value == "pass"}
        assert {"text", "image", "multi-image", "stream", "errors"} <= ran
""")
    result = pytester.runpytest("--vlm-target", "local", "--vlm-provider", "local")
    result.assert_outcomes(passed=1)


def test_a_gateway_that_is_down_fails_with_the_findings(pytester: pytest.Pytester) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pytester.makepyfile("""
        from harness.suite import assert_clean

        def test_my_gateway(vlm_contract):
            assert_clean(vlm_contract)
    """)
    result = pytester.runpytest("--vlm-target", "url", "--vlm-base-url", f"http://127.0.0.1:{port}",
                                "--vlm-provider", "local", "--vlm-checks", "text")
    result.assert_outcomes(errors=1)  # the fixture cannot give a result
    result.stdout.fnmatch_lines([  # the preflight: one error naming the URL and the cause
        f"*vlm-harness: local openai-chat: no answer from http://127.0.0.1:{port}/local/v1/ "
        "(ConnectError: *) (exit status 4: unreachable)"])


def test_reports_dir_and_narrowed_checks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_narrow(vlm_contract):
            assert {c.check for c in vlm_contract.cases} >= {"text", "image"}
            assert "sse-framing" not in {c.check for c in vlm_contract.cases}
    """)
    result = pytester.runpytest("--vlm-provider", "local", "--vlm-checks", "text,image",
                                "--vlm-reports-dir", "out")
    result.assert_outcomes(passed=1)
    written = json.loads((pytester.path / "out" / "results.json").read_text())
    assert written["meta"]["command"].startswith("pytest ")
    assert (pytester.path / "out" / "index.html").is_file()


def test_client_and_mock_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import httpx
        from starlette.testclient import TestClient

        BODY = {"model": "mimo-v2-omni", "max_tokens": 16,
                "messages": [{"role": "user", "content": "hi"}]}

        def test_client_on_the_configured_target(vlm_client):
            client = vlm_client("mimo", "anthropic-messages")
            assert client.post("/v1/messages", json=BODY).status_code == 200
            assert client.base_url.path == "/mimo/anthropic/"

        def test_client_without_auth(vlm_client):
            client = vlm_client("mimo", "anthropic-messages", auth=False)
            assert client.post("/v1/messages", json=BODY).status_code == 401

        def test_served_mock(vlm_served_mock):
            url = vlm_served_mock.base_url("mimo", "anthropic-messages")
            assert url == vlm_served_mock.url + "/mimo/anthropic"
            assert httpx.get(vlm_served_mock.url + "/_harness/health").json()["status"] == "ok"

        def test_mock_app_and_target(vlm_mock_app, vlm_mock):
            assert TestClient(vlm_mock_app).get("/_harness/health").status_code == 200
            assert vlm_mock.kind.value == "mock"
    """)
    pytester.runpytest("--vlm-provider", "mimo").assert_outcomes(passed=4)


def test_nothing_checked_is_not_clean_unless_allowed(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIMO_API_KEY", raising=False)
    pytester.makepyfile("""
        from harness.suite import assert_clean

        def test_live(vlm_contract):
            assert vlm_contract.exit_code == 3
            assert_clean(vlm_contract)
    """)
    args = ("--vlm-target", "live", "--vlm-provider", "mimo", "--vlm-checks", "text")
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*contract suite on live: nothing was checked (mimo: MIMO_API_KEY "
                                 "is not set) (exit 3; set allow_empty / --vlm-allow-empty*"])
    pytester.makepyfile("""
        def test_live(vlm_contract):
            assert vlm_contract.exit_code == 0
    """)
    pytester.runpytest(*args, "--vlm-allow-empty", "true").assert_outcomes(passed=1)


def test_errors_print_as_readable_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_defect(vlm_contract):
            assert vlm_contract.exit_code == 0, vlm_contract.errors
    """)
    with _crashing_chat_server() as url:  # answers the preflight, then 500 to every chat
        result = pytester.runpytest("--vlm-target", "url", "--vlm-base-url", url,
                                    "--vlm-provider", "local", "--vlm-checks", "text")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*[[]error[]] local chat text: text request * answered HTTP 500*"])
    assert "Finding(" not in result.stdout.str()


@contextmanager
def _crashing_chat_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(200, b'{"object": "list", "data": []}')

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self._send(500, b"boom")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_local_flavour_is_the_dialect_the_suite_expects(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``--vlm-local-flavour sglang`` against a server answering SGLang's top-level error
    object passes; the same server judged as plain OpenAI fails on its error shape."""
    from harness.mock.config import MockConfig

    monkeypatch.delenv("VLM_HARNESS_LOCAL_KEY", raising=False)
    with ServedMock(MockConfig(local_flavour="sglang"), names=["local"]) as sglang:
        monkeypatch.setenv("VLM_HARNESS_LOCAL_URL", f"{sglang.url}/local/v1")
        pytester.makepyfile(clean("local", "local"))
        flavoured = pytester.runpytest("--vlm-target", "local", "--vlm-provider", "local",
                                       "--vlm-local-flavour", "sglang")
        flavoured.assert_outcomes(passed=1)
        pytester.makepyfile(test_plain="""
            def test_plain(vlm_contract):
                shapes = [f.message for c in vlm_contract.cases for f in c.findings
                          if f.check == "error-shape"]
                assert shapes and all("openai-chat/error" in m for m in shapes), shapes
        """)
        plain = pytester.runpytest("--vlm-target", "local", "--vlm-provider", "local",
                                   "test_plain.py")
        plain.assert_outcomes(passed=1)
