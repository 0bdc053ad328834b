"""The project config file: ``[tool.vlm-harness]`` in pyproject.toml, or ``vlm-harness.toml``.

A project writes its harness settings once (target, gateway URLs per API, routing headers, model
aliases, waivers...) instead of repeating flags. The file is the one named by ``--config`` /
``--vlm-config``, else the nearest one from the current folder upward: in each folder
``vlm-harness.toml`` (settings at top level) wins over a ``pyproject.toml`` that has a
``[tool.vlm-harness]`` table; a pyproject.toml without that table is passed over. Precedence,
each layer overriding only the keys it names: **command line > pytest marker / ``vlm_config``
fixture / ini file > config file > defaults**. Every key is declared once in :data:`KEYS` (name
-> :class:`Key`), so adding a setting is one line there; values are checked against the key's
kind when the file is read, and every error names the file and the key (an unknown key lists
the known ones).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness import waivers
from harness.errors import UsageError

FILE_NAME = "vlm-harness.toml"
TABLE = "vlm-harness"  # [tool.vlm-harness] in pyproject.toml


class ConfigError(UsageError):
    """The config file does not parse, or a key is unknown or of the wrong kind."""


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an integer")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a number")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _specs(value: Any) -> tuple[str, ...]:
    """Repeatable ``A=B`` flags: a string, a list of strings, or a table ``{A = "B"}``."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return tuple(f"{k}={v}" for k, v in value.items())
    raise TypeError('a string, a list of strings or a table of strings ({ NAME = "VALUE" })')


def _table(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("a table")
    return MappingProxyType(value)


def _tables(value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError("an array of tables ([[...]] entries)")
    return tuple(MappingProxyType(v) for v in value)


# A converter raises TypeError("<what was expected>") or ValueError("<what is wrong>").
KINDS: dict[str, Callable[[Any], Any]] = {
    "str": _str, "int": _int, "float": _float, "bool": _bool, "specs": _specs,
    "table": _table, "tables": _tables, "waivers": waivers.parse}


@dataclass(frozen=True, slots=True)
class Key:
    """One config key: its kind (a name in :data:`KINDS`) and what it means (for errors/docs)."""

    kind: str
    help: str


# Names match the pytest plugin's settings (``vlm_<name>``) and the CLI flags (``--<name>``).
# Add a key with one line; a dash in a file's key is read as an underscore.
KEYS: dict[str, Key] = {
    "target": Key("str", "mock, url, gateway, cassette, live or local"),
    "provider": Key("str", "all, or a comma list of providers"),
    "checks": Key("str", "comma list of checks (default: all)"),
    "base_url": Key("specs", "server root or API base; API=URL per API (repeatable)"),
    "header": Key("specs", "[API:]Name=Value request headers (repeatable)"),
    "model": Key("specs", "PROVIDER_MODEL=ALIAS model aliases (repeatable)"),
    "seed": Key("int", "seed of generated requests and of the mock's answers"),
    "max_requests": Key("int", "live budget: requests per provider"),
    "max_cost": Key("float", "live budget: estimated USD per provider"),
    "reports_dir": Key("str", "where results.json, junit.xml and index.html go"),
    "cassette_dir": Key("str", "where cassettes are recorded and replayed"),
    "record_mode": Key("str", "vcrpy record mode of the cassette target"),
    "concurrency": Key("int", "contract cases in flight at once within one run (default 1)"),
    "format": Key("str", "output of run/fuzz/drift: table, plain or json (default: table on a "
                  "terminal, plain elsewhere)"),
    "allow_empty": Key("bool", "a run that checks nothing exits 0 instead of 3"),
    "timeout": Key("float", "seconds for one whole request, stream included"),
    "check_timeout": Key("float", "seconds for one check and all its requests"),
    "run_timeout": Key("float", "seconds for the whole run; cases not started are skipped"),
    "upstream": Key("str", "gateway target: a running `vlm-harness serve` as the upstream"),
    "capabilities": Key("str", "url/local: the capabilities offered (comma list) instead of "
                        "discovering them"),
    "local_flavour": Key("str", "local: the server program behind it (vllm, sglang, llama.cpp, "
                         "llama-cpp-python), whose dialect the checks expect"),
    "waiver": Key("waivers", "[[waiver]] entries: known deviations that do not fail a run"),
    "strict": Key("bool", "the mock refuses requests past advisory limits (no document states "
                          "them) and reads ambiguous units strictly"),
    "time_scale": Key("float", "the served mock's realtime clock (1: the documents' own)"),
}


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """The checked values of one config file (``path`` None: no file, every key unset)."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, name: str, default: Any = None) -> Any:
        if name not in KEYS:  # a typo in the harness's own code, not in the user's file
            raise KeyError(name)
        return self.values.get(name, default)

    def pick(self, name: str, given: Any, default: Any = None) -> Any:
        """A command-line value when given (not None, not an empty repeat), else this file's,
        else ``default``: the precedence of every command."""
        if given is not None and given != ():
            return given
        return self.get(name, default)

    def where(self, name: str) -> str:
        """How an error names this key: ``pyproject.toml [tool.vlm-harness] base_url``."""
        section = f" [tool.{TABLE}]" if self.path and self.path.name == "pyproject.toml" else ""
        return f"{self.path}{section} {name}"


def _table_of(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    if path.name != "pyproject.toml":
        return data
    table = data.get("tool", {}).get(TABLE)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table")
    return table


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def find(start: Path | None = None) -> Path | None:
    """The nearest config file from ``start`` (default: the current folder) upward."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / FILE_NAME
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                has_table = _table_of(pyproject, _read(pyproject)) is not None
            except ConfigError:
                has_table = False  # someone else's broken pyproject is not ours to report
            if has_table:
                return pyproject
    return None


def parse(path: Path, table: Mapping[str, Any]) -> ProjectConfig:
    """Check ``table`` (the file's settings) key by key against :data:`KEYS`."""
    values: dict[str, Any] = {}
    for raw_name, raw in table.items():
        name = raw_name.replace("-", "_")
        key = KEYS.get(name)
        where = ProjectConfig(path).where(raw_name)
        if key is None:
            raise ConfigError(f"{where}: unknown key; known: {', '.join(sorted(KEYS))}")
        try:
            values[name] = KINDS[key.kind](raw)
        except TypeError as exc:
            raise ConfigError(f"{where}: expected {exc}, got {raw!r} ({key.help})") from None
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return ProjectConfig(path, MappingProxyType(values))


def load(path: Path | str | None = None, *, start: Path | None = None) -> ProjectConfig:
    """The config ``path`` names (``--config``; it must exist), else the nearest one, else an
    empty config."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--config {path}: no such file")
    else:
        path = find(start)
        if path is None:
            return ProjectConfig()
    table = _table_of(path, _read(path))
    if table is None:
        raise ConfigError(f"--config {path}: has no [tool.{TABLE}] table")
    return parse(path, table)
