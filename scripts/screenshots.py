"""Regenerate screenshots/*.svg from the real app, over a store this script seeds itself
(the console tests' seeds, at a frozen time), its write actions wired to the operator
intents as the CLI wires them. Run with `make screenshots`."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exact_tui.services.audit import Actor  # noqa: E402
from exact_tui.services.console import ConsoleServices, intent_actions  # noqa: E402
from exact_tui.services.intents import Intents  # noqa: E402
from exact_tui.store.engine import open_store  # noqa: E402
from exact_tui.ui.app import build_app  # noqa: E402
from tests.admin_seed import seed_admin  # noqa: E402
from tests.console_seed import FrozenClock, seed  # noqa: E402

SHOTS: list[tuple[str, Sequence[str]]] = [
    ("status", ()),
    ("export-log", ("l",)),
    ("failures-by-cause", ("l", "g")),
    ("filter", ("l", "slash", *"21-EU")),
    ("job-detail", ("l", "j", "j", "j", "j", "enter")),
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
    ("accounts-for-customer", ("l", "b")),
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


async def shoot(db: Path, name: str, keys: Sequence[str], out: Path) -> None:
    store = open_store(f"sqlite:///{db}")
    clock = FrozenClock()
    actions = intent_actions(Intents(store, Actor("anna", "tui"), clock=clock))
    services = ConsoleServices(store, timezone="Europe/Amsterdam", clock=clock, actions=actions)
    app = build_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
    store.dispose()


def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "screenshots.db"
        store = open_store(f"sqlite:///{db}")
        seed(store)
        seed_admin(store)
        store.dispose()
        for name, keys in SHOTS:
            asyncio.run(shoot(db, name, keys, out))
            sys.stdout.write(f"{out / name}.svg\n")


if __name__ == "__main__":
    main()
