"""A first look without an Exact account: the demo, and the sandbox on its own."""

from __future__ import annotations

from pathlib import Path

import click

from exact_tui.cli.output import echo_json, say
from exact_tui.cli.wiring import console_options, fail


@click.command()
@click.option(
    "--headless",
    is_flag=True,
    help="No console: connect, import, ingest and export until idle, then print a summary.",
)
@click.option("--json", "as_json", is_flag=True, help="With --headless: the summary as JSON.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo store in this directory (default: a temporary one, removed at exit).",
)
@console_options
def demo(
    headless: bool, as_json: bool, directory: Path | None, read_only: bool, ansi: bool
) -> None:
    """A first look without an Exact account: the sandbox, a fresh demo store, demo documents
    and a worker, with the console in front (never touches your own store)."""
    import asyncio
    import tempfile
    from contextlib import ExitStack

    from exact_tui.demo.world import kept_store_help

    if as_json and not headless:
        raise click.UsageError("--json goes with --headless")
    with ExitStack() as stack:
        kept = directory is not None
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="exact-tui-demo-"))
            )
        elif directory.exists() and any(directory.iterdir()):
            fail(f"{directory} is not empty: the demo starts from a fresh store")
        directory.mkdir(parents=True, exist_ok=True)
        if headless:
            from exact_tui.demo.headless import run_headless

            summary = asyncio.run(run_headless(directory, keep=kept))
            if not kept:
                summary.store = "removed at exit (--dir keeps it)"
            if as_json:
                echo_json(summary.as_dict())
            else:
                say("\n".join(summary.lines()))
        else:
            from exact_tui.demo.console import run_console

            run_console(directory, read_only=read_only, ansi=ansi, keep=kept)
        if kept:
            say("\n".join(kept_store_help(directory, fleet=not headless)), err=True)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--size",
    type=click.Choice(["small", "large"]),
    default="small",
    show_default=True,
    help="small: the demo's 3 divisions; large: 2 divisions of 20,000 accounts each.",
)
@click.option(
    "--users",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Exact users, each with divisions of their own (the login page asks which one).",
)
@click.option(
    "--divisions-per-user",
    type=click.IntRange(1, 999),
    default=None,
    help="Divisions of every user (default: the size's for the first user, 2 for the others).",
)
def sandbox(port: int, seed: int, size: str, users: int, divisions_per_user: int | None) -> None:
    """Serve the Exact Online sandbox on 127.0.0.1 until stopped (control API under /_sandbox/)."""
    from exact_tui.sandbox.server import serve

    who = "" if users == 1 else f", {users} users"
    say(f"Exact Online sandbox on http://127.0.0.1:{port} (seed {seed}, {size}{who}); ctrl+c stops")
    serve(port, seed=seed, size=size, users=users, divisions_per_user=divisions_per_user)


COMMANDS = (demo, sandbox)
