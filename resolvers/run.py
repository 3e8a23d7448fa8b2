"""Run and run step queries and mutations."""

import strawberry

from app.context import Info
from models.run import runs
from models.run_step import run_steps
from schema.common import input_data
from schema.run import (
    CreateRunInput,
    CreateThreadAndRunInput,
    Run,
    ToolOutputInput,
    UpdateRunInput,
)
from schema.run_step import RunStep


@strawberry.type
class RunQuery:
    @strawberry.field
    async def run(self, info: Info, id: strawberry.ID) -> Run | None:
        document = await runs.find(info.context.project_id, id)
        return Run.from_document(document) if document else None

    @strawberry.field
    async def run_step(self, info: Info, id: strawberry.ID) -> RunStep | None:
        document = await run_steps.find(info.context.project_id, id)
        return RunStep.from_document(document) if document else None


@strawberry.type
class RunMutation:
    @strawberry.mutation(
        description="Queues a run of an assistant on a thread; follow it with `runEvents`."
    )
    async def create_run(self, info: Info, thread_id: strawberry.ID, input: CreateRunInput) -> Run:
        service = info.context.engine.runs
        document = await service.create_run(info.context.project_id, thread_id, input_data(input))
        return Run.from_document(document)

    @strawberry.mutation(description="Creates a thread and queues a run on it, atomically.")
    async def create_thread_and_run(self, info: Info, input: CreateThreadAndRunInput) -> Run:
        service = info.context.engine.runs
        document = await service.create_thread_and_run(info.context.project_id, input_data(input))
        return Run.from_document(document)

    @strawberry.mutation(description="Changes a run's metadata, the only field that can change.")
    async def update_run(self, info: Info, id: strawberry.ID, input: UpdateRunInput) -> Run:
        service = info.context.engine.runs
        document = await service.update_run(info.context.project_id, id, input_data(input))
        return Run.from_document(document)

    @strawberry.mutation(
        description="Answers every pending tool call of a run in `REQUIRES_ACTION`, once."
    )
    async def submit_tool_outputs(
        self, info: Info, run_id: strawberry.ID, tool_outputs: list[ToolOutputInput]
    ) -> Run:
        service = info.context.engine.runs
        outputs = input_data(tool_outputs)
        document = await service.submit_tool_outputs(info.context.project_id, run_id, outputs)
        return Run.from_document(document)

    @strawberry.mutation(description="Cancels a run: `CANCELLING` while its model stops.")
    async def cancel_run(self, info: Info, run_id: strawberry.ID) -> Run:
        document = await info.context.engine.runs.cancel_run(info.context.project_id, run_id)
        return Run.from_document(document)
