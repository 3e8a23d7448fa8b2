"""Run and run step queries and mutations."""

from typing import Annotated

import strawberry

from app.context import Info
from models.validation import validated
from schema.common import input_data
from schema.run import (
    CreateRunInput,
    CreateThreadAndRunInput,
    Run,
    ToolOutputInput,
    UpdateRunInput,
)
from schema.run_step import RunStep
from services.runs import CreateRun, CreateThreadAndRun, ToolOutput, UpdateRun


@strawberry.type
class RunQuery:
    @strawberry.field(description="A run by its id; null if there is none the caller may see.")
    async def run(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The run's id (`run_…`).")],
    ) -> Run | None:
        document = await info.context.access.run(id)
        return Run.from_document(document) if document else None

    @strawberry.field(description="A run step by its id; null if there is none the caller may see.")
    async def run_step(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The step's id (`step_…`).")],
    ) -> RunStep | None:
        document = await info.context.access.run_step(id)
        return RunStep.from_document(document) if document else None


@strawberry.type
class RunMutation:
    @strawberry.mutation(
        description="Queues a run of an assistant on a thread; follow it with `runEvents`."
    )
    async def create_run(
        self,
        info: Info,
        thread_id: Annotated[
            strawberry.ID, strawberry.argument(description="The thread to run the assistant on.")
        ],
        input: Annotated[
            CreateRunInput, strawberry.argument(description="The assistant and run options.")
        ],
    ) -> Run:
        service, access = info.context.services.runs, info.context.access
        data = input_data(input)
        access.check_run_input(data)
        await access.check_thread(thread_id)
        given = validated(CreateRun, data)
        document = await service.create(info.context.project_id, thread_id, given)
        return Run.from_document(document)

    @strawberry.mutation(description="Creates a thread and queues a run on it, atomically.")
    async def create_thread_and_run(
        self,
        info: Info,
        input: Annotated[
            CreateThreadAndRunInput,
            strawberry.argument(description="The new thread, the assistant and run options."),
        ],
    ) -> Run:
        service, access = info.context.services.runs, info.context.access
        data = input_data(input)
        access.check_run_input(data)
        thread = data.get("thread") or {}
        data["thread"] = {**thread, "owner": access.thread_owner(thread.get("owner"))}
        given = validated(CreateThreadAndRun, data)
        document = await service.create_thread_and_run(info.context.project_id, given)
        return Run.from_document(document)

    @strawberry.mutation(description="Changes a run's metadata, the only field that can change.")
    async def update_run(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The run's id.")],
        input: Annotated[UpdateRunInput, strawberry.argument(description="The new metadata.")],
    ) -> Run:
        given = validated(UpdateRun, input_data(input))
        document = await info.context.services.runs.update(info.context.project_id, id, given)
        return Run.from_document(document)

    @strawberry.mutation(
        description="Answers every pending tool call of a run in `REQUIRES_ACTION`, once."
    )
    async def submit_tool_outputs(
        self,
        info: Info,
        run_id: Annotated[
            strawberry.ID, strawberry.argument(description="The run waiting for the outputs.")
        ],
        tool_outputs: Annotated[
            list[ToolOutputInput],
            strawberry.argument(description="One output for each call in `requiredAction`."),
        ],
    ) -> Run:
        await info.context.access.check_run_action(run_id)
        outputs = [validated(ToolOutput, item) for item in input_data(tool_outputs)]
        service = info.context.services.runs
        submitted = await service.submit_tool_outputs(info.context.project_id, run_id, outputs)
        return Run.from_document(submitted.run)

    @strawberry.mutation(description="Cancels a run: `CANCELLING` while its model stops.")
    async def cancel_run(
        self,
        info: Info,
        run_id: Annotated[strawberry.ID, strawberry.argument(description="The run's id.")],
    ) -> Run:
        await info.context.access.check_run_action(run_id)
        document = await info.context.services.runs.cancel(info.context.project_id, run_id)
        return Run.from_document(document)
