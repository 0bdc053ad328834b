"""Cross-checks of a profile against the schemas: every schema it cites (its operations', its
dialect's, its flavours') exists, is used by one of its endpoints and is a valid schema.
``vlm-harness lint`` reports them; each flavour is checked as the profile it makes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import MappingProxyType
from typing import TYPE_CHECKING

import jsonschema

from harness import schemas

if TYPE_CHECKING:  # the profile module imports this one
    from harness.providers import Profile


def profile_problems(profile: Profile) -> Iterator[str]:
    """Cross-checks a profile against the schemas: every name it cites must exist."""
    known_schemas = set(schemas.names())
    for api in profile.apis:
        for op in api.operations():
            for ref in filter(None, (op.request, op.endpoint.stream, *op.endpoint.responses.values())):
                if ref not in known_schemas:
                    yield f"{profile.name}: {op.key} cites missing schema {ref!r}"
    used = {ref for api in profile.apis for op in api.operations() for ref in (
        op.request, op.endpoint.stream, api.protocol.error, *op.endpoint.responses.values())}
    for ref in profile.dialect:
        if ref not in known_schemas:
            yield f"{profile.name}: dialect overlays missing schema {ref!r}"
        elif ref not in used:
            yield f"{profile.name}: dialect overlays {ref!r}, which no endpoint of it uses"
    for ref, overlay in profile.dialect.items():
        try:
            jsonschema.Draft7Validator.check_schema(schemas.strip_annotations(overlay))
        except jsonschema.SchemaError as exc:
            yield f"{profile.name}: dialect overlay for {ref!r} is not a valid schema: {exc.message}"
    if profile.flavour is not None or not profile.flavours:
        return
    plain = set(profile_problems(dataclasses.replace(profile, flavours=MappingProxyType({}))))
    for name, flavour in profile.flavours.items():
        for ref in flavour.schemas:
            if ref not in used:
                yield f"{profile.name}: flavour {name} replaces {ref!r}, which no endpoint of it uses"
        for problem in profile_problems(profile.flavoured(name)):
            if problem not in plain:
                yield f"{problem} (flavour {name})"
