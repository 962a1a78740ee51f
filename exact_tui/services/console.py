"""What the console may read and do, behind one plain-Python object.

The Textual app receives a `ConsoleServices` and nothing else: it never sees the store, the
Exact client or the secret store. Reads return the services' plain dataclasses. Write actions
are callables the CLI (or the demo) wires in; one left as None is not offered on screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from exact_tui.domain.states import MappingKind
from exact_tui.services import export_log
from exact_tui.services.admin import accounts, blockers, divisions, mappings, masterdata
from exact_tui.services.admin.accounts import (
    AccountCounts,
    AccountCursor,
    AccountPage,
    CustomerFocus,
    HeldCustomer,
    Suggestion,
)
from exact_tui.services.admin.blockers import Blocker
from exact_tui.services.admin.divisions import DivisionsOverview, JournalChoice, OrganizationInfo
from exact_tui.services.admin.mappings import MappingsView, TargetChoice
from exact_tui.services.admin.masterdata import MasterList, MasterPage
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.export_log import (
    EventPage,
    EventTail,
    FailureGroup,
    JobBrief,
    JobDetail,
    RetryCheck,
    RetryPreview,
)
from exact_tui.services.intents import IntentRefused, IntentResult, Intents
from exact_tui.services.jobs import JobFilter
from exact_tui.services.status import StatusReport, status_report
from exact_tui.services.sync_requests import SyncRefused, request_sync
from exact_tui.store.engine import Store
from exact_tui.store.models import OAuthToken
from exact_tui.store.scoping import tenant_of

if TYPE_CHECKING:
    # Connecting needs the OAuth client (httpx, authlib): loaded only when the console connects.
    import httpx

    from exact_tui.secret_store import SecretStore
    from exact_tui.services.connection import ConnectSettings, ConsoleConnect
    from exact_tui.services.fleet import FleetServices


class ActionRefused(Exception):
    """A write action that did not happen; the message says why, for the operator."""


class ConnectFlow(Protocol):
    """A connect under way: the address to open, then what the user pasted back."""

    @property
    def authorize_url(self) -> str: ...

    def finish(self, pasted: str) -> str:
        """Exchange the code; what happened, in words, or `ActionRefused`."""
        ...


@dataclass(frozen=True)
class ConsoleActions:
    """The console's write actions. Each returns what it did, in words for the operator, or
    raises `ActionRefused`. They write intents (the worker acts on them) and audit rows."""

    #: Ask the worker for a master-data import of every division ("Retrieve data").
    sync_now: Callable[[], str] | None = None
    #: Ask the worker to reconcile every division: what Exact holds against the store.
    reconcile: Callable[[], str] | None = None
    pause_exports: Callable[[], str] | None = None
    resume_exports: Callable[[], str] | None = None
    #: "Unlink": delete the tokens, stop exports, status Inactive.
    disconnect: Callable[[], str] | None = None
    #: Connect or reconnect: the address to show, then the pasted redirect (or code).
    connect: Callable[[], ConnectFlow] | None = None
    #: Move one failed / needs_mapping / retry_wait job back to pending.
    retry_job: Callable[[int], str] | None = None
    #: Retry every retryable job the filter matches (the worker paces them).
    retry_filtered: Callable[[JobFilter], str] | None = None
    #: Ask the worker to settle an unknown job by a lookup in Exact (never a blind re-post).
    settle_unknown: Callable[[int], str] | None = None
    #: Route a bank account (IBAN) to a division and one of its bank journals.
    bind_bank_account: Callable[[str, int, str], str] | None = None
    #: Take a bank account's binding away (its documents wait until it is bound again).
    unbind_bank_account: Callable[[str], str] | None = None
    #: Bind a division to an organization (by code); refused if another one has it.
    bind_division: Callable[[int, str], str] | None = None
    #: Map a platform code of a kind to an Exact code in a division.
    save_mapping: Callable[[int, MappingKind, str, str], str] | None = None
    #: Set one division setting (a name of `SETTING_LABELS`) to an Exact code.
    save_setting: Callable[[int, str, str], str] | None = None
    #: Link a platform customer (by number) to an Exact account (by ID) in a division.
    link_customer: Callable[[str, int, str], str] | None = None
    #: Remove a customer's link in a division: documents not yet posted are matched again.
    unlink_customer: Callable[[str, int], str] | None = None

    def wired(self) -> frozenset[str]:
        """The names of the actions that are wired."""
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)


@dataclass(frozen=True)
class DivisionChoice:
    code: int
    description: str


class ConsoleServices:
    """The console's one way to the data. Every method blocks (it reads the store): the UI
    calls them from thread workers."""

    def __init__(
        self,
        store: Store,
        *,
        error_budget: int = 8,
        timezone: str = "UTC",
        clock: Clock | None = None,
        actions: ConsoleActions | None = None,
        tenant: str | None = None,
        fleet: FleetServices | None = None,
    ) -> None:
        self._store = store
        #: The tenant's code, shown in the header when the store serves several.
        self.tenant = tenant
        #: The fleet, for a tenant's console opened from it (switch tenant, failures across
        #: tenants); None for a console of the only tenant or pinned with --tenant.
        self.fleet = fleet
        #: The 4xx-per-hour threshold at which the worker stops calling an endpoint.
        self.error_budget = error_budget
        #: Times are shown in the business's time zone (the sync settings' one).
        self.timezone = ZoneInfo(timezone)
        self.clock: Clock = clock or SystemClock()
        self.actions = actions or ConsoleActions()

    def now(self) -> dt.datetime:
        return self.clock.now()

    def status(self) -> StatusReport:
        return status_report(self._store, now=self.clock.now())

    def divisions(self) -> list[DivisionChoice]:
        return [
            DivisionChoice(code, text) for code, text in export_log.division_choices(self._store)
        ]

    def log_page(
        self, flt: JobFilter, *, before_id: int | None = None, limit: int = 100
    ) -> EventPage:
        return export_log.log_page(self._store, flt, before_id=before_id, limit=limit)

    def log_tail(self, flt: JobFilter, after_id: int, also: Iterable[int] = ()) -> EventTail:
        return export_log.log_tail(self._store, flt, after_id, also=also)

    def retry_check(self, job_id: int) -> RetryCheck | None:
        return export_log.retry_check(self._store, job_id)

    def retry_preview(self, flt: JobFilter) -> RetryPreview:
        return export_log.retry_preview(self._store, flt)

    def held_customers(self, limit: int = 50) -> list[HeldCustomer]:
        return accounts.held_customers(self._store, limit=limit)

    def job_briefs(self, job_ids: Iterable[int]) -> dict[int, JobBrief]:
        return export_log.job_briefs(self._store, job_ids)

    def failure_groups(self, flt: JobFilter) -> list[FailureGroup]:
        return export_log.failure_groups(self._store, flt)

    def job_detail(self, job_id: int) -> JobDetail | None:
        return export_log.job_detail(self._store, job_id)

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.timezone).date()

    # ------------------------------------------------------------ admin screens

    def blocker(self, job_id: int) -> Blocker | None:
        return blockers.blocker(self._store, job_id)

    def divisions_overview(self, text: str | None = None) -> DivisionsOverview:
        return divisions.divisions_overview(self._store, text=text)

    def bank_journals(self, division: int, iban: str | None = None) -> list[JournalChoice]:
        return divisions.bank_journals(self._store, division, iban=iban)

    def organizations(self, text: str | None = None) -> list[OrganizationInfo]:
        return divisions.organizations(self._store, text=text)

    def mappings(
        self, division: int, kind: MappingKind | None = None, text: str | None = None
    ) -> MappingsView:
        return mappings.mappings_view(
            self._store, division, today=self.today(), kind=kind, text=text
        )

    def mapping_targets(
        self, division: int, kind: MappingKind, text: str | None = None
    ) -> list[TargetChoice]:
        return mappings.mapping_targets(self._store, division, kind, today=self.today(), text=text)

    def setting_targets(
        self, division: int, setting: str, text: str | None = None
    ) -> list[TargetChoice]:
        return mappings.setting_targets(self._store, division, setting, text=text)

    def account_page(
        self,
        division: int,
        text: str | None = None,
        *,
        after: AccountCursor | None = None,
        limit: int = 100,
    ) -> AccountPage:
        return accounts.account_page(self._store, division, text=text, after=after, limit=limit)

    def account_counts(self, division: int) -> AccountCounts:
        return accounts.account_counts(self._store, division)

    def customer_suggestions(
        self, division: int, account_id: str, text: str | None = None
    ) -> list[Suggestion]:
        return accounts.customer_suggestions(self._store, division, account_id, text=text)

    def customer_focus(self, division: int, customer_number: str) -> CustomerFocus | None:
        return accounts.customer_focus(self._store, division, customer_number)

    def master_page(
        self,
        which: MasterList,
        division: int | None,
        text: str | None = None,
        *,
        after: str | None = None,
        limit: int = 200,
    ) -> MasterPage:
        return masterdata.master_page(
            self._store, which, division, today=self.today(), text=text, after=after, limit=limit
        )


def connected(store: Store) -> bool:
    """Whether there is a connection with tokens, so that the worker can call Exact."""
    with store.read() as session:
        return session.get(OAuthToken, tenant_of(session)) is not None


def _said(result: Callable[[], IntentResult]) -> str:
    """What an intent did, in words; its refusal as an `ActionRefused` with the reason."""
    try:
        return result().message
    except IntentRefused as exc:
        raise ActionRefused(str(exc)) from None


def intent_actions(intents: Intents, base: ConsoleActions | None = None) -> ConsoleActions:
    """`base` with every action the operator intents perform wired to them: the console and
    the CLI then write the same intents and the same audit rows."""

    def save_setting(division: int, name: str, code: str) -> str:
        return _said(lambda: intents.set_settings(division, **{name: code}))

    return replace(
        base or ConsoleActions(),
        pause_exports=lambda: _said(intents.pause),
        resume_exports=lambda: _said(intents.resume),
        retry_job=lambda job_id: _said(lambda: intents.retry(job_id)),
        retry_filtered=lambda flt: _said(lambda: intents.retry_matching(flt)),
        settle_unknown=lambda job_id: _said(lambda: intents.settle(job_id)),
        bind_bank_account=lambda iban, division, journal: _said(
            lambda: intents.bind_bank_account(iban, division, journal)
        ),
        unbind_bank_account=lambda iban: _said(lambda: intents.unbind_bank_account(iban)),
        bind_division=lambda division, organization: _said(
            lambda: intents.bind_division(division, organization)
        ),
        save_mapping=lambda division, kind, platform_code, exact_code: _said(
            lambda: intents.map(division, kind, platform_code, exact_code)
        ),
        save_setting=save_setting,
        link_customer=lambda number, division, account_id: _said(
            lambda: intents.link(number, division, account_id)
        ),
        unlink_customer=lambda number, division: _said(lambda: intents.unlink(number, division)),
    )


@dataclass(frozen=True)
class _ConsoleConnectFlow:
    inner: ConsoleConnect

    @property
    def authorize_url(self) -> str:
        return self.inner.authorize_url

    def finish(self, pasted: str) -> str:
        from exact_tui.services.connection import ConnectError

        try:
            result = self.inner.finish(pasted)
        except ConnectError as exc:
            raise ActionRefused(str(exc)) from None
        who = f" as {result.user_name}" if result.user_name else ""
        started = " and the initial import requested" if result.sync_requested else ""
        return f"✔ Connected{who}{started}"


def operator_actions(
    store: Store,
    actor: Actor,
    *,
    open_secrets: Callable[[], SecretStore],
    connect_settings: ConnectSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    timezone: str = "Europe/Amsterdam",
) -> ConsoleActions:
    """Every write action of the console, for `actor`: the intents, "Retrieve data", unlink and
    connect. The CLI and the demo wire the console with this."""
    clock = clock or SystemClock()

    def sync_now() -> str:
        if not connected(store):
            raise ActionRefused("not connected to Exact: connect first (c), then Retrieve data")
        try:
            request = request_sync(store, actor)
        except SyncRefused as exc:
            raise ActionRefused(str(exc)) from None
        return f"Retrieve data: import request {request} queued for the worker"

    def reconcile() -> str:
        from exact_tui.services.reconcile import ReconcileRefused, request_reconcile

        if not connected(store):
            raise ActionRefused("not connected to Exact: connect first (c), then reconcile")
        try:
            run = request_reconcile(store, actor)
        except ReconcileRefused as exc:
            raise ActionRefused(str(exc)) from None
        return f"Reconcile: run {run} queued for the worker; what it finds shows on Status"

    def disconnect() -> str:
        from exact_tui.services.connection import ConnectionService

        if not ConnectionService(store, clock=clock.now).disconnect(actor):
            raise ActionRefused("not connected: nothing to unlink")
        return "Unlinked: tokens deleted, exports stopped, master data kept"

    def connect() -> ConnectFlow:
        from exact_tui.secret_store import SecretStoreError
        from exact_tui.services.connection import ConnectError, start_console_connect

        try:
            flow = start_console_connect(
                store,
                open_secrets(),
                connect_settings,
                actor,
                transport=transport,
                clock=clock.now,
            )
        except (ConnectError, SecretStoreError) as exc:
            raise ActionRefused(str(exc)) from None
        return _ConsoleConnectFlow(flow)

    base = ConsoleActions(
        sync_now=sync_now, reconcile=reconcile, disconnect=disconnect, connect=connect
    )
    return intent_actions(Intents(store, actor, clock=clock, timezone=timezone), base)
