"""Running the command line in broken environments and reading what it left behind.

`run_cli` runs one command in this process, as a user would see it: an exception that escapes
the command becomes the traceback Python would have printed. `in_namespace` runs commands in a
private mount namespace (`unshare -m`), where a read-only or a full file system is a real
mount that refuses root too (root ignores mode bits, so chmod cannot make one); the mounts
vanish with the namespace. `python -m tests.cli.environments SPEC OUT` is that namespace's side.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from click.testing import CliRunner


@dataclass(frozen=True)
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(args: Sequence[str], env: dict[str, str] | None = None, stdin: str = "") -> Run:
    from exact_tui.cli import group

    result = CliRunner().invoke(group, list(args), env=env, input=stdin, catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Run(list(args), result.exit_code, result.stdout, stderr)


def digest(path: Path) -> str | None:
    """The store's bytes: the database file and its write-ahead log (None when absent)."""
    if not path.exists():
        return None
    sha = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        sha.update(wal.read_bytes())
    return sha.hexdigest()


@dataclass
class Spec:
    """What to do inside the namespace, in order: mounts, copies, filling a disk, then the
    commands, with the store's digest taken before and after."""

    #: ("tmpfs", path, size) or ("ro", path): a read-only bind mount of a file or folder.
    mounts: list[list[str]] = field(default_factory=list)
    copies: list[list[str]] = field(default_factory=list)
    #: A file that fills its file system to the last byte.
    fill: str | None = None
    store: str = ""
    commands: list[list[str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    before: str | None
    after: str | None
    runs: list[Run]


def mount_refusal() -> str | None:
    """Why this machine cannot make the mounts these tests need, or None when it can."""
    if shutil.which("unshare") is None:
        return "no unshare command to make a private mount namespace"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"cannot mount in a private namespace: {probe.stderr.strip() or probe.returncode}"
    return None


def in_namespace(spec: Spec, work: Path) -> Outcome:
    """Run `spec` in a private mount namespace; `work` must stay writable there."""
    work = work / "namespace"
    work.mkdir()
    spec_file, out_file = work / "spec.json", work / "outcome.json"
    spec_file.write_text(json.dumps(asdict(spec)))
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            "-m",
            "tests.cli.environments",
            str(spec_file),
            str(out_file),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,  # a command that waits for a terminal would otherwise hang the suite
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out_file.read_text())
    return Outcome(data["before"], data["after"], [Run(**run) for run in data["runs"]])


def _mount(kind: str, path: str, size: str = "") -> None:
    if kind == "tmpfs":
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "none", path], check=True)
    else:
        subprocess.run(["mount", "--bind", path, path], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", path, path], check=True)


def _fill(path: Path) -> None:
    """Write zeros until the file system says it is full."""
    block = b"\0" * 65536
    with path.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass


def _inside(spec_file: Path, out_file: Path) -> None:
    spec = Spec(**json.loads(spec_file.read_text()))
    for mount in spec.mounts:
        _mount(*mount)
    for source, target in spec.copies:
        shutil.copyfile(source, target)
    if spec.fill:
        _fill(Path(spec.fill))
    store = Path(spec.store)
    before = digest(store)
    runs = [run_cli(args, env=spec.env) for args in spec.commands]
    after = digest(store)
    out_file.write_text(
        json.dumps({"before": before, "after": after, "runs": [asdict(r) for r in runs]})
    )


if __name__ == "__main__":
    _inside(Path(sys.argv[1]), Path(sys.argv[2]))
