"""``vlm-harness serve``: the reference mock on a port."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.app import ConfigOpt, LocalFlavourOpt, app, clean_errors, settings
from harness.errors import UsageError


@app.command()
@clean_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    tls: Annotated[bool, typer.Option(
        "--tls", help="Serve HTTPS with a throwaway CA (printed), e.g. for fal-client.")] = False,
    faults: Annotated[str, typer.Option(
        help="Server-wide faults, e.g. 'status=429,retry-after=1' or 'ttft=200,tps=20'.")] = "",
    seed: Annotated[int, typer.Option(help="Seed of the generated answers.")] = 0,
    providers: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    defects: Annotated[str, typer.Option(
        help="Plant contract defects (e.g. 'missing-done,key-leak') to prove your tests catch them."
    )] = "",
    workers: Annotated[int, typer.Option(
        help="Worker processes behind the one port (jobs and uploads are shared).")] = 1,
    strict: Annotated[bool | None, typer.Option(
        "--strict/--no-strict", help="Refuse requests past advisory limits (ones no document "
        "states) and read ambiguous units ('10 MB') strictly; by default they pass with a "
        "header (config: strict).")] = None,
    time_scale: Annotated[float | None, typer.Option(
        help="Realtime clock: 1 (default) keeps the documented session limits and pacing; 0.01 "
             "runs them 100x faster, for tests (config: time_scale).")] = None,
    config_file: ConfigOpt = None,
    key: Annotated[list[str] | None, typer.Option(
        "--key", help="Also accept this key for every provider, e.g. the one your gateway "
        "sends upstream (repeatable; never printed).")] = None,
    any_key: Annotated[bool, typer.Option(
        "--any-key", help="Accept any non-empty key (a missing key is still refused).")] = False,
    local_flavour: LocalFlavourOpt = None,
) -> int:
    """Serve the reference mock; print the key, each API's base URL and the SDK snippets."""
    from harness.mock import serve as serve_mod

    if not 0 <= port <= 65535:  # socket.bind raises OverflowError, not OSError, out of range
        raise UsageError(f"--port must be 0..65535, got {port}")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    chosen = settings(config_file, {"strict": strict, "time_scale": time_scale},
                       {"strict": False, "time_scale": 1.0})
    strict, time_scale = bool(chosen["strict"]), float(chosen["time_scale"])
    if not 0 < time_scale <= 100:
        raise UsageError(f"--time-scale must be > 0 and <= 100, got {time_scale:g}")
    return serve_mod.command(host=host, port=port, tls=tls, faults_spec=faults, seed=seed,
                             names=providers, defects_spec=defects, workers=workers,
                             strict=strict, time_scale=time_scale, keys=tuple(key or ()),
                             any_key=any_key, local_flavour=local_flavour)
