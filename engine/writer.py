"""A worker's hold on one run: every write carries its fence, and a refused write tells
why (the run was cancelled, or another worker took it over)."""

from collections.abc import Sequence
from typing import Any

from engine import state
from models.base import ScopedDocument, utcnow
from models.event import NewEvent
from models.message import ContentPart, MessageDocument, TextValue
from models.run import RunDocument, RunStatus, runs
from models.run_changes import RunChanged
from models.run_step import RunStepDocument


class LeaseLost(Exception):
    """Another worker holds the run now (or it ended, or was deleted): stop, write nothing."""


class CancelRequested(Exception):
    """`cancelRun` moved the run to `cancelling`: stop the model and wind the run down."""


class RunWriter:
    def __init__(self, run: RunDocument) -> None:
        self.run = run
        self.fence = run.fence
        # The step and message being written, if any.
        self.step: RunStepDocument | None = None
        self.message: MessageDocument | None = None
        self.text: list[str] = []  # the open message's text so far

    async def move(
        self,
        to: RunStatus,
        fields: dict[str, Any] | None = None,
        documents: Sequence[ScopedDocument] = (),
        events: Sequence[NewEvent] = (),
    ) -> None:
        try:
            self.run, _ = await state.move(
                self.run, to, fence=self.fence, fields=fields, documents=documents, events=events
            )
        except RunChanged:
            await self._explain()

    async def record(
        self,
        fields: dict[str, Any] | None = None,
        documents: Sequence[ScopedDocument] = (),
        events: Sequence[NewEvent] = (),
    ) -> None:
        try:
            self.run, _ = await state.record(
                self.run, fence=self.fence, fields=fields, documents=documents, events=events
            )
        except RunChanged:
            await self._explain()

    async def _explain(self) -> None:
        stored = await runs.find(self.run.project_id, self.run.id)
        if stored is None or stored.fence != self.fence or stored.is_terminal:
            raise LeaseLost(self.run.id)
        self.run = stored
        if stored.status == "cancelling":
            raise CancelRequested(self.run.id)
        raise LeaseLost(self.run.id)

    def partial_message(self, reason: str) -> MessageDocument | None:
        """The open message as far as it got, ended `incomplete`."""
        message = self.message
        if message is None:
            return None
        text = TextValue(value="".join(self.text))
        message.content = [ContentPart(type="text", text=text)]
        message.status, message.incomplete_at = "incomplete", utcnow()
        message.incomplete_details = {"reason": reason}
        self.message, self.step, self.text = None, None, []
        return message


def event(name: str, run_id: str, **data: Any) -> NewEvent:
    return NewEvent(name, run_id, data)


def step_event(name: str, step: RunStepDocument) -> NewEvent:
    return NewEvent(f"thread.run.step.{name}", step.run_id, {"step": step.snapshot()})


def message_event(name: str, message: MessageDocument) -> NewEvent:
    return NewEvent(
        f"thread.message.{name}", message.run_id or "", {"message": message.model_dump()}
    )
