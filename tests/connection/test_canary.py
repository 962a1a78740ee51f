"""Canary secrets (the client secret, every token, the authorization code, the data key) never
show in the log, in exception text, in `status --json`, in `doctor`, or in the database file."""

from __future__ import annotations

import logging
import os
import traceback
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from exact_tui.cli import group
from exact_tui.config import load_settings
from exact_tui.exact.errors import ExactError
from exact_tui.logging_setup import configure_logging
from tests.connection.kit import ACTOR, NL, World
from tests.stores import stored_text


async def test_canaries_never_leak(world: World, db_url: str, tmp_path: Path) -> None:
    log_file = configure_logging(load_settings())
    logging.getLogger("exact_tui").setLevel(logging.DEBUG)
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    redirect = await world.consent(attempt)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect).query))["code"]
    await world.service.complete(prepared, attempt, redirect, ACTOR)
    failures: list[str] = []
    async with world.session() as session:
        await session.client.get_page(NL, "financial/Journals")
        world.sandbox.advance(600)
        await session.client.get_page(NL, "financial/Journals")  # a refresh
        logging.getLogger("exact_tui.test").info(
            "a careless line: %s %s", redirect, dict(world.sandbox.oauth.refresh)
        )
        world.sandbox.revoke_tokens()
        world.sandbox.advance(600)
        try:
            await session.client.get_page(NL, "financial/Journals")
        except ExactError as exc:
            failures.append("".join(traceback.format_exception(exc)))
            logging.getLogger("exact_tui.test").exception("the refresh failed")
    assert failures and "revoked" in failures[0]
    with pytest.raises(Exception) as refused:
        await world.service.complete(prepared, world.service.begin(prepared), code, ACTOR)
    failures.append("".join(traceback.format_exception(refused.value)))

    runner = CliRunner()
    status = runner.invoke(group, ["--db", db_url, "status", "--json"])
    doctor = runner.invoke(group, ["--db", db_url, "doctor"])
    assert status.exit_code == 0 and doctor.exit_code in (0, 1)
    for handler in logging.getLogger().handlers:
        handler.flush()

    canaries = {
        "client secret": "sandbox-secret",
        "authorization code": code,
        "data key": os.environ["EXACT_TUI_SECRET_KEY"],
    }
    tokens = [*world.sandbox.oauth.access, *world.sandbox.oauth.refresh]
    assert len(tokens) == 4  # two pairs: the connect and the refresh
    canaries.update({f"token {n}": token for n, token in enumerate(tokens)})
    outputs = {
        "log": log_file.read_text(),
        "exceptions": "\n".join(failures),
        "status --json": status.output,
        "doctor": doctor.output,
        "database": stored_text(db_url),
    }
    assert "POST /api/oauth2/token 200" in outputs["log"]  # the log did record the calls
    assert "the refresh failed" in outputs["log"]
    leaks = [
        f"{what} in {where}"
        for what, canary in canaries.items()
        for where, text in outputs.items()
        if canary in text or urllib.parse.quote(canary, safe="") in text
    ]
    assert leaks == []
