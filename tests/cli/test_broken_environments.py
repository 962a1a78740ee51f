"""Every command that touches the store, in every broken environment we know of: exit status 1,
one line on stderr naming what is wrong (no traceback), and the store as it was.

The environments that need a read-only or a full file system make real mounts in a private
namespace (see `environments.py`); they skip only where the machine cannot mount.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from exact_tui.store.engine import Store
from tests.admin_seed import AMBIGUOUS_CUSTOMER, BOUND_IBAN, DIVISION, UNBOUND_IBAN
from tests.cli.environments import (
    Outcome,
    Run,
    Spec,
    digest,
    in_namespace,
    mount_refusal,
    run_cli,
)

#: The console, which starts only once the store is open (so, in these tests, never).
CONSOLE = [[], ["--read-only"]]
#: Commands that only read the store.
READS = [
    ["status"],
    ["status", "--json"],
    ["jobs"],
    ["jobs", "--json"],
    ["settings", "--division", str(DIVISION)],
]


def writes(ingest_file: Path) -> list[list[str]]:
    """Each command that writes to the store, with arguments that work on the sound store
    (`test_the_commands_work_on_the_sound_store`)."""
    division = ["--division", str(DIVISION)]
    return [
        ["ingest", str(ingest_file)],
        ["retry", "--all", "--yes", "--state", "failed"],
        ["map", *division, "--kind", "gl", "8010", "8000"],
        ["settings", *division, "--sales-journal", "70"],
        ["bind", "bank-account", UNBOUND_IBAN, *division, "--journal", "21"],
        ["bind", "division", "100002", "--organization", "ORG-BE"],
        ["unbind", "bank-account", BOUND_IBAN, "--yes"],
        ["link", AMBIGUOUS_CUSTOMER, "3", *division],
        ["unlink", "C0002", *division, "--yes"],
        ["pause", "--reason", "test"],
        ["sync"],
        ["disconnect", "--yes"],
        ["worker", "--until-idle"],
        # Writes its attempt, then reads the pasted address (none here).
        ["connect", "--base-url", "http://127.0.0.1:9", "--client-id", "app"],
    ]


def store_commands(ingest_file: Path) -> list[list[str]]:
    """Each command that opens the store."""
    return [*CONSOLE, *READS, *writes(ingest_file)]


#: Commands that write the log file (the state dir) before anything else.
LOGGING_COMMANDS = [
    ["worker", "--until-idle"],
    ["connect", "--base-url", "http://127.0.0.1:9", "--client-id", "app"],
    ["disconnect", "--yes"],
]


@pytest.fixture
def env(isolated_env: Path) -> dict[str, str]:
    """Secrets and the redirect URI set, so that connect and the worker get as far as the
    store."""
    import base64

    return {
        **{k: v for k, v in os.environ.items() if k.startswith("EXACT_TUI_")},
        "EXACT_TUI_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "EXACT_TUI_CLIENT_SECRET": "app-secret",
        "EXACT_TUI_EXACT_REDIRECT_URI": "https://ops.example.test/exact/callback",
    }


pytestmark = pytest.mark.sqlite_only(
    "these environments break the store's file and the file system under it"
)


@pytest.fixture
def sqlite_store(admin_store: Store, tmp_path: Path) -> Iterator[Path]:
    """A store with something of everything in it, closed, alone in its folder (these are
    faults of the file and of the file system under it)."""
    path = admin_store.sqlite_path
    assert path is not None
    admin_store.dispose()
    alone = tmp_path / "store" / "exact-tui.db"
    alone.parent.mkdir()
    path.rename(alone)
    yield alone


@pytest.fixture
def ingest_file(tmp_path: Path) -> Path:
    """A valid file of many invoices (a few MB: more than the nearly full disk holds)."""
    path = tmp_path / "documents.json"
    customers = [{"number": "P-1", "name": "Customer"}]
    invoices = [
        {
            "number": f"INV-{n:06}",
            "customer": "P-1",
            "bank_account": UNBOUND_IBAN,
            "date": "2026-11-02",
            "description": "x" * 400,
            "lines": [
                {"amount": "100.00", "gl_code": "REV", "vat_code": "21", "vat_amount": "21.00"}
                for _ in range(3)
            ],
        }
        for n in range(3000)
    ]
    path.write_text(
        json.dumps(
            {
                "customers": customers,
                "invoices": invoices,
            }
        )
    )
    return path


def assert_refused(runs: list[Run], phrase: str) -> None:
    for run in runs:
        where = f"exact-tui {' '.join(run.args)}"
        assert "Traceback" not in run.stderr, f"{where}:\n{run.stderr}"
        assert run.code == 1, f"{where}: exit {run.code}\n{run.stdout}{run.stderr}"
        assert len(run.lines) == 1, f"{where}: not one line:\n{run.stderr}"
        assert run.lines[0].startswith("exact-tui: "), f"{where}: {run.lines[0]}"
        assert phrase in run.lines[0], f"{where}: {run.lines[0]!r} does not say {phrase!r}"


def assert_doctor_explains(run: Run, phrase: str) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.code == 1, run.stdout
    failed = [line for line in run.stdout.splitlines() if "✖" in line]
    assert any(phrase in line for line in failed), run.stdout


def jobs_in(store: Path, env: dict[str, str]) -> list[object]:
    listed = run_cli(["--db", str(store), "jobs", "--json"], env)
    assert listed.code == 0, listed.stderr
    jobs: list[object] = json.loads(listed.stdout)
    return jobs


def run_all(commands: list[list[str]], env: dict[str, str]) -> list[Run]:
    return [run_cli(args, env=env) for args in commands]


# ---------------------------------------------------------------- no mounts needed


def test_the_commands_work_on_the_sound_store(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str]
) -> None:
    """The corpus's arguments are right: on a sound store each command does its work, so a
    refusal below comes from the environment."""
    *commands, worker, connect = writes(ingest_file)
    for run in run_all([*_with_db(sqlite_store, [*READS, *commands])], env):
        assert run.code == 0, (run.args, run.stdout, run.stderr)
    # Disconnected by now: the worker does what it can and says why jobs wait (exit 1).
    idle = run_cli(["--db", str(sqlite_store), *worker], env)
    assert idle.lines == [idle.lines[0]] and "left waiting: not connected" in idle.lines[0]
    attempt = run_cli(["--db", str(sqlite_store), *connect], env)
    assert attempt.lines[-1] == "exact-tui: nothing was pasted: run connect again"


def test_a_corrupt_store(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(300_000))
    before = digest(corrupt)
    commands = [["--db", str(corrupt), *args] for args in store_commands(ingest_file)]
    assert_refused(run_all(commands, env), "is damaged or is not an exact-tui database")
    assert_doctor_explains(run_cli(["--db", str(corrupt), "doctor"], env), "damaged")
    assert digest(corrupt) == before


def test_a_truncated_store(sqlite_store: Path, ingest_file: Path, env: dict[str, str]) -> None:
    sqlite_store.write_bytes(sqlite_store.read_bytes()[:8192])
    before = digest(sqlite_store)
    commands = [["--db", str(sqlite_store), *args] for args in store_commands(ingest_file)]
    assert_refused(run_all(commands, env), "is damaged or is not an exact-tui database")
    assert digest(sqlite_store) == before


def test_a_folder_as_the_store(ingest_file: Path, env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for args in store_commands(ingest_file):
        assert_refused([run_cli(["--db", str(folder), *args], env)], "is a folder")
        # --db after the command works as well as before it.
        assert_refused([run_cli([*args, "--db", str(folder)], env)], "is a folder")
    assert list(folder.iterdir()) == []


def test_a_store_whose_folder_is_a_file(
    ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    db = a_file / "exact-tui.db"
    runs = run_all([["--db", str(db), *args] for args in store_commands(ingest_file)], env)
    assert_refused(runs, "is not a folder")
    assert a_file.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("nosuchdb://host/x", "is not a database URL exact-tui knows"),
        ("postgresql+nosuchdriver://host/x", "is not a database URL exact-tui knows"),
        # URLs SQLAlchemy cannot read at all: a port that is no number, an unclosed bracket.
        ("postgresql+psycopg://u:hunter2@host:port/x", "is not a database URL exact-tui knows"),
        ("postgresql+psycopg://u:hunter2@[::1/x", "is not a database URL exact-tui knows"),
    ],
)
def test_a_store_url_that_cannot_work(
    url: str, phrase: str, ingest_file: Path, env: dict[str, str]
) -> None:
    runs = run_all([["--db", url, *args] for args in store_commands(ingest_file)], env)
    assert_refused(runs, phrase)
    assert all("hunter2" not in run.stderr for run in runs)
    doctor = run_cli(["--db", url, "doctor"], env)
    assert_doctor_explains(doctor, phrase)
    assert "hunter2" not in doctor.stdout


def test_config_toml_that_is_a_folder(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], isolated_env: Path
) -> None:
    (isolated_env / "config" / "config.toml").mkdir(parents=True)
    before = digest(sqlite_store)
    commands = [["--db", str(sqlite_store), *args] for args in store_commands(ingest_file)]
    assert_refused(run_all(commands, env), "is a folder, not a config file")
    doctor = run_cli(["--db", str(sqlite_store), "doctor"], env)
    assert_doctor_explains(doctor, "is a folder, not a config file")
    assert "revision" in doctor.stdout  # the other checks ran, on the defaults
    assert digest(sqlite_store) == before


@pytest.mark.parametrize(("target", "mode"), [("file", 0o666), ("file", 0o620), ("dir", 0o777)])
def test_a_config_others_can_change(
    target: str,
    mode: int,
    sqlite_store: Path,
    ingest_file: Path,
    env: dict[str, str],
    isolated_env: Path,
) -> None:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[exact]\nbase_url = "https://start.exactonline.nl"\n')
    os.chmod(config if target == "file" else config.parent, mode)
    before = digest(sqlite_store)
    commands = [["--db", str(sqlite_store), *args] for args in store_commands(ingest_file)]
    assert_refused(run_all(commands, env), "can be changed by others")
    doctor = run_cli(["--db", str(sqlite_store), "doctor"], env)
    assert_doctor_explains(doctor, "can be changed by others")
    assert digest(sqlite_store) == before


def test_a_config_of_another_user(
    sqlite_store: Path, env: dict[str, str], isolated_env: Path
) -> None:
    if os.getuid() != 0:
        pytest.skip("only root can give a file to another user")
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("")
    os.chown(config, 4321, -1)
    assert_refused([run_cli(["--db", str(sqlite_store), "status"], env)], "another user")


def test_a_log_file_that_is_a_folder(
    sqlite_store: Path, env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "log-folder"
    folder.mkdir()
    env = {**env, "EXACT_TUI_LOG_FILE": str(folder)}
    before = digest(sqlite_store)
    runs = run_all([["--db", str(sqlite_store), *args] for args in LOGGING_COMMANDS], env)
    assert_refused(runs, f"the log file {folder} cannot be written")
    assert digest(sqlite_store) == before


# ---------------------------------------------------------------- real read-only and full mounts


@pytest.fixture(scope="session")
def mountable() -> None:
    refusal = mount_refusal()
    if refusal is not None:
        pytest.skip(refusal)


def _with_db(store: Path, commands: list[list[str]]) -> list[list[str]]:
    return [["--db", str(store), *args] for args in commands]


@pytest.mark.usefixtures("mountable")
def test_a_read_only_store_file(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """SQLite reads a read-only file (its folder takes the write-ahead log's index): what only
    reads works; each write is refused in one line."""
    outcome = in_namespace(
        Spec(
            mounts=[["ro", str(sqlite_store)]],
            store=str(sqlite_store),
            commands=_with_db(sqlite_store, [*writes(ingest_file), *READS]),
            env=env,
        ),
        tmp_path,
    )
    refused, read = outcome.runs[: -len(READS)], outcome.runs[-len(READS) :]
    assert_refused(refused, "cannot be written")
    for run in read:
        assert run.code == 0 and run.stderr == "", (run.args, run.stderr)
    assert json.loads(read[3].stdout) == jobs_in(sqlite_store, env)
    assert_unchanged(outcome)


@pytest.mark.usefixtures("mountable")
def test_a_store_on_a_read_only_file_system(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    commands = _with_db(sqlite_store, [*store_commands(ingest_file), ["doctor"]])
    outcome = in_namespace(
        Spec(
            mounts=[["ro", str(sqlite_store.parent)]],
            store=str(sqlite_store),
            commands=commands,
            env=env,
        ),
        tmp_path,
    )
    *runs, doctor = outcome.runs
    assert_refused(runs, "is on a read-only file system")
    assert_doctor_explains(doctor, "read-only file system")
    assert_unchanged(outcome)


@pytest.mark.parametrize("with_store", [False, True])
@pytest.mark.usefixtures("mountable")
def test_the_data_dir_on_a_read_only_file_system(
    with_store: bool,
    sqlite_store: Path,
    ingest_file: Path,
    env: dict[str, str],
    isolated_env: Path,
    tmp_path: Path,
) -> None:
    data = isolated_env / "data"
    data.mkdir(parents=True)
    default_store = data / "exact-tui.db"
    if with_store:
        default_store.write_bytes(sqlite_store.read_bytes())
    outcome = in_namespace(
        Spec(
            mounts=[["ro", str(data)]],
            store=str(default_store),
            commands=[*store_commands(ingest_file), ["doctor"]],
            env=env,
        ),
        tmp_path,
    )
    *runs, doctor = outcome.runs
    assert_refused(runs, "cannot be written")
    assert_doctor_explains(doctor, "read-only file system")
    assert_unchanged(outcome)
    assert default_store.exists() is with_store


@pytest.mark.usefixtures("mountable")
def test_the_state_dir_on_a_read_only_file_system(
    sqlite_store: Path, env: dict[str, str], isolated_env: Path, tmp_path: Path
) -> None:
    state = isolated_env / "state"
    state.mkdir(parents=True)
    outcome = in_namespace(
        Spec(
            mounts=[["ro", str(state)]],
            store=str(sqlite_store),
            commands=_with_db(sqlite_store, LOGGING_COMMANDS),
            env=env,
        ),
        tmp_path,
    )
    assert_refused(outcome.runs, "the log file")
    assert all("EXACT_TUI_STATE_DIR" in run.stderr for run in outcome.runs)
    assert_unchanged(outcome)


@pytest.mark.usefixtures("mountable")
def test_a_log_file_on_a_read_only_file_system(
    sqlite_store: Path, env: dict[str, str], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "exact-tui.log").write_text("")
    outcome = in_namespace(
        Spec(
            mounts=[["ro", str(logs)]],
            store=str(sqlite_store),
            commands=_with_db(sqlite_store, LOGGING_COMMANDS),
            env={**env, "EXACT_TUI_LOG_FILE": str(logs / "exact-tui.log")},
        ),
        tmp_path,
    )
    assert_refused(outcome.runs, "cannot be written (Read-only file system)")
    assert all("[log] file" in run.stderr for run in outcome.runs)
    assert_unchanged(outcome)


@pytest.mark.usefixtures("mountable")
def test_a_full_disk(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    on_disk = disk / "exact-tui.db"
    outcome = in_namespace(
        Spec(
            mounts=[["tmpfs", str(disk), "2m"]],
            copies=[[str(sqlite_store), str(on_disk)]],
            fill=str(disk / "filler"),
            store=str(on_disk),
            commands=_with_db(on_disk, store_commands(ingest_file)),
            env=env,
        ),
        tmp_path,
    )
    assert_refused(outcome.runs, "is full")
    assert outcome.before is not None and outcome.before == digest(sqlite_store)
    assert_unchanged(outcome)


@pytest.mark.usefixtures("mountable")
def test_the_disk_fills_up_during_ingest(
    sqlite_store: Path, ingest_file: Path, env: dict[str, str], tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    on_disk = disk / "exact-tui.db"
    room = sqlite_store.stat().st_size + 512 * 1024
    outcome = in_namespace(
        Spec(
            mounts=[["tmpfs", str(disk), str(room)]],
            copies=[[str(sqlite_store), str(on_disk)]],
            store=str(on_disk),
            commands=_with_db(on_disk, [["ingest", str(ingest_file)], ["jobs", "--json"]]),
            env=env,
        ),
        tmp_path,
    )
    ingest, jobs = outcome.runs
    assert_refused([ingest], "is full")
    assert_unchanged(outcome)
    assert jobs.code == 0 and json.loads(jobs.stdout) == jobs_in(sqlite_store, env)


def assert_unchanged(outcome: Outcome) -> None:
    assert outcome.after == outcome.before, "the store changed"


def test_the_troubleshooting_page_lists_these_messages() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
    text = page.read_text(encoding="utf-8")
    for phrase in (
        "is damaged or is not an exact-tui database",
        "is a folder: --db and store.url take the database file",
        "does not exist or is not a folder",
        "is not a database URL exact-tui knows",
        "needs a database driver that is not installed",
        "stopped what exact-tui asked",
        "lacks a privilege exact-tui needs",
        "was busy with another writer",
        "is a folder, not a config file",
        "can be changed by others",
        "it belongs to another user",
        "cannot be written (DIR is on a read-only file system)",
        "cannot be written (attempt to write a readonly database)",
        "the log file PATH cannot be written",
        "is full: free some space, then try again",
        "the worker stopped:",
        "storage error, retrying in N s",
        "not a 32-byte key in base64",
        "Exact refused the app's client id or secret",
        "internal error",
    ):
        assert phrase in text, phrase


def test_a_bug_is_one_line_and_traceback_shows_where(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exact_tui.services import status

    def broken(store: object) -> None:
        raise ZeroDivisionError("a bug\x1b]0;title\x07")

    monkeypatch.setattr(status, "status_report", broken)
    run = run_cli(["--db", db_url, "status"])
    assert run.code == 1
    assert run.lines == [
        "exact-tui: internal error (ZeroDivisionError: a bug): this is a bug in exact-tui; "
        "`exact-tui --traceback …` shows where it happened, for a report"
    ]
    shown = run_cli(["--traceback", "--db", db_url, "status"])
    assert "Traceback" in shown.stderr and "ZeroDivisionError" in shown.stderr


def test_a_question_nobody_answers(sqlite_store: Path, env: dict[str, str]) -> None:
    """stdin closed (a script, cron) where a confirmation is asked: one line, nothing done."""
    before = digest(sqlite_store)
    for args in (
        ["unlink", "C0002", "--division", str(DIVISION)],
        ["unbind", "bank-account", BOUND_IBAN],
        ["disconnect"],
        ["retry", "--all"],
    ):
        run = run_cli(["--db", str(sqlite_store), *args], env)
        assert run.code == 1, (args, run.stderr)
        assert run.lines[-1].startswith("exact-tui: "), (args, run.stderr)
        assert "Traceback" not in run.stderr
    assert digest(sqlite_store) == before
