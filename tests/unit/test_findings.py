"""Findings' provenance: a user can open the public page a promise comes from
(harness/findings.py)."""

from __future__ import annotations

from harness import schemas
from harness.findings import Finding, Severity, Source
from harness.openapi import build


def test_a_seed_with_a_known_page_cites_its_public_url_first() -> None:
    source = Source.from_schema(schemas.load("wavespeed-v3/image-input"))
    assert source is not None
    assert source.public_url == "https://wavespeed.ai/docs/docs-api/wavespeed-ai/minicpm-v-image"
    assert str(source) == ("https://wavespeed.ai/docs/docs-api/wavespeed-ai/minicpm-v-image "
                           "(seeds/000_ed8972f90c0253f6.txt) § Request Parameters")
    assert source.to_dict() == {"url": source.public_url,
                                "document": "seeds/000_ed8972f90c0253f6.txt",
                                "section": "Request Parameters"}


def test_a_document_without_a_known_page_keeps_its_local_path() -> None:
    source = Source("providers.md", "3. ModelBest (seed 001)")
    assert source.public_url == "" and str(source) == "providers.md § 3. ModelBest (seed 001)"
    assert Source("x.txt", url="https://example.org/x").public_url == "https://example.org/x"


def test_findings_and_openapi_carry_the_url() -> None:
    finding = Finding("c", Severity.ERROR, "m", source=Source("seeds/002_75b1c80ac3f9b814.txt"))
    data = finding.to_dict()
    assert data["source"]["url"] == "https://fal.ai/models/fal-ai/mini-cpm/api"
    assert Finding.from_dict(data) == finding
    doc = build("fal")
    cited = [op["x-source"] for path in doc["paths"].values() for op in path.values()
             if isinstance(op, dict) and "x-source" in op]
    assert any(c["url"] == "https://fal.ai/models/fal-ai/mini-cpm/video/api" for c in cited)
