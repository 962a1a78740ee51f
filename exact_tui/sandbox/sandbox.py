"""The Sandbox: the whole in-memory state behind the app, and its Python control surface."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from exact_tui.sandbox import masterdata, planted
from exact_tui.sandbox.calls import CallLog
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.sandbox.errors import ApiError
from exact_tui.sandbox.faults import FaultInjector, FaultPlan
from exact_tui.sandbox.ledger import division_ledger, ledger
from exact_tui.sandbox.limits import LimitSettings, RateLimiter
from exact_tui.sandbox.oauth import App, OAuthState, TokenPair
from exact_tui.sandbox.odata.types import Record
from exact_tui.sandbox.schema import Source
from exact_tui.sandbox.seed import (
    CLIENT_ID,
    SIZES,
    SeedFacts,
    Size,
    check_users,
    facts_for,
    generate,
)
from exact_tui.sandbox.state import DivisionState, User, World, user_key
from exact_tui.sandbox.urls import parse_rest_path
from exact_tui.sandbox.writes import CREATORS, parse_body

# Where timestamps restart after a division move: far below the seed's, as after a real move.
MOVED_TIMESTAMP_BASE = 1_000


@dataclass(frozen=True)
class LateCommit:
    """A request taken by a `commit_late` fault: committed at `due` (the sandbox's clock)."""

    due: datetime
    #: The request path after /api/v1/, and its body.
    path: str
    body: bytes


class Sandbox:
    """Seed data, clock, limits, faults, tokens, ledger and call log of one imitation Exact.

    Every method takes the lock, so a test thread may steer a sandbox that uvicorn serves from
    another thread.
    """

    def __init__(
        self,
        seed: int = 1,
        size: str = "small",
        *,
        clock: SandboxClock | None = None,
        users: int = 1,
        divisions_per_user: int | None = None,
    ) -> None:
        """`users` Exact users, each with `divisions_per_user` divisions of their own (None:
        the first user has the size's divisions, the others two each); docs/sandbox.md."""
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
        check_users(users, divisions_per_user)
        self.seed = seed
        self.size: Size = "small" if size == "small" else "large"
        self.users = users
        self.divisions_per_user = divisions_per_user
        self.clock = clock or SandboxClock()
        self.lock = threading.RLock()
        self.settings = LimitSettings()
        self.world: World
        self.rng: random.Random
        self.oauth: OAuthState
        self.limits: RateLimiter
        self.faults: FaultInjector
        self.calls: CallLog
        self._load()

    def _load(self) -> None:
        self.world = generate(self.seed, self.size, self.users, self.divisions_per_user)
        self.rng = random.Random(f"{self.seed}:runtime")
        self.oauth = OAuthState(self.clock, self.settings, self.world)
        self.limits = RateLimiter(self.clock, self.settings)
        self.faults = FaultInjector()
        self.calls = CallLog()
        self.late_commits: list[LateCommit] = []

    @property
    def facts(self) -> SeedFacts:
        return facts_for(self.size, self.users, self.divisions_per_user)

    def division(self, number: int) -> DivisionState:
        try:
            return self.world.divisions[number]
        except KeyError:
            raise KeyError(f"no division {number} in this sandbox") from None

    # -- time and state ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        with self.lock:
            now = self.clock.advance(seconds)
            self.commit_due()
            return now

    # -- late commits (the commit_late fault) -------------------------------------------------

    def commit_later(self, seconds: float, path: str, body: bytes) -> LateCommit:
        """Take a POST now and commit it `seconds` later, whatever its client does."""
        with self.lock:
            late = LateCommit(self.now() + timedelta(seconds=seconds), path, body)
            self.late_commits.append(late)
            return late

    def commit_due(self) -> None:
        """Commit every taken request whose time has come (the sandbox checks before it
        answers anything, so no one can see the world without them)."""
        with self.lock:
            now = self.now()
            for late in [late for late in self.late_commits if late.due <= now]:
                self.commit(late)

    def commit(self, late: LateCommit) -> None:
        """Commit one taken request now, as the POST would have been; one that Exact refuses
        by then leaves nothing, as a refused POST does."""
        with self.lock:
            if late not in self.late_commits:
                return
            self.late_commits.remove(late)
            path = parse_rest_path(late.path)
            entity = path.entity
            if entity is None or entity.path not in CREATORS:
                return
            if path.division is None or path.division not in self.world.divisions:
                return
            creator = CREATORS[entity.path]
            try:
                creator(
                    self.world.divisions[path.division],
                    parse_body(late.body, entity),
                    self.now(),
                    self.rng,
                )
            except ApiError:
                return

    def reset(self, *, keep_tokens: bool = False) -> None:
        """Back to the seed: books, faults, counters and the call log; the clock keeps going.
        With keep_tokens the issued tokens and the consent survive (no new connect needed)."""
        with self.lock:
            old = self.oauth
            self.settings = LimitSettings()
            self._load()
            if keep_tokens:
                new = self.oauth
                new.consent, new.access, new.refresh = old.consent, old.access, old.refresh
                new.last_issue, new.token_calls = old.last_issue, old.token_calls

    def set_limits(self, **changes: float) -> LimitSettings:
        """minutely, daily, minute_window, day_window (seconds), error_threshold, error_window,
        block_seconds, token_calls_daily."""
        with self.lock:
            self.settings.update(changes)
            return self.settings

    def clear_limit_counters(self) -> None:
        with self.lock:
            self.limits.clear()

    # -- faults and tokens -------------------------------------------------------------------

    def set_faults(self, plan: FaultPlan | Mapping[str, object]) -> None:
        loaded = plan if isinstance(plan, FaultPlan) else FaultPlan.model_validate(plan)
        with self.lock:
            self.faults.load(loaded)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def user(self, name: str | None = None) -> User:
        """A user by name (any case); the default user for None; KeyError for an unknown one."""
        return self.world.user(name)

    def issue_tokens(self, client_id: str = CLIENT_ID, *, user: str | None = None) -> TokenPair:
        """A user's tokens without the consent page (the default user for None), consenting to
        their default set if they never consented."""
        with self.lock:
            return self.oauth.issue(client_id, user)

    def register_app(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Another app, as registered in the App Center; ValueError when the App Center would
        refuse its redirect URI (https only, not localhost)."""
        with self.lock:
            self.oauth.register(App(client_id, client_secret, redirect_uri))

    def revoke_tokens(self, *, user: str | None = None) -> None:
        """A user disconnected the app in Exact (every user when none is named)."""
        with self.lock:
            self.oauth.revoke_all(user)

    def _grant(self, client_id: str, user: str | None) -> tuple[str, str]:
        return client_id, user_key(self.user(user).name)

    def consent(self, client_id: str = CLIENT_ID, *, user: str | None = None) -> frozenset[int]:
        with self.lock:
            return frozenset(self.oauth.consent.get(self._grant(client_id, user), set()))

    def set_consent(
        self, divisions: Iterable[int], client_id: str = CLIENT_ID, *, user: str | None = None
    ) -> None:
        """A user's consent to the app; ValueError for a division not on their user card."""
        with self.lock:
            wanted = set(divisions)
            foreign = sorted(wanted - set(self.user(user).divisions))
            if foreign:
                raise ValueError(
                    f"division {', '.join(map(str, foreign))} is not one of "
                    f"{self.user(user).name}'s divisions"
                )
            self.oauth.consent[self._grant(client_id, user)] = wanted

    def withdraw_consent(
        self, division: int, client_id: str = CLIENT_ID, *, user: str | None = None
    ) -> None:
        with self.lock:
            self.oauth.consent.setdefault(self._grant(client_id, user), set()).discard(division)

    # -- master data changed "in Exact" --------------------------------------------------------

    def create_account(self, division: int, **fields: object) -> Record:
        with self.lock:
            return masterdata.create_account(self.division(division), fields, self.now(), self.rng)

    def update_account(self, division: int, key: str, **changes: object) -> Record:
        """`key` is the account's GUID or its (unpadded) code."""
        with self.lock:
            return masterdata.update(
                self.division(division), Source.ACCOUNTS, key, changes, self.now()
            )

    def delete_account(self, division: int, key: str) -> Record:
        """Returns the sync/Deleted row written for it."""
        with self.lock:
            return masterdata.delete(
                self.division(division), Source.ACCOUNTS, key, self.now(), self.rng
            )

    def create_gl_account(self, division: int, **fields: object) -> Record:
        with self.lock:
            return masterdata.create_gl_account(
                self.division(division), fields, self.now(), self.rng
            )

    def update_gl_account(self, division: int, key: str, **changes: object) -> Record:
        """`key` is the GL account's GUID or its code."""
        with self.lock:
            return masterdata.update(
                self.division(division), Source.GL_ACCOUNTS, key, changes, self.now()
            )

    def block_gl_account(self, division: int, key: str) -> Record:
        return self.update_gl_account(division, key, IsBlocked=True)

    def delete_gl_account(self, division: int, key: str) -> Record:
        with self.lock:
            return masterdata.delete(
                self.division(division), Source.GL_ACCOUNTS, key, self.now(), self.rng
            )

    def move_division(self, division: int) -> datetime:
        """A division move: DivisionMoveDate changes and sync timestamps start over."""
        with self.lock:
            now = self.now()
            self.division(division).move(now, MOVED_TIMESTAMP_BASE)
            return now

    # -- damage planted in the books (drills) ------------------------------------------------

    def delete_entry(self, division: int, entry_id: str) -> Record:
        """An entry deleted in Exact (with its lines); returns it."""
        with self.lock:
            return planted.delete_entry(self.division(division), entry_id)

    def copy_entry(self, division: int, entry_id: str) -> Record:
        """An entry booked a second time (a new EntryID and entry number); returns the copy."""
        with self.lock:
            return planted.copy_entry(self.division(division), entry_id, self.now(), self.rng)

    # -- what happened -----------------------------------------------------------------------

    def ledger(self, division: int | None = None) -> dict[str, object]:
        with self.lock:
            self.commit_due()
            if division is not None:
                return ledger([self.division(division)])
            # A division never read holds only the seed: its ledger is empty, unbuilt.
            built = {d.number: d for d in self.world.divisions.built()}
            return {
                "divisions": {
                    str(n): division_ledger(built.get(n) or DivisionState(number=n, info={}))
                    for n in self.world.divisions
                }
            }

    def calls_snapshot(self) -> dict[str, object]:
        with self.lock:
            return self.calls.snapshot()
