"""Gateway options as users write them: ``API=URL`` base URLs, ``[API:]Name=Value`` headers
and ``PROVIDER_MODEL=ALIAS`` model aliases, parsed into :class:`TargetOptions` fields.

The same strings come from the CLI (``--base-url``, ``--header``, ``--model``, each repeatable),
the pytest plugin (``--vlm-base-url``...) and the config file, so they are parsed once, here.
An API is named by its protocol (``openai-chat``, ``anthropic-messages``...), because a gateway
serves protocols, whoever the provider behind it is. A bare URL keeps its old meaning (the
default for every API not named). Each problem is a usage error naming the flag and the value,
and an unknown API or model lists the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

from harness import protocols, providers
from harness.errors import UnknownNameError, UsageError
from harness.targets.base import TargetOptions

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token


def specs(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """One spec or several, as a tuple (a plain string is one spec, not its characters)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _api(name: str, flag: str, spec: str) -> str:
    if name not in protocols.known():
        raise UnknownNameError(f"API in {flag} {spec!r}", name, protocols.known())
    return name


def _split_api(spec: str) -> tuple[str | None, str]:
    """``API=URL`` -> (API, URL); a bare URL (whose query may hold '=') -> (None, URL)."""
    head, sep, tail = spec.partition("=")
    if sep and head and "://" not in head:
        return head.strip(), tail.strip()
    return None, spec.strip()


def base_urls(value: str | Iterable[str] | None, flag: str = "--base-url",
              ) -> tuple[str | None, MappingProxyType[str, str]]:
    """(the bare default URL or None, API -> URL) from ``--base-url`` specs."""
    default: str | None = None
    per_api: dict[str, str] = {}
    for spec in specs(value):
        api, url = _split_api(spec)
        if not url:
            raise UsageError(f"{flag} {spec!r}: no URL after '='")
        if api is None:
            if default is not None:
                raise UsageError(f"{flag}: two bare URLs ({default} and {url}); name the API of "
                                 "each extra one as API=URL (e.g. anthropic-messages=http://gw:4000)")
            default = url
            continue
        _api(api, flag, spec)
        if api in per_api:
            raise UsageError(f"{flag}: {api} is given twice ({per_api[api]} and {url})")
        per_api[api] = url
    return default, MappingProxyType(per_api)


def headers(value: str | Iterable[str] | None, flag: str = "--header",
            ) -> tuple[tuple[str | None, str, str], ...]:
    """(API or None, name, value) per ``[API:]Name=Value`` spec, in the order given."""
    out: list[tuple[str | None, str, str]] = []
    for spec in specs(value):
        head, sep, text = spec.partition("=")
        api, colon, name = head.partition(":")
        if not colon:
            api, name = "", head
        name = name.strip()
        if not sep or not HEADER_NAME.match(name):
            raise UsageError(f"{flag} {spec!r}: expected [API:]Name=Value with a header name "
                             "such as x-gateway-provider")
        out.append((_api(api.strip(), flag, spec) if api.strip() else None, name, text.strip()))
    return tuple(out)


def documented_models() -> list[str]:
    return sorted({m for p in providers.all_profiles() for a in p.apis for m in a.models})


def model_aliases(value: str | Iterable[str] | None, flag: str = "--model",
                  ) -> MappingProxyType[str, str]:
    """Documented model -> the alias the target serves it as, from ``MODEL=ALIAS`` specs."""
    out: dict[str, str] = {}
    for spec in specs(value):
        model, sep, alias = (s.strip() for s in spec.partition("="))
        if not sep or not model or not alias:
            raise UsageError(f"{flag} {spec!r}: expected PROVIDER_MODEL=ALIAS, e.g. "
                             "MiniCPM-V-4.6-Instruct=minicpm")
        if model not in documented_models():
            raise UnknownNameError(f"model in {flag} {spec!r}", model, documented_models())
        if model in out and out[model] != alias:
            raise UsageError(f"{flag}: {model} has two aliases ({out[model]} and {alias})")
        out[model] = alias
    if len(set(out.values())) < len(out):
        raise UsageError(f"{flag}: one alias stands for two models; answers could not be mapped back")
    return MappingProxyType(out)


def target_options(*, base_url: str | Iterable[str] | None = None,
                   header: str | Iterable[str] | None = None,
                   model: str | Iterable[str] | None = None, flags: str = "--",
                   **rest: object) -> TargetOptions:
    """:class:`TargetOptions` from the user's strings; ``flags`` prefixes the flag names in
    errors (``--`` for the CLI, ``--vlm-`` under pytest)."""
    default, per_api = base_urls(base_url, f"{flags}base-url")
    return TargetOptions(base_url=default, base_urls=per_api,
                         headers=headers(header, f"{flags}header"),
                         model_aliases=model_aliases(model, f"{flags}model"), **rest)  # type: ignore[arg-type]
