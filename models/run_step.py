"""Run steps: each model call of a run, as a message it wrote or tool calls it made."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pymongo import IndexModel

from models.base import ScopedDocument
from models.ids import new_id
from models.repository import Repository
from models.run import LastError, ToolCall, Usage

StepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]


class MessageCreation(BaseModel):
    message_id: str


class StepDetails(BaseModel):
    type: Literal["message_creation", "tool_calls"]
    message_creation: MessageCreation | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)


class RunStepDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("step"))
    run_id: str
    thread_id: str
    assistant_id: str
    type: Literal["message_creation", "tool_calls"]
    status: StepStatus = "in_progress"
    step_details: StepDetails
    last_error: LastError | None = None
    usage: Usage | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    failed_at: datetime | None = None
    expired_at: datetime | None = None

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.model_dump()
        return snapshot

    class Settings:
        name = "run_steps"
        indexes = [
            IndexModel([("project_id", 1), ("run_id", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("run_id", 1), ("status", 1)]),
        ]


run_steps = Repository(RunStepDocument, "run step", "step_")


async def steps_of(run_id: str, project_id: str) -> list[RunStepDocument]:
    """A run's steps in the order they were made."""
    return (
        await RunStepDocument.find({"run_id": run_id, "project_id": project_id})
        .sort("+created_at", "+_id")
        .to_list()
    )


async def open_steps(run_id: str, project_id: str) -> list[RunStepDocument]:
    return (
        await RunStepDocument.find(
            {"run_id": run_id, "project_id": project_id, "status": "in_progress"}
        )
        .sort("+created_at", "+_id")
        .to_list()
    )
