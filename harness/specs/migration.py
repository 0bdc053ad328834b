"""``vlm-harness diff OLD NEW``: the migration guide between any two specs, older side first.

:func:`diff_specs` puts the message comparison of :mod:`~harness.specs.diff`, the prose facts
of :mod:`~harness.specs.facts` and the document description (as a word-level diff) together.
``provenance=False`` leaves out the root title/description of each message, the text our own
folders write about where a message came from, so an import can be checked for equivalence.
:func:`command` prints the guide (or ``--json``), names which side it treats as older
(``--reverse`` swaps them) and exits 1 when a change breaks a client.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from harness.drift.classify import Change
from harness.drift.schema_diff import Direction
from harness.drift.wording import describe
from harness.errors import UsageError
from harness.specs.diff import compare_all, compare_messages
from harness.specs.facts import diff_facts
from harness.specs.model import Message, Spec
from harness.specs.read import read_spec


def _without_provenance(messages: dict[str, Message]) -> dict[str, Message]:
    out = {}
    for key, message in messages.items():
        root = message.nodes.get("")
        nodes = {**message.nodes, "": replace(root, description="")} if root else message.nodes
        out[key] = replace(message, nodes=nodes)
    return out


def diff_specs(old: Spec, new: Spec, provenance: bool = True) -> list[Change]:
    """Classified changes from ``old`` to ``new``, breaking first."""
    before, after = old.messages, new.messages
    if not provenance:
        before, after = _without_provenance(before), _without_provenance(after)
    if old.kind == new.kind == "schema":  # two versions of one schema file: its one message
        (o,), (n,) = before.values(), after.values()
        out = compare_messages(o, n, n.key, n.key)
    else:
        out = compare_all(before, after)

    def sent(where: str) -> bool:
        message = after.get(where.split("#", 1)[0]) or before.get(where.split("#", 1)[0])
        return message is None or message.direction is Direction.REQUEST

    out += diff_facts(old.facts, new.facts, sent)
    if old.description != new.description and old.description and new.description:
        out.append(describe(old.description, new.description, "description"))
    return sorted(out, key=lambda c: -c.kind.rank)


def _check_related(old: Spec, new: Spec) -> None:
    """Two unrelated documents used to yield 'no changes' or a bogus guide: refuse them."""
    openapi = {s.kind == "openapi" for s in (old, new)}
    if len(openapi) > 1:
        raise UsageError(f"cannot diff {old.kind} {old.source} with {new.kind} {new.source}: "
                         "an OpenAPI document compares only with another")
    if old.messages and new.messages and [old.kind, new.kind].count("schema") == 1 and not (
            set(old.messages) & set(new.messages)):
        raise UsageError(f"cannot diff {old.kind} {old.source} with {new.kind} {new.source}: "
                         "they share no message")


def diff_paths(old: Path, new: Path, provenance: bool = True) -> list[Change]:
    before, after = read_spec(old), read_spec(new)
    _check_related(before, after)
    return diff_specs(before, after, provenance)


def command(old: Path, new: Path, as_json: bool = False, reverse: bool = False,
            provenance: bool = True) -> int:
    """Print the migration guide from the older to the newer; 1 when something breaks."""
    from rich.console import Console

    from harness.drift import guide

    if reverse:
        old, new = new, old
    changes = diff_paths(old, new, provenance)
    if as_json:
        doc = {"older": str(old), "newer": str(new), "summary": guide.summary(changes),
               "changes": [c.to_dict() for c in changes]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        # soft_wrap: long pointers must stay on one line so the guide can be grepped.
        guide.render(changes, Console(soft_wrap=True, highlight=False),
                     f"Migration guide: {old} (older) → {new} (newer)")
    return 1 if any(c.is_breaking for c in changes) else 0
