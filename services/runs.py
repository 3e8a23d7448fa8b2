"""Runs and run steps as both faces see them: typed inputs in, documents out. The run's
transitions themselves are the engine's (engine/runs.py, engine/state.py)."""

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from engine.runs import RunService
from models.pagination import Page, PageRequest
from models.run import RunDocument, TruncationStrategy, runs
from models.run_step import RunStepDocument, run_steps
from models.thread import threads
from models.tools import ResponseFormat, Tool
from models.validation import ToolName
from services.messages import CreateMessage
from services.threads import CreateThread


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def given(self) -> dict[str, Any]:
        """The fields the caller set, as the engine takes them."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class ToolChoiceFunction(_Input):
    name: ToolName


class ToolChoice(_Input):
    type: Literal["none", "auto", "required", "function", "file_search", "code_interpreter"]
    function: ToolChoiceFunction | None = None


class RunOptions(_Input):
    """What a run may set over its assistant's configuration."""

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    additional_instructions: str | None = None
    tools: list[Tool] | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None


class CreateRun(RunOptions):
    additional_messages: list[CreateMessage] | None = None


class CreateThreadAndRun(RunOptions):
    thread: CreateThread | None = None


class ToolOutput(_Input):
    tool_call_id: str
    output: str


class UpdateRun(_Input):
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class Submitted:
    run: RunDocument
    after: int  # the thread's event sequence just before the submit's own events


class Runs:
    def __init__(self, engine_runs: RunService) -> None:
        self.engine = engine_runs

    async def create(self, project_id: str, thread_id: str, given: CreateRun) -> RunDocument:
        return await self.engine.create_run(project_id, thread_id, given.given())

    async def create_thread_and_run(
        self, project_id: str, given: CreateThreadAndRun
    ) -> RunDocument:
        return await self.engine.create_thread_and_run(project_id, given.given())

    async def submit_tool_outputs(
        self, project_id: str, run_id: str, outputs: list[ToolOutput]
    ) -> Submitted:
        given = [output.given() for output in outputs]
        run, after = await self.engine.submit_tool_outputs(project_id, run_id, given)
        return Submitted(run, after)

    async def cancel(self, project_id: str, run_id: str) -> RunDocument:
        return await self.engine.cancel_run(project_id, run_id)

    async def update(self, project_id: str, run_id: str, given: UpdateRun) -> RunDocument:
        return await self.engine.update_run(project_id, run_id, given.given())

    async def find(
        self, project_id: str, run_id: str, thread_id: str | None = None
    ) -> RunDocument | None:
        """The run; with `thread_id`, only if it is that thread's (as a path names both)."""
        return await runs.find(project_id, run_id, thread_id=thread_id)

    async def get(self, project_id: str, run_id: str, thread_id: str | None = None) -> RunDocument:
        return await runs.get(project_id, run_id, thread_id=thread_id)

    async def page(
        self, project_id: str, thread_id: str, request: PageRequest
    ) -> Page[RunDocument]:
        await threads.get(project_id, thread_id)  # an unknown thread is NOT_FOUND, not empty
        return await runs.page(project_id, request, thread_id=thread_id)

    async def find_step(
        self, project_id: str, step_id: str, run_id: str, thread_id: str | None = None
    ) -> RunStepDocument | None:
        return await run_steps.find(project_id, step_id, run_id=run_id, thread_id=thread_id)

    async def step(
        self, project_id: str, step_id: str, run_id: str, thread_id: str | None = None
    ) -> RunStepDocument:
        return await run_steps.get(project_id, step_id, run_id=run_id, thread_id=thread_id)

    async def steps(
        self, project_id: str, run_id: str, request: PageRequest
    ) -> Page[RunStepDocument]:
        return await run_steps.page(project_id, request, run_id=run_id)
