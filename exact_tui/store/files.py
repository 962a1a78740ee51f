"""Files the store creates: private from the first byte."""

from __future__ import annotations

import os
from pathlib import Path


def ensure_private_dir(path: Path) -> Path:
    """Create a missing directory (and missing parents) readable only by the owner: 0700.

    Directories that already exist keep their mode: a store the user placed in a shared
    directory must not change that directory's permissions.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is subject to the umask
    return path


def ensure_private_file(path: Path) -> Path:
    """Create a missing file empty and 0600 before anything writes to it, so it is never
    world-readable; an existing file keeps its mode (`doctor` reports a loose one)."""
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return path
    os.close(fd)
    os.chmod(path, 0o600)  # the umask may have taken bits away, never added: make it exact
    return path
