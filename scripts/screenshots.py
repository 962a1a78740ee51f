"""Regenerate screenshots/*.svg from the real app, over a store this script seeds itself
(the console tests' seed, at a frozen time). Run with `make screenshots`."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exact_tui.services.console import ConsoleActions, ConsoleServices  # noqa: E402
from exact_tui.store.engine import open_store  # noqa: E402
from exact_tui.ui.app import build_app  # noqa: E402
from tests.console_seed import FrozenClock, seed  # noqa: E402

SHOTS: list[tuple[str, Sequence[str]]] = [
    ("status", ()),
    ("export-log", ("l",)),
    ("failures-by-cause", ("l", "g")),
    ("filter", ("l", "slash", *"21-EU")),
    ("job-detail", ("l", "j", "j", "j", "enter")),
    ("confirm-retry-all", ("l", "g", "enter", "R")),
    ("help", ("l", "question_mark")),
]


async def shoot(db: Path, name: str, keys: Sequence[str], out: Path) -> None:
    store = open_store(f"sqlite:///{db}")
    actions = ConsoleActions(retry_filtered=lambda flt: "queued")
    services = ConsoleServices(
        store, timezone="Europe/Amsterdam", clock=FrozenClock(), actions=actions
    )
    app = build_app(services)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
    store.dispose()


def main() -> None:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "screenshots.db"
        store = open_store(f"sqlite:///{db}")
        seed(store)
        store.dispose()
        for name, keys in SHOTS:
            asyncio.run(shoot(db, name, keys, out))
            sys.stdout.write(f"{out / name}.svg\n")


if __name__ == "__main__":
    main()
