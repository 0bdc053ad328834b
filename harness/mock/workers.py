"""``vlm-harness serve --workers N``: N worker processes of the mock behind one listening port.

The parent binds the socket (and makes the TLS certificate) once; uvicorn's own supervisor
(``uvicorn.supervisors.Multiprocess``) starts the workers, restarts one that dies and stops
them all on Ctrl-C or SIGTERM. Each worker runs the mock's own server
(:class:`~harness.mock.server.MockServer`: shaped refusals, the realtime goodbye on shutdown)
and takes its share of the shared socket's connections (:mod:`harness.mock.balance`). Each
worker builds the app from
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

from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess, multiprocess

from harness.mock import server
from harness.mock.balance import Board, Slot
from harness.mock.config import MockConfig
from harness.mock.context import MockState

ENV = "VLM_HARNESS_MOCK_WORKER"
_built: list[MockState] = []  # the app this worker process built (one per process)
_UVICORN_WORKER = multiprocess.Process


class _Worker(multiprocess.Process):
    """uvicorn's worker process, serving with :class:`~harness.mock.server.MockServer` and a
    slot on the supervisor's :class:`Board` (uvicorn's own worker runs a plain server with
    uvicorn's default settings: plain-text refusals and a 1012 close for realtime sessions)."""

    board: Board | None = None  # set by run() for the workers it starts

    def __init__(self, config: Any, sockets: list[Any]) -> None:
        assert self.board is not None, "workers are started by run()"
        self.cells, self.slot = self.board.cells, self.board.assign(self)
        super().__init__(config, sockets)

    @property
    def server(self) -> server.MockServer:
        if self._server is None:
            self._server = server.MockServer(self.config, lambda: _built[0],
                                             Slot(self.cells, self.slot))
        return self._server  # type: ignore[return-value]


def app() -> Starlette:
    """The app of one worker (uvicorn's factory, called in each spawned process)."""
    from harness.mock.allocator import keep_large_blocks
    from harness.mock.app import build_app

    keep_large_blocks()  # as the parent did: a spawned worker starts with malloc's defaults
    spec = json.loads(os.environ[ENV])
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in spec["config"].items()}
    config = MockConfig(**{**fields, "worker": f"w{os.getpid()}"})  # JSON made tuples lists
    built = build_app(config, spec["names"])
    _built.append(built.state.mock)
    return built


def run(served: Any, workers: int, log_level: str = "info") -> None:
    """Serve ``served`` (a :class:`harness.mock.serve.ServedMock`, its socket bound and its
    certificate made) with ``workers`` processes until Ctrl-C or SIGTERM."""
    shared = tempfile.mkdtemp(prefix="vlm-harness-shared-")  # mode 0700
    fields = {f.name: getattr(served.config, f.name) for f in dataclasses.fields(served.config)}
    fields |= {"keys": dict(served.config.keys), "shared_dir": shared}
    os.environ[ENV] = json.dumps({"config": fields, "names": served.names})
    config = server.config(f"{__name__}:app", factory=True, workers=workers,
                           log_level=log_level, ssl_certfile=served.certfile)
    # uvicorn's supervisor makes each worker as multiprocess.Process(config, sockets), in three
    # places; for as long as it runs, that name is the mock's worker.
    _Worker.board, multiprocess.Process = Board(workers), _Worker  # type: ignore[misc]
    try:
        Multiprocess(config, sockets=[served.socket]).run()
    finally:
        multiprocess.Process, _Worker.board = _UVICORN_WORKER, None  # type: ignore[misc]
        os.environ.pop(ENV, None)
        shutil.rmtree(shared, ignore_errors=True)
