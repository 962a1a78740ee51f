"""`exact-tui demo`: the sandbox served on 127.0.0.1 (so its consent page opens in a browser),
the demo world, a worker in a background thread, and the console in front."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from exact_tui.config import LogSettings, Settings
from exact_tui.demo.world import TIMEZONE, DemoWorld, build_world
from exact_tui.logging_setup import configure_logging
from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.server import ServerThread
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, operator_actions
from exact_tui.services.worker import Worker
from exact_tui.ui.app import build_app


class BackgroundWorker:
    """The demo's worker, in its own thread and event loop, so the console never waits on it."""

    def __init__(self, world: DemoWorld) -> None:
        self.world = world
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None
        self._thread = threading.Thread(target=self._run, name="demo-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        worker, link = self.world.worker()
        self._loop, self._worker = asyncio.get_running_loop(), worker
        self._started.set()
        try:
            await worker.run()
        finally:
            await link.close()

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._worker is not None:
            self._loop.call_soon_threadsafe(self._worker.stop)
        self._thread.join(timeout)


def run_console(directory: Path, *, read_only: bool, ansi: bool, keep: bool = False) -> None:
    say = sys.stderr.write
    say("exact-tui demo: starting the Exact Online sandbox… ")
    server = ServerThread(Sandbox(seed=1, size="small"))
    server.start()
    # The console logs what goes wrong (with its traceback) beside the demo's store.
    configure_logging(Settings(log=LogSettings(file=str(directory / "exact-tui.log"))))
    say(f"{server.base_url}\nconnecting, importing master data, loading the demo documents… ")
    world = asyncio.run(
        build_world(directory, sandbox=server.sandbox, served_at=server.base_url, keep=keep)
    )
    say("done\n")
    worker = BackgroundWorker(world)
    worker.start()
    try:
        actions = operator_actions(
            world.store,
            Actor.current("tui"),
            open_secrets=lambda: world.secrets,
            connect_settings=world.connect_settings(),
            timezone=TIMEZONE,
        )
        services = ConsoleServices(world.store, timezone=TIMEZONE, actions=actions)
        build_app(services, read_only=read_only, ansi=ansi).run()
    finally:
        say("exact-tui demo: stopping the worker and the sandbox… ")
        worker.stop()
        server.stop()
        world.store.dispose()
        say("done\n")
