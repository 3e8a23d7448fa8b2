"""A worker's hold on one run: every write carries its fence, and a refused write stops the
run's executor with the reason (the run was cancelled, or another worker holds it now)."""

from collections.abc import Sequence
from typing import Any

from engine import state
from engine.stop import Stopped
from models.base import ScopedDocument
from models.event import NewEvent
from models.message import MessageDocument
from models.run import RunDocument, RunStatus, runs
from models.run_changes import RunChanged
from models.run_step import RunStepDocument


class RunWriter:
    def __init__(self, run: RunDocument) -> None:
        self.run = run
        self.fence = run.fence
        # The run is known to have no steps (nor messages) of its own: its first claim found
        # it queued, and this writer has written none since. Nothing to read back, then.
        self.stepless = run.fence == 1 and run.status == "queued"

    async def move(
        self,
        to: RunStatus,
        fields: dict[str, Any] | None = None,
        documents: Sequence[ScopedDocument] = (),
        events: Sequence[NewEvent] = (),
    ) -> None:
        self.stepless = self.stepless and not documents
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
        self.stepless = self.stepless and not documents
        try:
            self.run, _ = await state.record(
                self.run, fence=self.fence, fields=fields, documents=documents, events=events
            )
        except RunChanged:
            await self._explain()

    async def _explain(self) -> None:
        stored = await runs.find(self.run.project_id, self.run.id)
        if stored is None or stored.fence != self.fence or stored.is_terminal:
            raise Stopped("lost")
        self.run = stored
        if stored.status == "cancelling":
            raise Stopped("cancel")
        raise Stopped("lost")


def event(name: str, run_id: str, **data: Any) -> NewEvent:
    return NewEvent(name, run_id, data)


def step_event(name: str, step: RunStepDocument) -> NewEvent:
    return NewEvent(f"thread.run.step.{name}", step.run_id, {"step": step.snapshot()})


def message_event(name: str, message: MessageDocument) -> NewEvent:
    return NewEvent(
        f"thread.message.{name}",
        message.run_id or "",
        {"message": message.model_dump(exclude={"position"})},
    )
