"""Invalid requests: the documented ways to get a request to a provider API wrong.

:func:`invalid_samples` starts from a canonical valid request and breaks it one way at a
time (JSON that does not parse, a missing or mistyped field, an out-of-range value, an unknown
model or enum value, undecodable or mislabelled media): the media variants from the image
request, the chat protocols' field variants from the text request, so a server that cannot
take images (llama.cpp without a projector answers them 500) is not blamed for every field;
each :class:`InvalidSample` says which statuses must answer it and which fields the error
message should name, and whether accepting it is a broken promise or only a warning
(``strict``). The bad-input error checks send them all.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from typing import Any

from harness import providers
from harness.checks.exchange import Exchange, Probe
from harness.checks.request_media import JPEG, png
from harness.checks.request_samples import Sample, _token_field, sample
from harness.errors import UnknownNameError
from harness.providers import Api

ANY_4XX = frozenset(range(400, 500))
_ALONE = {"connection": "close"}


@dataclass(frozen=True, slots=True)
class InvalidSample:
    """A request that must be refused with a 4xx whose message names one of ``fields``."""

    name: str
    endpoint: str
    model: str | None
    json_body: Any = None
    content: bytes | None = None  # raw body, for JSON that does not parse
    expected: frozenset[int] = ANY_4XX
    fields: tuple[str, ...] = ()  # empty: no single field to name (bad JSON)
    strict: bool = True  # False: providers commonly tolerate it, so accepting it is a warning

    def send(self, probe: Probe) -> Exchange:
        # Each on a connection of its own: a server that answers bad input with an unhandled
        # 500 may then drop the connection unannounced (uvicorn does), and the next sample
        # would fail for the previous one's sake (one cause, one finding).
        if self.content is None:
            return probe.call(self.endpoint, model=self.model, json_body=self.json_body,
                              headers=_ALONE)
        return probe.call(self.endpoint, model=self.model, content=self.content,
                          headers={**_ALONE, "content-type": "application/json"})


def _truncated_base64(data: bytes) -> str:
    """Base64 text of a length no base64 can have (4k+1): undecodable yet schema-shaped."""
    text = base64.b64encode(data).decode().rstrip("=")
    return text[: len(text) - (len(text) - 1) % 4]


def _model_enum(api: Api) -> bool:
    """Whether the provider documents a closed list of model ids for this protocol."""
    try:
        overlay = providers.get(api.provider).overlay(f"{api.protocol.name}/request") or {}
    except UnknownNameError:  # a profile loaded from elsewhere: no documented list known
        return False
    return "enum" in overlay.get("properties", {}).get("model", {})


def invalid_samples(api: Api) -> list[InvalidSample]:
    """Every documented way to get a request to ``api`` wrong, each with what must be named."""
    protocol = api.protocol.name
    base = sample(api, "image")
    bad_b64, mislabelled = _truncated_base64(png()), base64.b64encode(JPEG).decode()
    out = [InvalidSample("invalid-json", base.endpoint, base.model,
                         content=b'{"model": "x", "messages": [')]

    def variant(name: str, fields: tuple[str, ...], edit: Any, *, start: Sample = base,
                **kw: Any) -> None:
        body = copy.deepcopy(start.json_body)
        edit(body)
        out.append(InvalidSample(name, start.endpoint, start.model, json_body=body, fields=fields,
                                 **kw))

    if protocol in ("openai-chat", "anthropic-messages"):
        text = sample(api, "text")
        tokens = "max_tokens" if protocol == "anthropic-messages" else _token_field(api)
        required = "max_tokens" if protocol == "anthropic-messages" else "messages"
        variant("missing-field", (required,), lambda b: b.pop(required), start=text)
        variant("wrong-type", (tokens,), lambda b: b.update({tokens: "sixty-four"}), start=text)
        # A closed documented list makes accepting any model id a broken promise; without one
        # (a local server, which may ignore the field) it is only worth a warning.
        variant("unknown-model", ("model",), lambda b: b.update(model="no-such-model-vlm-harness"),
                start=text, expected=frozenset({400, 404}), strict=_model_enum(api))
    if protocol == "openai-chat":
        def set_url(url: str) -> Any:
            return lambda b: b["messages"][0]["content"][1]["image_url"].update(url=url)

        variant("undecodable-media", ("image_url", "url"), set_url(f"data:image/png;base64,{bad_b64}"))
        variant("mislabelled-media", ("image_url", "url"), set_url(f"data:image/png;base64,{mislabelled}"),
                strict=False)
    elif protocol == "anthropic-messages":
        def set_source(**source: str) -> Any:
            return lambda b: b["messages"][0]["content"][1]["source"].update(source)

        variant("undecodable-media", ("data", "source"), set_source(data=bad_b64))
        variant("mislabelled-media", ("media_type", "source", "data"),
                set_source(media_type="image/png", data=mislabelled), strict=False)
    elif protocol == "wavespeed-v3":
        variant("missing-field", ("image",), lambda b: b.pop("image"))
        variant("wrong-type", ("seed",), lambda b: b.update(seed="zero"))
        variant("out-of-range", ("seed",), lambda b: b.update(seed=2**31))
        variant("unknown-enum", ("preset_prompt",), lambda b: b.update(preset_prompt="summarise"))
        variant("undecodable-media", ("image",), lambda b: b.update(image=f"data:image/png;base64,{bad_b64}"))
        variant("mislabelled-media", ("image",),
                lambda b: b.update(image=f"data:image/png;base64,{mislabelled}"), strict=False)
    elif protocol == "fal-queue":
        variant("missing-field", ("prompt",), lambda b: b.pop("prompt"))
        variant("wrong-type", ("image_urls",), lambda b: b.update(image_urls="not-a-list"))
        variant("undecodable-media", ("image_urls",),
                lambda b: b.update(image_urls=[f"data:image/png;base64,{bad_b64}"]))
        variant("mislabelled-media", ("image_urls",),
                lambda b: b.update(image_urls=[f"data:image/png;base64,{mislabelled}"]), strict=False)
    return out
