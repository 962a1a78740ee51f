"""`exact-tui demo`: the sandbox served on 127.0.0.1 (so its login and consent pages open in a
browser), the demo's fleet of four tenants (demo/fleet.py), its workers in a background thread,
and the console in front: it opens on Fleet, enter opens a tenant, leaving it comes back."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from exact_tui.config import LogSettings, Settings
from exact_tui.demo import data
from exact_tui.demo.fleet import DemoFleet, build_fleet
from exact_tui.demo.world import TIMEZONE
from exact_tui.logging_setup import configure_logging
from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.server import ServerThread
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, operator_actions
from exact_tui.services.fleet import fleet_services
from exact_tui.services.worker import Worker
from exact_tui.ui.app import build_app
from exact_tui.ui.fleet import run_fleet


class BackgroundWorkers:
    """The fleet's workers, in their own thread and event loop, so the console never waits on
    them."""

    def __init__(self, fleet: DemoFleet) -> None:
        self.fleet = fleet
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[Worker] = []
        self._thread = threading.Thread(target=self._run, name="demo-workers", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        pairs = self.fleet.workers()
        self._loop, self._workers = asyncio.get_running_loop(), [w for w, _ in pairs]
        self._started.set()
        try:
            await asyncio.gather(*(worker.run() for worker, _ in pairs))
        finally:
            for _, link in pairs:
                await link.close()

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None:
            for worker in self._workers:
                self._loop.call_soon_threadsafe(worker.stop)
        self._thread.join(timeout)


def run_console(directory: Path, *, read_only: bool, ansi: bool, keep: bool = False) -> None:
    say = sys.stderr.write
    say("exact-tui demo: starting the Exact Online sandbox… ")
    server = ServerThread(Sandbox(seed=1, size="small", users=data.FLEET_USERS))
    server.start()
    # The console logs what goes wrong (with its traceback) beside the demo's store.
    configure_logging(Settings(log=LogSettings(file=str(directory / "exact-tui.log"))))
    say(
        f"{server.base_url}\nconnecting {len(data.FLEET)} tenants, importing master data, "
        "loading the demo documents… "
    )
    fleet = asyncio.run(
        build_fleet(directory, sandbox=server.sandbox, served_at=server.base_url, keep=keep)
    )
    say("done\n")
    workers = BackgroundWorkers(fleet)
    workers.start()
    across = fleet_services(
        fleet.store, Actor.current("tui"), read_only=read_only, timezone=TIMEZONE
    )

    def open_tenant(code: str) -> str | None:
        world = fleet.tenants[code]
        actions = operator_actions(
            world.store,
            Actor.current("tui"),
            open_secrets=lambda: fleet.secrets,
            connect_settings=world.connect_settings(),
            timezone=TIMEZONE,
        )
        services = ConsoleServices(
            world.store, timezone=TIMEZONE, actions=actions, tenant=code, fleet=across
        )
        return build_app(services, read_only=read_only, ansi=ansi).run()

    try:
        run_fleet(across, open_tenant, ansi=ansi, read_only=read_only)
    finally:
        say("exact-tui demo: stopping the workers and the sandbox… ")
        workers.stop()
        server.stop()
        fleet.store.dispose()
        say("done\n")
