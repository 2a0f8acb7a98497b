"""The agents' progress in the thread: one streamed message per draft, or the phase notes where Slack won't stream.

While research, writing and review run, the thread shows one message Slack streams (a plan whose tasks
are the agent steps: what each is doing, then how long it took), stopped when the draft is posted with
the reviewer's findings and who decides; a stream Slack ends on its own (after about five minutes) goes on
in a new message with the same tasks. Where streaming is refused (``signoff.activities.progress_stream``)
or was not yet deployed when the run began (``STREAMED_PROGRESS_PATCH``), the same calls post today's
phase notes, word for word. Every Slack call is an activity (``signoff.contracts.progress_stream``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from signoff.contracts.progress_stream import (
    PROGRESS_RETRY_POLICY,
    PROGRESS_START_TO_CLOSE,
    SLACK_APPEND_PROGRESS,
    SLACK_START_PROGRESS,
    SLACK_STOP_PROGRESS,
    STREAM_ENDED_BY_SLACK,
    ProgressAppendInput,
    ProgressStartInput,
    ProgressStopInput,
    ProgressStream,
    ProgressTask,
    TaskStatus,
    task_id_prefix,
)
from signoff.contracts.workflow_io import MessageRef
from workflows.patches import STREAMED_PROGRESS_PATCH
from workflows.runtime import durable
from workflows.thread import SlackThread, finish_even_if_cancelled

PLAN_TITLE = "Preparing the draft"


def took(span: timedelta) -> str:
    """``< 1 s``, ``12 s``, ``3 min 5 s``: how long an agent step took."""
    seconds = int(span.total_seconds())
    if seconds < 1:
        return "< 1 s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@dataclass
class _Step:
    name: str
    task_id: str
    title: str
    started: datetime
    # What the task says once done (a step's result, e.g. the reviewer's verdict); else its title.
    done: str | None = None
    status: TaskStatus = TaskStatus.IN_PROGRESS

    def task(self) -> ProgressTask:
        return ProgressTask(id=self.task_id, title=self.title, status=self.status)


class DraftProgress:
    """What each agent step of a draft is doing and how long it took, in the thread."""

    def __init__(self, thread: SlackThread, recipient_user_id: str | None, recipient_team_id: str | None) -> None:
        self._thread = thread
        self._recipient_user_id = recipient_user_id
        self._recipient_team_id = recipient_team_id
        # None until the first step asks (the patch, then Slack's answer); False: notes for the whole run.
        self._streaming: bool | None = None
        # This draft's stream (None: not started yet, or over and the draft goes on with notes).
        self._stream: MessageRef | None = None
        self._over = False
        self._key = ""
        self._steps: list[_Step] = []
        self._findings: list[str] = []
        self._began: datetime | None = None

    @property
    def streaming(self) -> bool:
        """Whether this draft's progress is in a stream now (else its calls post notes)."""
        return self._stream is not None and not self._over

    async def step(self, name: str, doing: str, note: str | None = None) -> None:
        """An agent step begins: ``doing`` in the stream (the previous step done, with how long it took),
        or ``note`` (mrkdwn, safe) in the thread."""
        if await self._may_stream() and not self._over:
            now = durable().now()
            done = self._finish_current(now)
            step = _Step(name, f"{task_id_prefix(self._key or self._new_key())}{name}", doing, now)
            self._steps.append(step)
            if self._stream is None:
                await self._start(step)
            else:
                await self._append([*done, step.task()])
            if self.streaming:
                return
        if note:
            await self._thread.note(note)

    async def result(self, title: str, note: str, finding: str | None = None) -> None:
        """The current step's result: its task's title once done, and ``finding`` (markdown) where the stream
        ends; or ``note`` in the thread."""
        if self.streaming and self._steps:
            self._steps[-1].done = title
            if finding:
                self._findings.append(finding)
            return
        await self._thread.note(note)

    async def finding(self, text: str) -> None:
        """Something the draft's readers should know (mrkdwn): where the stream ends, or as a note."""
        if self.streaming:
            self._findings.append(text)
            return
        await self._thread.note(text)

    async def finish(self, text: str) -> None:
        """The draft is posted: end the stream with its last step, the findings and ``text``; or post ``text``.
        The next draft's steps start a new stream."""
        if not self.streaming:
            self._reset()
            await self._thread.note(text)
            return
        now = durable().now()
        done = self._finish_current(now)
        assert self._began is not None
        stopped = await self._stop(
            f"Draft ready · {took(now - self._began)}", done, "\n\n".join([*self._findings, text])
        )
        self._reset()
        if not stopped:
            await self._thread.note(text)

    async def abort(self, why: str) -> None:
        """The run ends before its draft (failed, cancelled, stopped): a stream in progress is stopped, never
        left typing, its step marked failed; the thread's own note says why."""
        if not self.streaming or not self._steps:
            self._reset()
            return
        step = self._steps[-1]
        if step.status is TaskStatus.IN_PROGRESS:
            step.status = TaskStatus.ERROR
        await self._stop(why, [step.task()], "")
        self._reset()

    # -- the stream ------------------------------------------------------------------

    async def _may_stream(self) -> bool:
        if self._streaming is None:
            # Runs that began before streamed progress keep posting notes (and replay as they ran).
            self._streaming = self._thread.parent is not None and await durable().patched_async(STREAMED_PROGRESS_PATCH)
        return self._streaming

    def _new_key(self) -> str:
        self._key = self._thread.next_key()
        return self._key

    def _finish_current(self, now: datetime) -> list[ProgressTask]:
        if not self._steps or self._steps[-1].status is not TaskStatus.IN_PROGRESS:
            return []
        step = self._steps[-1]
        step.status = TaskStatus.COMPLETE
        step.title = f"{step.done or step.title} · {took(now - step.started)}"
        return [step.task()]

    async def _start(self, first: _Step, done: tuple[ProgressTask, ...] = ()) -> None:
        """Start this draft's stream at ``first`` (after the ``done`` tasks, when it goes on from an ended one)."""
        parent = self._thread.parent
        assert parent is not None
        if self._began is None:
            self._began = first.started
        started: ProgressStream = await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_START_PROGRESS,
                ProgressStartInput(
                    thread=parent,
                    recipient_user_id=self._recipient_user_id,
                    recipient_team_id=self._recipient_team_id,
                    title=PLAN_TITLE,
                    tasks=[*done, first.task()],
                    idempotency_key=self._key,
                ),
                start_to_close_timeout=PROGRESS_START_TO_CLOSE,
                result_type=ProgressStream,
                policy=PROGRESS_RETRY_POLICY,
            )
        )
        if started.message is None:
            # Slack won't stream here (this app, token or conversation): notes for the rest of the run.
            durable().logger.info("No streamed progress (%s): posting phase notes", started.refused)
            self._streaming = False
            self._reset()
            return
        self._stream = started.message

    async def _append(self, tasks: list[ProgressTask]) -> None:
        assert self._stream is not None
        refused: str | None = await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_APPEND_PROGRESS,
                ProgressAppendInput(stream=self._stream, title=PLAN_TITLE, tasks=tasks),
                # A string or nothing: no type to decode into.
                start_to_close_timeout=PROGRESS_START_TO_CLOSE,
                policy=PROGRESS_RETRY_POLICY,
            )
        )
        if refused is None:
            return
        if refused == STREAM_ENDED_BY_SLACK:
            # Slack ends a stream a few minutes after it began; long agent steps go on in a new message with
            # the same tasks (the ended one keeps what it showed, no longer typing).
            old, new = task_id_prefix(self._key), task_id_prefix(self._new_key())
            step = self._steps[-1]
            step.task_id = new + step.name
            done = tuple(
                ProgressTask(id=new + t.id.removeprefix(old), title=t.title, status=t.status)
                for t in tasks
                if t.id != step.task_id and t.id != old + step.name
            )
            self._stream = None
            await self._start(step, done)
            return
        # Someone pressed Stop, or Slack refused otherwise: this draft goes on with notes.
        self._over = True

    async def _stop(self, title: str, tasks: list[ProgressTask], text: str) -> bool:
        assert self._stream is not None and self._thread.parent is not None
        stopped: bool = await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_STOP_PROGRESS,
                ProgressStopInput(
                    thread=self._thread.parent,
                    stream=self._stream,
                    title=title,
                    tasks=tasks,
                    text=text,
                    idempotency_key=self._key,
                ),
                start_to_close_timeout=PROGRESS_START_TO_CLOSE,
                result_type=bool,
                policy=PROGRESS_RETRY_POLICY,
            )
        )
        return stopped

    def _reset(self) -> None:
        self._stream = None
        self._over = False
        self._key = ""
        self._steps = []
        self._findings = []
        self._began = None
