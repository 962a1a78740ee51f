"""Who did what: every operator action writes an audit row."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from exact_tui.domain.text import clean_text, cut
from exact_tui.store.models import Audit, width


@dataclass(frozen=True)
class Actor:
    name: str
    origin: str
    host: str = "local"

    @classmethod
    def current(cls, origin: str) -> Actor:
        """The operator at this terminal: the login name, and the SSH client's address when
        the session came in over SSH."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = f"uid {os.getuid()}"
        ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
        host = ssh.split()[0] if ssh.split() else "local"
        return cls(
            cut(clean_text(name), width(Audit.actor)),
            origin,
            cut(clean_text(host), width(Audit.host)),
        )


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    result: str = "ok",
    tenant_id: int | None = None,
) -> None:
    """An audit row for the session's tenant, or for `tenant_id` (fleet work across tenants;
    None there: a tenant that is being removed, named in `target`)."""
    session.add(
        Audit(
            tenant_id=tenant_id,
            actor=actor.name,
            origin=actor.origin,
            host=actor.host,
            action=action,
            target=cut(target, width(Audit.target)),
            detail=detail,
            result=cut(result, width(Audit.result)),
        )
    )
