"""Findings: what every check, lint rule and drift comparison reports.

A finding is a value, not an exception: it says which check saw what, how bad it is, where in
the schema (a JSON pointer) the broken promise lives, and which source document section that
promise was derived from, so a reader can go from a red cell straight to the line of
documentation. Findings are comparable and hashable so test suites can assert on sets of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

# The extra field that holds an exchange's upstream side (gateway target: what the mock
# received and answered); reports show it beside the client side.
UPSTREAM_SIDE = "upstream_side"


class Severity(str, Enum):
    """How bad a finding is; ``error`` fails a run, the others are reported only."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


# The public page each captured source document was taken from, so a reader can open it; the
# local copy (``document``) stays the second field. Only pages whose address is known are
# listed: seed 000 names its own URL and links the video page; fal's pages are its model API
# pages. Seeds 001 (a GitHub file) and 004 (the gateway's docs) do not carry their address.
PUBLIC_URLS = {
    "seeds/000_ed8972f90c0253f6.txt":
        "https://wavespeed.ai/docs/docs-api/wavespeed-ai/minicpm-v-image",
    "seeds/002_75b1c80ac3f9b814.txt": "https://fal.ai/models/fal-ai/mini-cpm/api",
    "seeds/003_d1dbed4841f2ce76.txt": "https://fal.ai/models/fal-ai/mini-cpm/video/api",
}


@dataclass(frozen=True, slots=True)
class Source:
    """Where a promise comes from: a source document and the section inside it, and the
    public URL of that document when it has one (``public_url``)."""

    document: str
    section: str = ""
    url: str = ""

    @classmethod
    def from_schema(cls, node: Any) -> Source | None:
        """Read an ``x-source`` annotation (``{document, section[, url]}``) off a schema node."""
        raw = node.get("x-source") if isinstance(node, dict) else None
        if not isinstance(raw, dict) or "document" not in raw:
            return None
        return cls(str(raw["document"]), str(raw.get("section", "")), str(raw.get("url", "")))

    @property
    def public_url(self) -> str:
        return self.url or PUBLIC_URLS.get(self.document, "")

    def to_dict(self) -> dict[str, str]:
        """``{url, document, section}``: the page a user can open first, the local copy second."""
        return {"url": self.public_url, "document": self.document, "section": self.section}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        """The inverse of :meth:`to_dict` (a URL that is the document's known page is implied)."""
        document, url = str(data["document"]), str(data.get("url") or "")
        return cls(document, str(data.get("section", "")),
                   "" if url == PUBLIC_URLS.get(document) else url)

    def __str__(self) -> str:
        where = f"{self.public_url} ({self.document})" if self.public_url else self.document
        return f"{where} § {self.section}" if self.section else where


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation by one check; ``excerpt`` is already scrubbed of secrets."""

    check: str
    severity: Severity
    message: str
    provider: str = ""
    endpoint: str = ""
    request_id: str = ""
    schema_pointer: str = ""
    instance_pointer: str = ""
    source: Source | None = None
    excerpt: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())
    waived: str = ""  # the reason of the project waiver covering it (harness.waivers)

    @property
    def is_error(self) -> bool:
        """An error-level finding no waiver covers: what fails a run."""
        return self.severity is Severity.ERROR and not self.waived

    def __str__(self) -> str:
        """One readable line: ``[error] mimo chat content-type: message (schema /x)``."""
        where = " ".join(filter(None, (self.provider, self.endpoint, self.check)))
        pointer = f" (schema {self.schema_pointer})" if self.schema_pointer else ""
        return f"[{self.severity.value}] {where}: {self.message}{pointer}"


    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["source"] = self.source.to_dict() if self.source else None
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        src = data.get("source")
        return cls(
            check=data["check"],
            severity=Severity(data["severity"]),
            message=data["message"],
            provider=data.get("provider", ""),
            endpoint=data.get("endpoint", ""),
            request_id=data.get("request_id", ""),
            schema_pointer=data.get("schema_pointer", ""),
            instance_pointer=data.get("instance_pointer", ""),
            source=Source.from_dict(src) if src else None,
            excerpt=data.get("excerpt", ""),
            extra=tuple(sorted((data.get("extra") or {}).items())),
            waived=data.get("waived", ""),
        )


class Findings(tuple[Finding, ...]):
    """Findings that print one readable line each, e.g. as an assertion message
    (``assert result.exit_code == 0, result.errors``: pytest shows a message's repr), instead
    of raw ``Finding(...)`` reprs."""

    __slots__ = ()

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self) if self else "(no findings)"

    __repr__ = __str__
