"""Regenerate screenshots/*.svg from the real app over the demo's data (`exact-tui demo`): the
sandbox in-process, connected, imported, configured with its deliberate gaps, the demo documents
ingested and exported until idle. The Fleet screen is shot over the demo's fleet (four tenants,
each its own Exact user), the other screens over one tenant's store (the Flexwerk tenant's
world). Run with `make screenshots`."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exact_tui.demo.fleet import build_fleet  # noqa: E402
from exact_tui.demo.world import TIMEZONE, DemoWorld, build_world  # noqa: E402
from exact_tui.services.audit import Actor  # noqa: E402
from exact_tui.services.console import ConsoleServices, operator_actions  # noqa: E402
from exact_tui.services.fleet import fleet_services  # noqa: E402
from exact_tui.store.engine import Store, open_store  # noqa: E402
from exact_tui.store.models import WorkerHeartbeat  # noqa: E402
from exact_tui.ui.app import build_app  # noqa: E402
from exact_tui.ui.fleet import FleetApp  # noqa: E402

SHOTS: list[tuple[str, Sequence[str]]] = [
    ("status", ()),
    ("connect", ("c",)),
    ("confirm-unlink", ("x",)),
    ("export-log", ("l",)),
    ("failures-by-cause", ("l", "g")),
    ("filter", ("l", "slash", *"REV-EVENT")),
    ("job-detail", ("l", "slash", *"2026-0015", "enter", "enter")),
    ("confirm-retry-all", ("l", "g", "enter", "R")),
    ("help", ("l", "question_mark")),
    ("divisions", ("d",)),
    ("bind-division-to-organization", ("d", "shift+tab", "enter")),
    ("bind-bank-account", ("d", "enter")),
    ("bind-bank-journal", ("d", "enter", "enter")),
    ("mappings", ("m",)),
    ("map-target", ("m", "enter")),
    ("accounts", ("a",)),
    ("link-customer", ("a", "j", "j", "j", "enter")),
    ("accounts-for-customer", ("l", "slash", *"2026-0014", "enter", "b")),
    ("unlink-confirm", ("a", "j", "u")),
    ("master-data", ("t",)),
]
#: Workers that wait for a dialog to be answered: a shot never waits for them.
FLOWS = {"bind", "map", "link"}


async def settle(app: Any, pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        busy = [w for w in app.workers if w.group not in FLOWS and w.is_running]
        await asyncio.gather(*(worker.wait() for worker in busy), return_exceptions=True)
    await pilot.pause()


async def shoot(world: DemoWorld, db: Path, name: str, keys: Sequence[str], out: Path) -> None:
    store = open_store(f"sqlite:///{db}")
    # The demo as it runs: its worker beats beside the console, as in `exact-tui demo`.
    worker, link = replace(world, store=store).worker(poll_seconds=0.2)
    running = asyncio.create_task(worker.run())
    actions = operator_actions(
        store,
        Actor("anna", "tui"),
        open_secrets=lambda: world.secrets,
        connect_settings=world.connect_settings(),
        transport=world.transport,
    )
    app = build_app(ConsoleServices(store, timezone=TIMEZONE, actions=actions))
    try:
        await _beating(store)
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            for key in keys:
                await pilot.press(key)
                await settle(app, pilot)
            app.save_screenshot(filename=f"{name}.svg", path=str(out))
    finally:
        worker.stop()
        await running
        await link.close()
        store.dispose()


async def _beating(store: Store) -> None:
    """Wait until the worker has beaten once, so the console opens on a running worker."""
    for _ in range(200):
        with store.read() as session:
            beat = select(WorkerHeartbeat).where(col(WorkerHeartbeat.state) == "running")
            if session.exec(beat).first() is not None:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError("the demo's worker did not start")


async def demo_world(directory: Path) -> DemoWorld:
    world = await build_world(directory)
    worker, link = world.worker(poll_seconds=0.05)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    world.store.dispose()
    return world


FLEET_SHOTS: list[tuple[str, Sequence[str]]] = [
    ("fleet", ()),
    ("fleet-failures-by-cause", ("g",)),
]


async def shoot_fleet(directory: Path, out: Path) -> None:
    """The Fleet screens over the demo's fleet, once its workers have done what they can."""
    fleet = await build_fleet(directory)
    await fleet.drain()
    services = fleet_services(fleet.store, Actor("anna", "tui"), timezone=TIMEZONE)
    try:
        for name, keys in FLEET_SHOTS:
            app = FleetApp(services.rows, now=services.now, services=services)
            async with app.run_test(size=(120, 36)) as pilot:
                await settle(app, pilot)
                for key in keys:
                    await pilot.press(key)
                    await settle(app, pilot)
                app.save_screenshot(filename=f"{name}.svg", path=str(out))
            sys.stdout.write(f"{out / name}.svg\n")
    finally:
        fleet.store.dispose()


def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(shoot_fleet(Path(tmp), out))
    with tempfile.TemporaryDirectory() as tmp:
        world = asyncio.run(demo_world(Path(tmp)))
        demo = Path(tmp) / "demo.db"
        for name, keys in SHOTS:
            # Every shot starts from the demo's store as the worker left it.
            db = Path(tmp) / f"{name}.db"
            shutil.copy(demo, db)
            asyncio.run(shoot(world, db, name, keys, out))
            sys.stdout.write(f"{out / name}.svg\n")


if __name__ == "__main__":
    main()
