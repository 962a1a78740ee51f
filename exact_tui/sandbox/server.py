"""Serving the sandbox over HTTP with uvicorn: in the foreground (the CLI) or in a thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from exact_tui.sandbox.app import create_app
from exact_tui.sandbox.sandbox import Sandbox

# uvicorn reports a deliberately cut answer (the connection_reset fault) as an error.
_STAGED_RESET = "ASGI callable returned without completing response."
_SHUTDOWN_GRACE_S = 1


class _HideStagedResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _STAGED_RESET


def _config(
    sandbox: Sandbox,
    *,
    host: str,
    port: int,
    log_level: str,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> uvicorn.Config:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideStagedResets) for f in logger.filters):
        logger.addFilter(_HideStagedResets())
    app = create_app(sandbox, control=True, network=True)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # The app sends `Date` from the sandbox's clock (which a test may have moved on).
        date_header=False,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        # A commit_then_hang fault may hold an answer for minutes; stopping must not wait for it.
        timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,
    )


def serve(
    port: int,
    *,
    seed: int = 1,
    size: str = "small",
    users: int = 1,
    divisions_per_user: int | None = None,
    host: str = "127.0.0.1",
    log_level: str = "info",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Runs the sandbox (control API on) until interrupted."""
    sandbox = Sandbox(seed=seed, size=size, users=users, divisions_per_user=divisions_per_user)
    config = _config(
        sandbox,
        host=host,
        port=port,
        log_level=log_level,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    uvicorn.Server(config).run()


class ServerThread:
    """The sandbox on a free port of 127.0.0.1 in a background thread; a context manager.

    `base_url` is where it listens (https when a certificate is given). The demo and tests that
    need a real socket (third-party clients, connection resets) use it.
    """

    def __init__(
        self,
        sandbox: Sandbox | None = None,
        *,
        host: str = "127.0.0.1",
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self.sandbox = sandbox or Sandbox()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((host, 0))
        self.port = int(self._socket.getsockname()[1])
        scheme = "https" if ssl_certfile else "http"
        self.base_url = f"{scheme}://{host}:{self.port}"
        config = _config(
            self.sandbox,
            host=host,
            port=self.port,
            log_level="warning",
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
