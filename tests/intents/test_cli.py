"""The intents from the command line: the same checks and audit rows; exit 0 done, 1 refused,
2 usage."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from sqlmodel import col, select

from exact_tui.cli import group
from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExactConnection, ExportJob
from tests.export.kit import IBAN_LOOSE, NL


def _run(store: Store, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    url = store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(group, ["--db", url, *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _last_audit(store: Store) -> Audit:
    with store.read() as session:
        audit = session.exec(select(Audit).order_by(col(Audit.id).desc())).first()
    assert audit is not None
    return audit


def test_map_saves_refuses_and_checks_usage(store: Store) -> None:
    code, out, _ = _run(store, "map", "--division", str(NL), "--kind", "vat", "21-EU", "7")
    assert code == 0 and "VAT code 21-EU → 7 in division 101001 saved" in out
    audit = _last_audit(store)
    assert (audit.action, audit.origin, audit.result) == ("map", "cli", "ok")
    code, _, err = _run(store, "map", "--division", str(NL), "--kind", "gl", "X", "1300")
    assert code == 1 and "not a revenue account" in err
    assert _last_audit(store).result.startswith("refused")
    code, _, err = _run(store, "map", "--division", str(NL), "X", "8010")
    assert code == 2 and "--kind" in err


def test_bind_link_unlink_settings(store: Store) -> None:
    code, out, _ = _run(
        store, "bind", "bank-account", IBAN_LOOSE, "--division", str(NL), "--journal", "21"
    )
    assert code == 0 and "bank journal 21" in out
    code, _, err = _run(store, "bind", "division", str(NL), "--organization", "NOPE")
    assert code == 1 and "no organization NOPE" in err
    code, _, err = _run(store, "link", "5", "7", "--division", str(NL))
    assert code == 1 and "no customer 5" in err
    code, out, _ = _run(store, "settings", "--division", str(NL), "--json")
    assert code == 0 and json.loads(out)["sales_journal"] == "70"
    code, out, _ = _run(store, "settings", "--division", str(NL), "--general-journal", "91")
    assert code == 0 and "general journal 91" in out
    code, out, _ = _run(store, "settings", "--division", str(NL))
    assert "general journal              91" in out
    code, _, err = _run(store, "unlink", "5", "--division", str(NL), "--yes")
    assert code == 1 and "not linked" in err


def test_pause_and_resume(store: Store) -> None:
    code, out, _ = _run(store, "pause", "--reason", "audit")
    assert (code, out.strip()) == (0, "exports paused: audit")
    with store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None and conn.exports_paused and conn.paused_reason == "audit"
    assert _run(store, "resume")[1].strip() == "exports resumed"


def test_retry_by_id_and_by_filter(store: Store) -> None:
    with store.write() as session:
        for n, state in enumerate([JobState.FAILED, JobState.POSTED, JobState.FAILED], 1):
            session.add(
                ExportJob(
                    document_kind=DocumentKind.INVOICE,
                    document_id=n,
                    document_number=f"INV-{n}",
                    document_date=dt.date(2026, 3, n),
                    division=NL,
                    state=state,
                    category=Category.VALIDATION if state is JobState.FAILED else None,
                )
            )
    code, out, err = _run(store, "retry", "1", "2")
    assert code == 1 and "job 1: invoice INV-1: back to pending" in out
    assert "job 2: invoice INV-2: nothing to retry (already posted)" in err
    code, _, err = _run(store, "retry", "--all", "--state", "failed", stdin="n\n")
    assert code == 1 and "Retry 1 job(s)?" in err
    code, out, _ = _run(store, "retry", "--all", "--state", "failed", "--yes")
    assert code == 0 and "1 job back to pending" in out
    assert _run(store, "retry")[0] == 2
    with store.read() as session:
        states = [j.state for j in session.exec(select(ExportJob).order_by(col(ExportJob.id)))]
    assert states == [JobState.PENDING, JobState.POSTED, JobState.PENDING]
