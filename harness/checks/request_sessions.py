"""Requests of the multi-step protocols: a queued job's submission and one realtime turn.

:func:`async_sample` is the canonical image request submitted as a job (WaveSpeed with sync
mode off, fal on its queue host), for the lifecycle and polling checks; :func:`realtime_turn`
gives the two client events of one MiniCPM-o Realtime turn for either documented revision, for
the realtime checks. Protocols without jobs, or a revision without chat mode, raise
:class:`~harness.checks.request_samples.Unsupported`.
"""

from __future__ import annotations

import base64
from typing import Any

from harness.checks.request_media import JPEG, pcm_tone, png
from harness.checks.request_samples import PROMPT, Sample, Unsupported, sample
from harness.providers import Api


def async_sample(api: Api, *, seed: int = 0, prompt: str | None = None) -> Sample:
    """The canonical image request submitted as a job: WaveSpeed with sync mode off, fal on
    its queue host; ``prompt`` replaces the instruction (WaveSpeed's ``custom_prompt``)."""
    protocol = api.protocol.name
    if protocol not in ("wavespeed-v3", "fal-queue"):
        raise Unsupported(f"{protocol} has no queued jobs")
    base = sample(api, "image", seed=seed)
    body = dict(base.json_body)
    if protocol == "wavespeed-v3":
        body["enable_sync_mode"] = False
    if prompt is not None:
        body["custom_prompt" if protocol == "wavespeed-v3" else "prompt"] = prompt
    return Sample("submit", base.model, body, "async")



def realtime_turn(revision: str, mode: str, *, rate: int = 16000) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(init, input)`` client events of one MiniCPM-o Realtime turn (providers.md §3): a
    system prompt, then 0.5 s of tone (plus one JPEG frame in video mode) or, in chat mode
    (current revision only), a text-and-image message. Media is bare base64."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    chunk: dict[str, Any] = {"audio": pcm_tone(rate=rate)}
    if mode == "video":
        chunk["video_frames"] = [b64(JPEG)]
    if revision == "earlier":
        if mode == "chat":
            raise Unsupported("the earlier realtime revision has no chat mode")
        return ({"type": "session.update", "session": {"instructions": PROMPT}},
                {"type": "input_audio_buffer.append", **chunk})
    if mode == "chat":
        chunk = {"messages": [{"type": "text", "text": PROMPT}, {"type": "image", "data": b64(png())}]}
    init = {"type": "session.init", "payload": {"system_prompt": PROMPT}}
    return init, {"type": "input.append", "input": chunk}
