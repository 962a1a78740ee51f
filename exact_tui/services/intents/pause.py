"""Pausing exports and resuming them."""

from __future__ import annotations

from exact_tui.domain.text import cut
from exact_tui.services import audit
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.store.models import ExactConnection, width
from exact_tui.store.scoping import tenant_of


class PauseIntents(IntentBase):
    def pause(self, reason: str | None = None) -> IntentResult:
        """Stop exports: nothing new is sent until resumed (what is in flight finishes)."""
        words = (reason or "").strip() or f"paused by {self.actor.name}"
        with self.store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            if conn is None:
                raise IntentRefused("not connected to Exact: there is nothing to pause")
            if conn.exports_paused:
                return IntentResult(f"exports were already paused ({conn.paused_reason})")
            conn.exports_paused = True
            conn.paused_reason = cut(words, width(ExactConnection.paused_reason))
            conn.updated_at = self.clock.now()
            session.add(conn)
            audit.record(session, self.actor, "pause", target="exports", detail={"reason": words})
        return IntentResult(f"exports paused: {words}")

    def resume(self) -> IntentResult:
        with self.store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            if conn is None:
                raise IntentRefused("not connected to Exact: there is nothing to resume")
            if not conn.exports_paused:
                return IntentResult("exports were not paused")
            conn.exports_paused = False
            conn.paused_reason = None
            conn.updated_at = self.clock.now()
            session.add(conn)
            audit.record(session, self.actor, "resume", target="exports")
        return IntentResult("exports resumed")
