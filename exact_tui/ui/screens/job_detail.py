"""One export job: its document, where it stands and why, every attempt, and the request sent."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from exact_tui.domain.money import format_amount
from exact_tui.domain.states import JobState
from exact_tui.domain.text import cut
from exact_tui.domain.transitions import EventOutcome
from exact_tui.services.export_log import Attempt, JobBrief, JobDetail
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import stamp, until
from exact_tui.ui.render import Palette, join, level_text, plain, state_text
from exact_tui.ui.screens.job_actions import JOB_ACTIONS, JobScreen
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.table import ConsoleTable


def summary_text(job: JobDetail, palette: Palette, zone: ZoneInfo, now: dt.datetime) -> Text:
    lines: list[Text | str] = []
    head = join(state_text(job.state, palette))
    if job.category:
        head.append(f"  ·  category {job.category.label}")
    head.append(f"  ·  {job.attempts_count} attempt{'' if job.attempts_count == 1 else 's'}")
    if job.division is not None:
        head.append(f"  ·  division {job.division}")
    lines.append(head)
    if job.cause:
        lines.append(join("cause       ", plain(job.cause, palette.warning)))
    for guidance in job.guidance:
        lines.append(join("why         ", plain(guidance.cause)))
        lines.append(join(Text("fix         ", palette.warning), plain(guidance.fix)))
    for missing in job.missing:
        lines.append(
            join(
                "missing     ",
                plain(f"{missing.get('kind', '?')} {missing.get('code', '')}", palette.warning),
            )
        )
    if job.last_error:
        status = f" (HTTP {job.last_http_status})" if job.last_http_status else ""
        lines.append(join(f"last error{status}  ", plain(job.last_error, palette.error)))
    if job.next_attempt_at and not job.state.is_final:
        lines.append(f"next try    {until(job.next_attempt_at, now)}")
    if job.state is JobState.UNKNOWN:
        lines.append(
            f"lookups     {job.lookups_empty} of 2 found nothing in Exact "
            "(settled by lookup, never re-sent blindly)"
        )
    if job.entry_number is not None or job.entry_id:
        lines.append(
            join(
                Text("in Exact    ", style=palette.success),
                f"entry {job.entry_number or '?'}  ",
                plain(job.entry_id or "", palette.muted),
                f"  posted {stamp(job.posted_at, zone)}",
            )
        )
    lines.append(
        Text(
            f"created {stamp(job.created_at, zone)}  ·  updated {stamp(job.updated_at, zone)}",
            style=palette.muted,
        )
    )
    return join(*lines, separator="\n")


def document_text(job: JobDetail, palette: Palette) -> Text:
    doc = job.document
    if doc is None:
        return Text("The document is no longer in the store.", style=palette.muted)
    lines: list[Text | str] = [
        join(
            Text(doc.kind.label, style=palette.strong),
            " ",
            plain(doc.number),
            f"  ·  {doc.date.isoformat()}",
            f"  ·  {format_amount(doc.amount, doc.currency)}" if doc.amount is not None else "",
        ),
        join("customer    ", plain(doc.customer_number or "—"), "  ", plain(doc.customer_name)),
        join("in Exact    ", plain(job.account or "not linked in this division")),
        join("bank        ", plain(doc.bank_account or "—")),
    ]
    if doc.invoice_number:
        lines.append(join("invoice     ", plain(doc.invoice_number)))
    if doc.description:
        lines.append(join("description ", plain(doc.description)))
    return join(*lines, separator="\n")


def request_text(job: JobDetail) -> Text:
    if job.request is None:
        return Text("No request has been sent for this job yet.", style="dim")
    body = json.dumps(job.request, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    return plain(body, multiline=True)


def attempt_cells(attempt: Attempt, palette: Palette, zone: ZoneInfo) -> list[Text]:
    return [
        Text(stamp(attempt.at, zone), style=palette.muted),
        level_text(attempt.level, palette),
        plain(EventOutcome.label_of(attempt.outcome)),
        Text(str(attempt.http_status or "")),
        Text(f"{attempt.duration_ms:,} ms" if attempt.duration_ms is not None else ""),
        plain(cut(attempt.message, 500)),
    ]


def _back(screen: JobDetailScreen) -> None:
    screen.dismiss()


DETAIL_ACTIONS: tuple[Action[JobDetailScreen], ...] = (
    Action(
        "detail.back",
        "escape,q",
        "Back",
        "Back to the list the job was opened from",
        run=_back,
        palette=False,
    ),
)


class JobDetailScreen(JobScreen):
    """One job, live: read again every beat while it is shown, and after every action."""

    TITLE = "Export job"
    AUTO_FOCUS = "#attempts"
    ACTIONS: ClassVar[tuple[Action[Any], ...]] = (*DETAIL_ACTIONS, *JOB_ACTIONS)
    BINDINGS = bindings(ACTIONS)

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.job: JobDetail | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(f"{self.TITLE} {self.job_id}")
        with VerticalScroll(id="detail-body"):
            yield Static("Reading the job…", id="job-summary", classes="section")
            yield Static("", id="job-document", classes="section")
            yield ConsoleTable(id="attempts", opens_rows=False)
            yield Static("", id="job-request", classes="section")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.query_one("#job-document").border_title = "Document"
        self.query_one("#attempts").border_title = "Attempts, newest first"
        self.query_one("#job-request").border_title = "Request sent"
        table = self.query_one("#attempts", ConsoleTable)
        for label, width in (
            ("Time", 16),
            ("Level", 7),
            ("Outcome", 14),
            ("HTTP", 4),
            ("Took", 9),
            ("Message", None),
        ):
            table.add_column(label, width=width)
        self._load()
        self.set_timer(self.console.tail_seconds, self._beat)

    def _load(self) -> None:
        job_id = self.job_id
        self.read("read the job", lambda: self.services.job_detail(job_id), self._show)

    def _beat(self) -> None:
        """Read the job again while it is shown (the worker may have moved it); the next
        beat is scheduled when this read has finished."""
        if not self.app.screen_stack or not self.is_attached:
            return
        if not self.is_current:
            self.set_timer(self.console.tail_seconds, self._beat)
            return
        job_id = self.job_id
        self.read(
            "follow the job",
            lambda: self.services.job_detail(job_id),
            self._show_if_changed,
            done=lambda: self.set_timer(self.console.tail_seconds, self._beat),
        )

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        super().on_screen_resume(event)
        self._load()

    def selected_job(self) -> JobBrief | None:
        return self.job.brief if self.job is not None else None

    def job_moved(self) -> None:
        self._load()

    def _show_if_changed(self, job: JobDetail | None) -> None:
        if job != self.job:
            self._show(job)

    def _show(self, job: JobDetail | None) -> None:
        self.job = job
        summary = self.query_one("#job-summary", Static)
        if job is None:
            summary.update(Text(f"Job {self.job_id} is not in the store.", style="dim"))
            self.bindings_may_change()
            return
        zone, palette, now = self.services.timezone, self.palette, self.services.now()
        # Border titles parse markup: the document number goes in as Text.
        summary.border_title = plain(cut(f"{job.kind.label} {job.number}", 60))
        summary.update(summary_text(job, palette, zone, now))
        self.query_one("#job-document", Static).update(document_text(job, palette))
        table = self.query_one("#attempts", ConsoleTable)
        with self.app.batch_update():
            table.clear()
            table.add_rows([attempt_cells(a, palette, zone) for a in job.attempts])
        request = self.query_one("#job-request", Static)
        if job.request_event_id is not None:
            request.border_title = f"Request sent {stamp(job.request_at, zone)}"
        request.update(request_text(job))
        self.bindings_may_change()
