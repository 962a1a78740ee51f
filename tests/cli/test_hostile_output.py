"""Nothing hostile reaches a terminal through the command line.

Every command that prints data runs over a store whose texts carry terminal escape sequences
(OSC 52 clipboard, window title, clear screen, CSI, 8-bit CSI), bidi controls and line
separators, as Exact's messages or a platform's data could; over an Exact (the sandbox) whose
master data carry them; with file names, arguments and environment values that carry them.
No output holds a character a terminal would act on, and `--json` still says exactly what is
stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path

import pytest
from sqlmodel import select

from exact_tui.domain.text import clean_text
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    DivisionSettings,
    ExactConnection,
    ExportJob,
    WorkerHeartbeat,
)
from exact_tui.store.scoping import tenant_key
from tests.admin_seed import AMBIGUOUS_CUSTOMER, DIVISION, UNBOUND_IBAN, seed_admin
from tests.cli.environments import Run, run_cli
from tests.console_seed import seed

#: One of each: OSC 52 (clipboard), OSC 0 (window title), clear screen, a CSI colour, an 8-bit
#: CSI, a bare BEL and DEL, right-to-left override, isolates, a mark, line separators.
HOSTILE = (
    "\x1b]52;c;aGFja2Vk\x07\x1b]0;pwned\x1b\\\x1b[2J\x1b[31mred\x9b1;1H\x07\x7f"
    "\u202eevil\u202c\u2066iso\u2069\u200f\u061c\u2028line\u2029para"
)
#: What a terminal acts on, or reads in another order: C0 controls but the newline, DEL, C1,
#: bidi controls, line and paragraph separators.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
#: A GL code fits its 20-character column (as the settings intent checks), escapes included.
GL_CODE = f"8900{HOSTILE}"[:20]


def assert_plain(run: Run) -> None:
    for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        found = UNSAFE.search(text)
        assert found is None, (
            f"exact-tui {' '.join(run.args)!r} printed {found.group()!r} on {stream}:\n{text!r}"
        )
    assert "Traceback" not in run.stderr, run.stderr


@pytest.fixture
def env(isolated_env: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k.startswith("EXACT_TUI_")},
        "EXACT_TUI_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "EXACT_TUI_CLIENT_SECRET": "app-secret",
    }


@pytest.fixture
def hostile_store(store: Store) -> Store:
    """The console's seed with the hostile text in every free-text field, and more: the
    connection's reason, a pause reason, a live worker's host and detail, division settings."""
    seed(store, text=HOSTILE)
    seed_admin(store, text=HOSTILE)
    with store.write() as session:
        connection = session.exec(select(ExactConnection)).one()
        connection.reason = f"reason{HOSTILE}"
        connection.exports_paused = True
        connection.paused_reason = f"paused{HOSTILE}"
        session.add(connection)
        session.add(
            WorkerHeartbeat(
                worker_id=f"w{HOSTILE}"[:100],
                host=f"host{HOSTILE}",
                pid=os.getpid(),
                beat_at=dt.datetime.now(dt.UTC),
                detail=f"storage error{HOSTILE}",
            )
        )
        settings = session.get(DivisionSettings, tenant_key(session, DIVISION))
        assert settings is not None
        settings.collection_costs_gl = GL_CODE
        session.add(settings)
    return store


def test_every_command_over_a_hostile_store_prints_plain_text(
    hostile_store: Store, db_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    with hostile_store.read() as session:
        job_ids = [str(job.id) for job in session.exec(select(ExportJob))]
    division = ["--division", str(DIVISION)]
    # JSON stays exact: the hostile text comes back whole.
    jobs = run_cli(["--db", db_url, "jobs", "--json"], env)
    assert_plain(jobs)
    assert any(HOSTILE in (job["cause"] or "") for job in json.loads(jobs.stdout))
    status = run_cli(["--db", db_url, "status", "--json"], env)
    assert_plain(status)
    report = json.loads(status.stdout)
    assert report["connection"]["user_name"] == f"Jan Jansen{HOSTILE}"
    shown = run_cli(["--db", db_url, "settings", *division, "--json"], env)
    assert_plain(shown)
    assert json.loads(shown.stdout)["collection_costs_gl"] == GL_CODE
    commands = [
        ["status"],
        ["jobs"],
        ["jobs", "--search", HOSTILE[:12]],
        ["settings", *division],
        ["retry", *job_ids],
        ["retry", "--all", "--yes"],
        ["map", *division, "--kind", "gl", f"8000{HOSTILE}", "8010"],
        ["map", *division, "--kind", "gl", "8000", f"8010{HOSTILE}"],
        ["settings", *division, "--sales-journal", f"70{HOSTILE}"],
        ["bind", "bank-account", f"{UNBOUND_IBAN}{HOSTILE}", *division, "--journal", "21"],
        ["bind", "division", "100002", "--organization", f"ORG{HOSTILE}"],
        ["unbind", "bank-account", f"NL{HOSTILE}", "--yes"],
        ["link", f"{AMBIGUOUS_CUSTOMER}{HOSTILE}", "3", *division],
        ["link", AMBIGUOUS_CUSTOMER, "1", *division],
        ["unlink", f"C0001{HOSTILE}", *division, "--yes"],
        ["resume"],
        ["pause", "--reason", f"why{HOSTILE}"],
        ["sync", *division],
        ["doctor"],
        ["jobs", "--state", f"x{HOSTILE}"],  # a usage error quotes the value
        ["connect", "--base-url", f"http://exact{HOSTILE}", "--client-id", f"app{HOSTILE}"],
        ["disconnect", "--yes"],
    ]
    for args in commands:
        assert_plain(run_cli(["--db", db_url, *args], env))


def test_hostile_file_names_and_environment(
    store: Store, db_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    name = f"drop{HOSTILE}".replace("\x00", "")
    good = tmp_path / f"{name}.json"
    good.write_text(
        json.dumps({"customers": [{"number": f"P{HOSTILE}", "name": f"Klant{HOSTILE}"}]})
    )
    bad = tmp_path / f"{name}-bad.json"
    bad.write_text(json.dumps({"customers": [{"number": "P-2", "name": f"x{HOSTILE}", "x": 1}]}))
    missing = tmp_path / f"{name}-missing.json"
    runs = [
        run_cli(["--db", db_url, "ingest", str(good), str(bad), str(missing)], env),
        run_cli(["--db", str(tmp_path / f"store{HOSTILE}" / "x.db"), "status"], env),
        run_cli(["--db", f"db{HOSTILE}://x", "status"], env),
        run_cli(
            ["--db", db_url, "doctor"],
            {**env, "EXACT_TUI_DATA_DIR": str(tmp_path / f"data{HOSTILE}")},
        ),
        run_cli(["--db", db_url, "status"], {**env, f"EXACT_TUI_X{HOSTILE}": "1"}),
    ]
    for run in runs:
        assert_plain(run)
    ingest = runs[0]
    assert ingest.code == 1  # one file refused, one unreadable
    assert clean_text(str(good)) in ingest.stdout
    refused = [line for line in ingest.lines if line.startswith("exact-tui: ")]
    assert len(refused) == 2, ingest.stderr


def test_the_command_line_prints_only_through_its_output_module() -> None:
    """The cleaning above holds for commands added later too: nothing in the cli package
    writes to the terminal except cli/output.py."""
    package = Path(__file__).resolve().parents[2] / "exact_tui" / "cli"
    writes = re.compile(
        r"\bclick\.(echo|secho|confirm|prompt)\b|\bprint\(|sys\.std(out|err)\.write"
    )
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(package.glob("*.py"))
        if path.name != "output.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if writes.search(line)
    ]
    assert offenders == []


def test_the_log_is_plain_too(isolated_env: Path) -> None:
    """The worker's log file (and its stderr, which shares the formatter) quote Exact's
    messages: plain there as well."""
    import logging

    from exact_tui.config import Settings
    from exact_tui.logging_setup import configure_logging

    path = configure_logging(Settings())
    logging.getLogger("exact_tui.test").warning("Exact said %s", HOSTILE)
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "Exact said" in text
    assert UNSAFE.search(text.replace("\n", "")) is None
