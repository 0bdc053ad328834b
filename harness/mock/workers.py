"""``vlm-harness serve --workers N``: N worker processes of the mock behind one listening port.

The parent binds the socket (and makes the TLS certificate) once; uvicorn's own supervisor
(``uvicorn.supervisors.Multiprocess``) starts the workers, which accept on that shared socket,
restarts one that dies and stops them all on Ctrl-C or SIGTERM. Each worker builds the app from
the parent's configuration (handed over in an environment variable, as spawned processes
cannot share Python objects) with its own name, so the ids it mints never collide with a
sibling's, and with the folder where jobs and uploads live (:mod:`harness.mock.shared_store`):
a WaveSpeed prediction or a fal request created by one worker can be polled, cancelled or
downloaded through any other. A realtime session is a WebSocket, so it stays on the worker
that accepted it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from harness.mock.config import MockConfig

ENV = "VLM_HARNESS_MOCK_WORKER"


def app() -> Starlette:
    """The app of one worker (uvicorn's factory, called in each spawned process)."""
    from harness.mock.allocator import keep_large_blocks
    from harness.mock.app import build_app

    keep_large_blocks()  # as the parent did: a spawned worker starts with malloc's defaults
    spec = json.loads(os.environ[ENV])
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in spec["config"].items()}
    config = MockConfig(**{**fields, "worker": f"w{os.getpid()}"})  # JSON made tuples lists
    return build_app(config, spec["names"])


def run(served: Any, workers: int, log_level: str = "info") -> None:
    """Serve ``served`` (a :class:`harness.mock.serve.ServedMock`, its socket bound and its
    certificate made) with ``workers`` processes until Ctrl-C or SIGTERM."""
    shared = tempfile.mkdtemp(prefix="vlm-harness-shared-")  # mode 0700
    fields = {f.name: getattr(served.config, f.name) for f in dataclasses.fields(served.config)}
    fields |= {"keys": dict(served.config.keys), "shared_dir": shared}
    os.environ[ENV] = json.dumps({"config": fields, "names": served.names})
    config = uvicorn.Config(f"{__name__}:app", factory=True, workers=workers,
                            log_level=log_level, lifespan="off", access_log=False,
                            ssl_certfile=served.certfile,
                            timeout_graceful_shutdown=served.grace_s)
    try:
        Multiprocess(config, sockets=[served.socket]).run()
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(shared, ignore_errors=True)
