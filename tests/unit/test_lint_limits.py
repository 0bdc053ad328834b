"""The ``limits`` lint rule: enforced limits cite a source; advisory ones and ambiguous units
are listed (harness/lint/limit_rules.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import schemas
from harness.findings import Finding, Severity
from harness.lint import exit_code, lint


@pytest.fixture(scope="module")
def shipped() -> list[Finding]:
    return lint(rules=("limits",))


def messages(findings: list[Finding], severity: Severity) -> list[str]:
    """``file: message`` of each finding of ``severity``."""
    return [f"{dict(f.extra)['file']}: {f.message}" for f in findings if f.severity is severity]


@pytest.mark.parametrize("expected", [
    "fal.yaml: advisory limit image.max_count 8",
    "modelbest.yaml: advisory limit image.max_count 8",
    "mimo.yaml: advisory limit image.max_count 16",
    "wavespeed.yaml: advisory limit image.max_bytes 10485760",
    "fal.yaml: advisory limit video.max_bytes 104857600",
    "image-input.json: advisory limit maxLength 4096 at /properties/custom_prompt",
    "image-input.json: advisory limit additionalProperties False at /",
    "request.json: advisory limit maximum 16 at /properties/n",
])
def test_each_advisory_limit_is_listed_as_a_warning(shipped: list[Finding], expected: str) -> None:
    assert any(expected in m for m in messages(shipped, Severity.WARNING)), expected


def test_ambiguous_units_are_listed_with_both_readings(shipped: list[Finding]) -> None:
    found = [m for m in messages(shipped, Severity.WARNING) if "ambiguous unit" in m]
    assert any("image.max_bytes 10485760" in m and "10,000,000 bytes" in m for m in found)
    assert any("video.max_bytes 314572800" in m and "300,000,000" in m for m in found)


def test_sourced_limits_are_not_listed(shipped: list[Finding]) -> None:
    text = "\n".join(messages(shipped, Severity.WARNING))
    assert "/properties/seed" not in text and "preset_prompt" not in text
    assert "mimo.yaml: advisory limit image.max_bytes" not in text
    assert messages(shipped, Severity.ERROR) == [] and exit_code(shipped) == 0


def test_an_enforced_limit_without_its_own_source_fails(tmp_path: Path) -> None:
    """A maxLength inheriting only the file's prose citation is unsourced: a project error."""
    root = Path(shutil.copytree(schemas.schema_root(), tmp_path / "schemas"))
    path = root / "wavespeed-v3/image-input.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["properties"]["custom_prompt"]["maxLength"] = 100
    path.write_text(json.dumps(doc), encoding="utf-8")
    found = lint(root, rules=("limits",))
    [error] = [f for f in found if f.is_error]
    assert "unsourced limit maxLength 100 at /properties/custom_prompt" in error.message
    assert error.schema_pointer == "/properties/custom_prompt/maxLength"
    assert exit_code(found) == 1
    doc["properties"]["custom_prompt"]["x-source"] = {"document": "seeds/000_ed8972f90c0253f6.txt",
                                                      "section": "Request Parameters"}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert [f for f in lint(root, rules=("limits",)) if f.is_error] == []
