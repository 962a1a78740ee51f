"""What an operator does to a job, wherever the job is shown (a row of the Export log, its
detail): retry it, settle it by a lookup, go to what blocks it. Implemented once here; the
screens say which job is selected and read it again after an action."""

from __future__ import annotations

from rich.text import Text

from exact_tui.domain.states import JobState
from exact_tui.services.admin.blockers import Blocker, fixable
from exact_tui.services.export_log import JobBrief, RetryCheck
from exact_tui.ui.actions import Action
from exact_tui.ui.format import ago
from exact_tui.ui.render import join, plain
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.screens.confirm import ConfirmScreen


class JobScreen(ConsoleScreen):
    """A screen that shows jobs and acts on the selected one."""

    def selected_job(self) -> JobBrief | None:
        """The job the actions act on (None: no row, or not read yet)."""
        return None

    def job_moved(self) -> None:
        """An action changed the selected job: show it as it is now."""

    # ------------------------------------------------------------ retry

    def retry_selected(self) -> None:
        job, retry = self.selected_job(), self.services.actions.retry_job
        if job is None or retry is None:
            return
        job_id = job.id
        self.read(
            "check the retry",
            lambda: self.services.retry_check(job_id),
            self._retry_checked,
        )

    def _retry_checked(self, check: RetryCheck | None) -> None:
        if check is None:
            self.console.say("That job is no longer in the store.", severity="warning")
            return
        job = check.job
        if not job.state.retryable:
            self.console.say(
                f"Nothing to retry: {job.title} is {job.state.label} now.", severity="warning"
            )
            self.job_moved()
            return
        if not check.unchanged:
            self._retry(job)
            return
        palette = self.palette
        lines: list[Text | str] = [
            join(
                f"Exact refused {job.title} {ago(check.refused_at, self.services.now())}: ",
                plain(check.message or job.cause or "", palette.error),
            )
        ]
        for guidance in check.guidance:
            lines.append(join("Why: ", plain(guidance.cause)))
            lines.append(join("Fix: ", plain(guidance.fix)))
        lines.append(
            "Nothing has changed since (no import, mapping, binding, link or setting), so "
            "Exact will most likely refuse it again, and every refusal counts against the "
            "hour's error budget. Retry anyway?"
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._retry(job)

        self.app.push_screen(ConfirmScreen(join(*lines, separator="\n"), "Retry anyway"), confirmed)

    def _retry(self, job: JobBrief) -> None:
        retry = self.services.actions.retry_job
        if retry is not None:
            job_id = job.id
            self.act(f"retry {job.title}", lambda: retry(job_id), then=self.job_moved)

    # ------------------------------------------------------------ settle, blocker

    def settle_selected(self) -> None:
        job, settle = self.selected_job(), self.services.actions.settle_unknown
        if job is not None and settle is not None:
            job_id = job.id
            self.act(f"settle {job.title}", lambda: settle(job_id), then=self.job_moved)

    def blocker_selected(self) -> None:
        job = self.selected_job()
        if job is not None:
            job_id = job.id
            self.read("find what blocks the job", lambda: self.services.blocker(job_id), self._go)

    def _go(self, blocker: Blocker | None) -> None:
        self.console.go_to(blocker)


def _retryable(screen: JobScreen) -> bool:
    job = screen.selected_job()
    return job is not None and job.state.retryable


def _unknown(screen: JobScreen) -> bool:
    job = screen.selected_job()
    return job is not None and job.state is JobState.UNKNOWN


def _blocked(screen: JobScreen) -> bool:
    job = screen.selected_job()
    return job is not None and fixable(job.state, job.category)


JOB_ACTIONS: tuple[Action[JobScreen], ...] = (
    Action(
        "job.retry",
        "r",
        "Retry",
        "Send the job again (a refusal nothing has changed since asks first)",
        run=lambda screen: screen.retry_selected(),
        writes="retry_job",
        applies=_retryable,
        when="on a failed, blocked or waiting job",
    ),
    Action(
        "job.settle",
        "u",
        "Settle unknown",
        "Look the job up in Exact now (never sent again blind)",
        run=lambda screen: screen.settle_selected(),
        writes="settle_unknown",
        applies=_unknown,
        when="on an unknown job (its answer was lost)",
    ),
    Action(
        "job.blocker",
        "b",
        "Go to blocker",
        "Open the screen where what blocks the job is fixed, with it selected",
        run=lambda screen: screen.blocker_selected(),
        applies=_blocked,
        when="on a job blocked by a binding, mapping, setting or customer link",
    ),
)
