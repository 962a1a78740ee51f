"""`jobs`, `status` and `doctor`: what the store knows, and refusals with exit status 1."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import make_url, text

from exact_tui.cli import group
from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import Division, ExportJob


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _jobs(store: Store) -> None:
    with store.write() as session:
        session.add(Division(code=100001, description="Demo NL"))
        for n, state in enumerate(
            [JobState.PENDING, JobState.POSTED, JobState.NEEDS_MAPPING, JobState.FAILED], start=1
        ):
            session.add(
                ExportJob(
                    document_kind=DocumentKind.INVOICE,
                    document_id=n,
                    document_number=f"INV-{n}",
                    document_date=dt.date(2026, 11, n),
                    division=100001,
                    state=state,
                    category=Category.MAPPING if state is JobState.NEEDS_MAPPING else None,
                    cause="vat 21-EU missing" if state is JobState.NEEDS_MAPPING else None,
                )
            )


def test_jobs_filters_and_json(store: Store, db_url: str) -> None:
    _jobs(store)
    code, out, _ = _run("--db", db_url, "jobs", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["number"] for r in rows] == ["INV-4", "INV-3", "INV-2", "INV-1"]
    code, out, _ = _run("--db", db_url, "jobs", "--state", "needs_mapping", "--json")
    rows = json.loads(out)
    assert [(r["number"], r["cause"]) for r in rows] == [("INV-3", "vat 21-EU missing")]
    code, out, _ = _run("--db", db_url, "jobs", "--search", "21-EU")
    assert "INV-3" in out and "INV-1" not in out


def test_jobs_bad_state_is_a_usage_error(db_url: str) -> None:
    code, _, err = _run("--db", db_url, "jobs", "--state", "done")
    assert code == 2
    assert "'done' is not one of" in err


def test_status_json_counts_the_queue(store: Store, db_url: str) -> None:
    _jobs(store)
    code, out, _ = _run("--db", db_url, "status", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["connection"] is None
    assert report["queue"] == {"pending": 1, "posted": 1, "needs_mapping": 1, "failed": 1}
    assert report["divisions"][0]["code"] == 100001
    assert report["divisions"][0]["queue"]["needs_mapping"] == 1
    assert report["worker_running"] is False
    code, out, _ = _run("--db", db_url, "status")
    assert "Inactive" in out and "exact-tui worker" in out


def test_store_from_environment(store: Store, db_url: str) -> None:
    _jobs(store)
    code, out, _ = _run("jobs", "--json", env={"EXACT_TUI_DB_URL": db_url})
    assert code == 0 and len(json.loads(out)) == 4


def test_default_store_lives_in_the_data_dir(isolated_env: Path) -> None:
    code, _, _ = _run("status")
    assert code == 0
    assert (isolated_env / "data" / "exact-tui.db").exists()


def test_newer_schema_refused_with_exit_1(store: Store, db_url: str) -> None:
    with store.write() as session:
        session.exec(text("UPDATE alembic_version SET version_num = 'ffff'"))
    store.dispose()
    code, _, err = _run("--db", db_url, "status")
    assert code == 1
    assert "newer version" in err and "Upgrade exact-tui" in err


def test_bad_config_refused_with_exit_1(isolated_env: Path) -> None:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[export]\nerror_budget = 50\n")
    code, _, err = _run("status")
    assert code == 1
    assert "export.error_budget" in err and "less than or equal to 10" in err


@pytest.mark.sqlite_only("a SQLite store is files with modes; PostgreSQL's counterpart is below")
def test_doctor_reports_modes_and_fails_on_open_database(store: Store, db_url: str) -> None:
    code, out, _ = _run("--db", db_url, "doctor")
    assert code == 0, out
    assert "✔ exact-tui.db: mode 0600" in out
    assert "revision" in out and "(head)" in out
    assert "keyring" in out and "EXACT_TUI_SECRET_KEY is not set" in out
    path = store.sqlite_path
    assert path is not None
    os.chmod(path, 0o644)
    code, out, _ = _run("--db", db_url, "doctor")
    assert code == 1
    assert "✖ exact-tui.db: mode 0644; fix with chmod 600" in out


@pytest.mark.postgres_only("a server store has a URL that may hold a password, and no files")
def test_doctor_names_the_server_and_never_its_password(store: Store, db_url: str) -> None:
    with_password = make_url(db_url).set(password="canary-pw-93")
    # The test server trusts local connections, so any password opens it.
    code, out, _ = _run("--db", with_password.render_as_string(hide_password=False), "doctor")
    assert code == 0, out
    assert "revision" in out and "(head)" in out
    assert "canary-pw-93" not in out
    assert with_password.render_as_string(hide_password=True) in out
    assert "mode 0" not in out


def test_doctor_creates_no_store(isolated_env: Path) -> None:
    _, out, _ = _run("doctor")
    assert "(created on first use)" in out
    assert not (isolated_env / "data" / "exact-tui.db").exists()


def test_doctor_marks_a_missing_key_as_a_fact_and_checks_a_given_one(
    store: Store, db_url: str
) -> None:
    import base64

    _, out, _ = _run("--db", db_url, "doctor")
    assert "· environment key: EXACT_TUI_SECRET_KEY is not set" in out
    assert "✔ environment key" not in out
    fernet_form = base64.urlsafe_b64encode(bytes([0xFB, 0xFF] * 16)).decode()
    _, out, _ = _run("--db", db_url, "doctor", env={"EXACT_TUI_SECRET_KEY": fernet_form})
    assert "✔ environment key: EXACT_TUI_SECRET_KEY is set (value hidden)" in out
    code, out, _ = _run("--db", db_url, "doctor", env={"EXACT_TUI_SECRET_KEY": "c2hvcnQ="})
    assert code == 1
    assert "✖ environment key: EXACT_TUI_SECRET_KEY is not a 32-byte key in base64" in out


def test_status_says_when_the_daily_budget_is_spent(store: Store, db_url: str) -> None:
    from exact_tui.store.models import Budget

    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        session.add(Division(code=100001, description="Demo NL"))
        session.add(Division(code=100002, description="Demo BE"))
        session.add(
            Budget(
                division=100001,
                daily_limit=5000,
                daily_remaining=0,
                daily_reset_at=now + dt.timedelta(hours=3),
            )
        )
        # Spent, but the reset has passed: calls may go again.
        session.add(
            Budget(
                division=100002,
                daily_limit=5000,
                daily_remaining=0,
                daily_reset_at=now - dt.timedelta(minutes=1),
            )
        )
    code, out, _ = _run("--db", db_url, "status", "--json")
    assert code == 0
    holds = {d["code"]: d["hold"] for d in json.loads(out)["divisions"]}
    assert holds[100001] == "Exact's daily call budget is spent: exports wait for its reset"
    assert holds[100002] is None
    code, out, _ = _run("--db", db_url, "status")
    assert code == 0
    assert "Division 100001 Demo NL: last sync never  ⏸ Exact's daily call budget" in out
