"""Reading MiniCPM-o Realtime client frames into checked values, and synthesising output audio.

A frame is checked against its revision's event schema (a missing required field answers
``missing_field``, any other violation ``invalid_payload``), then against what the schema
cannot say: base64 that decodes, audio that is float32 PCM of at least ``min_input_samples``
samples, at most ``max_video_frames`` frames and each of them JPEG by its magic bytes, chat
images that are images. Messages name the field by JSON pointer and never quote more than a
few characters of a payload. Token costs (audio seconds, frames by vision slices) feed the
session's ``kv_cache_length``; output audio is a phase-continuous sine whose pitch derives from
the text, so a reply's bytes are a pure function of what was said.
"""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from harness import media, schemas
from harness.mock import accept, generate
from harness.mock.realtime_wire import RealtimeError, Wire
from harness.mock.validation import describe_error, pointer_of
from harness.providers import Api

AUDIO_TOKENS_PER_S = 10  # input audio tokens per second of 16 kHz speech
SPOKEN_TOKENS_PER_S = 3  # output tokens spoken per second: one audio chunk = 3 tokens = 1 s
PROMPT_OVERHEAD = 32  # chat template tokens around the system prompt
SILENCE = 1e-4  # peak amplitude under which an input chunk counts as silence


@dataclass(frozen=True, slots=True)
class Limits:
    """ModelBest's realtime limits (profile ``apis[].limits``), with the config's scaling."""

    session_seconds: Mapping[str, float]
    context_tokens: int
    input_rate: int
    output_rate: int
    min_samples: int
    max_frames: int
    time_scale: float

    @classmethod
    def of(cls, api: Api, context_tokens: int, time_scale: float) -> Limits:
        raw = api.limits
        return cls(dict(raw.get("session_seconds", {})), context_tokens,
                   int(raw.get("input_sample_rate", 16000)), int(raw.get("output_sample_rate", 24000)),
                   int(raw.get("min_input_samples", 4000)), int(raw.get("max_video_frames", 4)),
                   time_scale)

    def session_s(self, mode: str) -> float:
        return float(self.session_seconds.get(mode, 600)) * self.time_scale

    @property
    def samples_per_token(self) -> int:
        # Output audio runs on the same scaled clock as the session limits.
        return max(1, round(self.output_rate / SPOKEN_TOKENS_PER_S * self.time_scale))


@dataclass(frozen=True, slots=True)
class Setup:
    system_prompt: str
    max_slice_nums: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """One duplex input: audio (as a payload for the answer), frames, flags, token cost."""

    audio: media.Payload
    samples: int
    silent: bool
    frames: tuple[media.Payload, ...]
    force_listen: bool
    tokens: int


@dataclass(frozen=True, slots=True)
class ChatTurn:
    prompt: str
    images: tuple[media.Payload, ...]
    streaming: bool
    max_new_tokens: int
    thinking: bool
    tts: bool

    @property
    def tokens(self) -> int:
        return generate.prompt_tokens([self.prompt], len(self.images))


@cache
def _validator(name: str) -> jsonschema.Draft7Validator:
    return schemas.validator(name)


def check_schema(event: Any, name: str) -> None:
    """Raise the protocol's error for the most relevant schema violation of ``event``."""
    if accept.accepts(event, name):  # the compiled validator answers valid frames alone
        return
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(event))
    if error is None:
        return
    code = "missing_field" if error.validator == "required" else "invalid_payload"
    message = describe_error(error)
    if not pointer_of(error):  # describe_error says "body"; a frame is named by its type
        message = f"{event.get('type')} frame{message.removeprefix('body')}"
    raise RealtimeError(code, message)


def require_for_mode(fields: dict[str, Any], at: str, mode: str) -> None:
    """The field the mode needs; checked before the schema, whose anyOf would blur the message."""
    key, why = (("messages", "chat mode sends messages") if mode == "chat" else
                ("audio", f"{mode} mode sends 16 kHz float32 PCM audio"))
    if key not in fields:
        raise RealtimeError("missing_field", f"{at or '/'}: missing required field {key!r} ({why})")


def _payload(value: str, pointer: str) -> media.Payload:
    try:
        return media.parse(value)
    except media.MediaError as exc:
        raise RealtimeError("invalid_payload", f"{pointer}: {exc}") from None


def _image(value: str, pointer: str, formats: frozenset[str], max_bytes: int | None) -> media.Payload:
    p = _payload(value, pointer)
    if p.kind is not media.MediaKind.IMAGE or (formats and p.format not in formats):
        allowed = ", ".join(sorted(formats)) or "an image"
        raise RealtimeError("invalid_payload", f"{pointer}: got {media.describe(p)}; expected {allowed}")
    if max_bytes is not None and p.size > max_bytes:
        raise RealtimeError("invalid_payload", f"{pointer}: image is {p.size} bytes, over {max_bytes}")
    return p


def read_setup(event: dict[str, Any], wire: Wire) -> Setup:
    """session.init (current) or session.update (earlier): system prompt and voice refs."""
    check_schema(event, wire.schema(wire.init_event))
    if wire.current:
        payload = event["payload"]
        prompt = payload.get("system_prompt") or payload.get("instructions") or ""
        refs = {f"/payload/voice/{k}": v for k, v in (payload.get("voice") or {}).items()}
        slices = 1
    else:
        session = event["session"]
        prompt, slices = session["instructions"], session.get("max_slice_nums", 1)
        refs = {f"/session/{k}": session[k] for k in ("ref_audio", "tts_ref_audio") if k in session}
    for pointer, value in refs.items():
        if isinstance(value, str):
            _payload(value, pointer)  # reference audio must at least decode
    return Setup(prompt, slices)


def pcm_peak(pcm: bytes, pointer: str) -> float:
    """The peak amplitude of little-endian float32 PCM; non-finite samples are invalid."""
    samples = array("f")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    # Builtins keep a long chunk cheap: a NaN or inf makes the sum non-finite (float32 values
    # summed as doubles cannot overflow), and only then is the offending sample searched for.
    if not math.isfinite(sum(samples)):
        bad = next(i for i, x in enumerate(samples) if not math.isfinite(x))
        raise RealtimeError("invalid_payload", f"{pointer}: sample {bad} is not a finite float32")
    return max(max(samples), -min(samples))


def frame_tokens(max_slice_nums: int) -> int:
    # Documented: 1 slice = 64 tokens (fast), 4 slices = 192 tokens (detailed); linear between.
    return round(64 + (max_slice_nums - 1) * 128 / 3)


def read_chunk(fields: dict[str, Any], at: str, limits: Limits, default_slices: int) -> Chunk:
    """A duplex input: ``fields`` is ``input`` (current, ``at="/input"``) or the event itself."""
    pointer = f"{at}/audio"
    try:
        pcm = media.decoded(fields["audio"])
    except media.MediaError as exc:
        raise RealtimeError("invalid_payload", f"{pointer}: {exc}") from None
    if len(pcm) % 4:
        raise RealtimeError("invalid_payload", f"{pointer}: {len(pcm)} bytes is not whole float32 "
                                               "samples (4 bytes each)")
    samples = len(pcm) // 4
    if samples < limits.min_samples:
        raise RealtimeError("invalid_payload", f"{pointer}: {samples} samples "
                            f"({samples / limits.input_rate:.3f} s at {limits.input_rate} Hz); at "
                            f"least {limits.min_samples} required")
    peak = pcm_peak(pcm, pointer)
    frames_raw = fields.get("video_frames") or []
    if len(frames_raw) > limits.max_frames:
        raise RealtimeError("invalid_payload", f"{at}/video_frames: {len(frames_raw)} frames; at most "
                                               f"{limits.max_frames} per input")
    frames = tuple(_image(v, f"{at}/video_frames/{i}", frozenset({"jpeg"}), None)
                   for i, v in enumerate(frames_raw))
    slices = fields.get("max_slice_nums") or (fields.get("hints") or {}).get("max_slice_nums") \
        or default_slices
    audio = media.Payload("base64", "audio/pcm", None, media.MediaKind.AUDIO, len(pcm),
                          len(fields["audio"]), None, hashlib.sha256(pcm).hexdigest())
    tokens = math.ceil(samples / limits.input_rate * AUDIO_TOKENS_PER_S) + len(frames) * frame_tokens(slices)
    return Chunk(audio, samples, peak < SILENCE, frames, bool(fields.get("force_listen")), tokens)


def read_chat(fields: dict[str, Any], image: media.MediaLimits) -> ChatTurn:
    """A chat-mode input (current revision): messages plus generation options."""
    messages = fields["messages"]
    texts: list[str] = []
    images: list[media.Payload] = []
    for i, part in enumerate([messages] if isinstance(messages, str) else messages):
        if isinstance(part, str):
            texts.append(part)
        elif part["type"] == "text":
            texts.append(part["text"])
        else:
            images.append(_image(part["data"], f"/input/messages/{i}/data", image.formats, image.max_bytes))
    if image.max_count is not None and len(images) > image.max_count:
        raise RealtimeError("invalid_payload", f"/input/messages: {len(images)} images; at most "
                                               f"{image.max_count} allowed")
    gen = fields.get("generation") or {}
    return ChatTurn("\n".join(texts), tuple(images), fields.get("streaming", True),
                    gen.get("max_new_tokens", 256), bool(fields.get("enable_thinking")),
                    bool((fields.get("tts") or {}).get("enabled")))


def audio_chunks(key: str, pieces: list[str], limits: Limits) -> Iterator[tuple[list[str], str]]:
    """The spoken reply in chunks of SPOKEN_TOKENS_PER_S tokens (1 s of speech, scaled), each
    with its audio; the last chunk may be shorter, as the protocol documents."""
    start, per_token = 0, limits.samples_per_token
    for i in range(0, len(pieces), SPOKEN_TOKENS_PER_S):
        group = pieces[i:i + SPOKEN_TOKENS_PER_S]
        n = len(group) * per_token
        yield group, tone(key, start, n, limits.output_rate)
        start += n


def tone(key: str, start: int, n: int, rate: int) -> str:
    """``n`` samples (from sample ``start``) of the turn's sine, as base64 float32 LE PCM."""
    freq = 180 + int(generate.digest("tone", key)[:6], 16) % 420  # 180..600 Hz: a voice-like pitch
    step = 2 * math.pi * freq / rate
    samples = array("f", (0.3 * math.sin(step * (start + i)) for i in range(n)))
    if sys.byteorder == "big":
        samples.byteswap()
    return base64.b64encode(samples.tobytes()).decode("ascii")
