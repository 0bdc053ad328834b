"""Error catalogues: a provider's documented errors, answered as its document shows them.

A profile's ``errors`` table names each error the provider documents (MiMo's gateway lists
its "常见错误" in seed 004) with its message, status and body. Where the document prints the
body (``{"message": ...}`` at top level for MiMo's quota error) ``body: message`` keeps it;
otherwise the protocol's own error shape is used. Where the document gives no status, the
entry says which one the harness chose and why (``status_chosen``); the mock then names the
choice in an ``x-harness-advisory`` header, and a fault spec's ``status=`` overrides it. An
entry may be tied to an endpoint the provider answers only with that error (the gateway's
``/v1/responses``). Generic fault names (``overloaded``...) answer each protocol's own status:
529 only where the protocol documents it (Anthropic), 503 elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from harness.errors import UsageError
from harness.mock.advisory import advise
from harness.mock.routing import Route


@dataclass(frozen=True, slots=True)
class Answer:
    """What one catalogue error answers on one protocol."""

    status: int
    message: str
    shape: str = "protocol"  # "message": the document's own {"message": ...} body
    chosen: str | None = None  # why this status, when no document gives it


# name -> (message, protocol -> its documented status, status elsewhere)
GENERIC: dict[str, tuple[str, dict[str, int], int]] = {
    "overloaded": ("Overloaded", {"anthropic-messages": 529}, 503),
    "unavailable": ("Service unavailable", {}, 503),
    "internal": ("Internal server error", {}, 500),
    "rate_limited": ("Rate limited", {}, 429),
}


def resolve(name: str, catalogue: Mapping[str, Mapping[str, Any]], protocol: str,
            status: int | None = None) -> Answer:
    """The answer of error ``name`` on ``protocol``; ``status`` (a fault's) overrides it."""
    entry = catalogue.get(name)
    if entry is not None:
        documented = (entry.get("protocols") or {}).get(protocol)
        chosen = None if documented is not None else entry.get("status_chosen")
        return Answer(int(status or documented or entry["status"]), str(entry["message"]),
                      str(entry.get("body", "protocol")), None if status else chosen)
    if name in GENERIC:
        message, by_protocol, default = GENERIC[name]
        return Answer(status or by_protocol.get(protocol, default), message)
    known = sorted({*catalogue, *GENERIC})
    raise UsageError(f"fault error {name!r} unknown; known: {', '.join(known)}")


def note_choice(answer: Answer) -> None:
    """Tell the client a status is the harness's choice, not the document's."""
    if answer.chosen:
        advise(f"status {answer.status} chosen by the harness ({answer.chosen}); a fault's "
               "status= overrides it")


def tool_role_at(body: Any) -> int | None:
    """Index of the first message with role "tool", read before the body is validated."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "tool":
            return i
    return None


def endpoint_routes(ctx: Any) -> list[BaseRoute]:
    """Routes for catalogue entries tied to an endpoint: authenticated, then that error."""
    out: list[BaseRoute] = []
    for name, entry in ctx.profile.errors.items():
        if not entry.get("endpoint"):
            continue

        async def refuse(request: Request, name: str = name) -> Response:
            denied = ctx.authenticate(request)
            return denied if denied is not None else ctx.documented(name)

        out.append(Route(str(entry["endpoint"]), refuse, methods=["POST"]))
    return out
