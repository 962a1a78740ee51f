"""One of the two processes of the two-process refresh test (not a test module itself).

It opens the shared store, builds an authenticated session the way the worker does, and for
every `go` line on stdin makes one call to Exact and answers `ok <refreshes so far>` (or
`error …`). Its clock is real time plus the offset in the file the test writes after moving the
sandbox's clock: the only hook, and it lives here, outside the product.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

from exact_tui.exact.errors import ExactError
from exact_tui.secret_store import open_secret_store
from exact_tui.services.exact_session import exact_session
from exact_tui.store.engine import open_store


def file_clock(path: Path) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(path.read_text()))


async def run(db_url: str, clock_file: Path) -> None:
    store = open_store(db_url)
    loop = asyncio.get_running_loop()
    async with exact_session(
        store, open_secret_store("env"), clock=lambda: file_clock(clock_file)
    ) as session:
        print("ready", flush=True)
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
            try:
                await session.client.current_me()
            except ExactError as exc:
                print(f"error {type(exc).__name__}: {exc}", flush=True)
                continue
            print(f"ok {session.tokens.refreshes}", flush=True)
    store.dispose()


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], Path(sys.argv[2])))
