"""Runs as GraphQL types and inputs."""

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app.batches import BATCHED
from app.context import Info
from models import run as m
from models.pagination import PageRequest, SortOrder
from models.run_step import run_steps
from schema.assistant import Assistant, ReasoningEffort
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    Order,
    json_value,
)
from schema.message import CreateMessageInput, IncompleteDetails
from schema.run_step import FunctionToolCall, LastError, RunStep, Usage
from schema.thread import CreateThreadInput
from schema.tool import ResponseFormat, ResponseFormatInput, Tool, ToolInput

if TYPE_CHECKING:
    from schema.thread import Thread


@strawberry.enum(description="Where a run stands (OpenAI: `run.status`).")
class RunStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    QUEUED = strawberry.enum_value("queued", description="Waiting for a worker (OpenAI: `queued`).")
    IN_PROGRESS = strawberry.enum_value(
        "in_progress", description="The model is working (OpenAI: `in_progress`)."
    )
    REQUIRES_ACTION = strawberry.enum_value(
        "requires_action",
        description="Waiting for `submitToolOutputs` (OpenAI: `requires_action`).",
    )
    CANCELLING = strawberry.enum_value(
        "cancelling", description="Cancelled; the model is stopping (OpenAI: `cancelling`)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Ended by `cancelRun` (OpenAI: `cancelled`)."
    )
    FAILED = strawberry.enum_value(
        "failed", description="Ended on an error: see `lastError` (OpenAI: `failed`)."
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Ended with the assistant's answer (OpenAI: `completed`)."
    )
    INCOMPLETE = strawberry.enum_value(
        "incomplete",
        description="Ended on a token limit: see `incompleteDetails` (OpenAI: `incomplete`).",
    )
    EXPIRED = strawberry.enum_value(
        "expired", description="Waited past `expiresAt` (OpenAI: `expired`)."
    )


@strawberry.enum(
    description="How a thread is cut to fit a run (OpenAI: `truncation_strategy.type`)."
)
class TruncationType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    AUTO = strawberry.enum_value(
        "auto",
        description="Drop the oldest messages that do not fit the context window (OpenAI: `auto`).",
    )
    LAST_MESSAGES = strawberry.enum_value(
        "last_messages",
        description="Only the newest `lastMessages` messages (OpenAI: `last_messages`).",
    )


@strawberry.enum(description="Which tool the model must call (OpenAI: `tool_choice`).")
class ToolChoiceType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    NONE = strawberry.enum_value(
        "none", description="Call no tool: answer with a message (OpenAI: `none`)."
    )
    AUTO = strawberry.enum_value("auto", description="The model decides (OpenAI: `auto`).")
    REQUIRED = strawberry.enum_value(
        "required", description="Call at least one tool (OpenAI: `required`)."
    )
    FUNCTION = strawberry.enum_value(
        "function", description="Call the function named in `function` (OpenAI: `function`)."
    )
    FILE_SEARCH = strawberry.enum_value(
        "file_search", description="Call file search (OpenAI: `file_search`)."
    )
    CODE_INTERPRETER = strawberry.enum_value(
        "code_interpreter", description="Call code interpreter (OpenAI: `code_interpreter`)."
    )


@strawberry.type(
    description="The function calls a run waits on (OpenAI: `required_action.submit_tool_outputs`)."
)
class SubmitToolOutputs:
    tool_calls: list[FunctionToolCall] = strawberry.field(
        description="The calls to answer, each by its `id` (OpenAI: `tool_calls`)."
    )


@strawberry.type(description="What a run waits for (OpenAI: `run.required_action`).")
class RequiredAction:
    type: str = strawberry.field(description="Always `submit_tool_outputs`.")
    submit_tool_outputs: SubmitToolOutputs = strawberry.field(
        description="The calls whose outputs it needs."
    )


@strawberry.type(
    description="How the thread is cut to fit the run (OpenAI: `truncation_strategy`)."
)
class TruncationStrategy:
    type: TruncationType = strawberry.field(description="The kind of truncation.")
    last_messages: int | None = strawberry.field(
        description="For LAST_MESSAGES: how many of the newest messages the run reads."
    )


@strawberry.type(description="The function a run must call (OpenAI: `tool_choice.function`).")
class ToolChoiceFunction:
    name: str = strawberry.field(description="The function's name.")


@strawberry.type(description="Which tool the model must call (OpenAI: `run.tool_choice`).")
class ToolChoice:
    type: ToolChoiceType = strawberry.field(description="The choice.")
    function: ToolChoiceFunction | None = strawberry.field(
        description="The function, for FUNCTION only."
    )


@strawberry.type(
    description="One execution of an assistant on a thread (OpenAI: the `thread.run` object)."
)
class Run(Node):
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `run.created_at`)."
    )
    thread_id: strawberry.ID = strawberry.field(
        description="The thread it runs on (OpenAI: `run.thread_id`)."
    )
    assistant_id: strawberry.ID = strawberry.field(
        description="The assistant it runs (OpenAI: `run.assistant_id`)."
    )
    status: RunStatus = strawberry.field(description="Where it stands (OpenAI: `run.status`).")
    required_action: RequiredAction | None = strawberry.field(
        description="In REQUIRES_ACTION: the tool outputs it waits for (OpenAI: "
        "`run.required_action`)."
    )
    last_error: LastError | None = strawberry.field(
        description="Why it failed, if it did (OpenAI: `run.last_error`)."
    )
    expires_at: datetime | None = strawberry.field(
        description="When it expires if still queued or waiting for tool outputs; null once "
        "it ends (OpenAI: `run.expires_at`)."
    )
    started_at: datetime | None = strawberry.field(
        description="When it first went IN_PROGRESS (OpenAI: `run.started_at`)."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (OpenAI: `run.cancelled_at`)."
    )
    failed_at: datetime | None = strawberry.field(
        description="When it failed (OpenAI: `run.failed_at`)."
    )
    completed_at: datetime | None = strawberry.field(
        description="When it completed (OpenAI: `run.completed_at`)."
    )
    incomplete_details: IncompleteDetails | None = strawberry.field(
        description="Why it ended INCOMPLETE (OpenAI: `run.incomplete_details`)."
    )
    model: str = strawberry.field(description="The model it uses (OpenAI: `run.model`).")
    instructions: str = strawberry.field(
        description="The instructions it uses (OpenAI: `run.instructions`)."
    )
    tools: list[Tool] = strawberry.field(description="The tools it may call (OpenAI: `run.tools`).")
    metadata: JSON = strawberry.field(
        description="Your key-value strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `run.metadata`)."
    )
    usage: Usage | None = strawberry.field(
        description="Tokens used, once it has ended (OpenAI: `run.usage`)."
    )
    temperature: float | None = strawberry.field(
        description="Sampling temperature, 0 to 2 (OpenAI: `run.temperature`)."
    )
    top_p: float | None = strawberry.field(
        description="Nucleus sampling mass, 0 to 1 (OpenAI: `run.top_p`)."
    )
    max_prompt_tokens: int | None = strawberry.field(
        description="The most prompt tokens it may use over all its turns (OpenAI: "
        "`run.max_prompt_tokens`)."
    )
    max_completion_tokens: int | None = strawberry.field(
        description="The most completion tokens it may use over all its turns (OpenAI: "
        "`run.max_completion_tokens`)."
    )
    truncation_strategy: TruncationStrategy = strawberry.field(
        description="How the thread is cut to fit (OpenAI: `run.truncation_strategy`)."
    )
    tool_choice: ToolChoice = strawberry.field(
        description="Which tool the model must call (OpenAI: `run.tool_choice`)."
    )
    parallel_tool_calls: bool = strawberry.field(
        description="Whether the model may call several functions at once (OpenAI: "
        "`run.parallel_tool_calls`)."
    )
    response_format: ResponseFormat | None = strawberry.field(
        description="The form of its answers (OpenAI: `run.response_format`)."
    )
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        description="How hard a reasoning model thinks (OpenAI: `run.reasoning_effort`)."
    )

    @strawberry.field(
        description=f"The run's steps, oldest first by default. {PAGE_ARGUMENTS_HELP}"
    )
    async def steps(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.ASC,
    ) -> Connection[RunStep]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await run_steps.page(info.context.project_id, request, run_id=self.id)
        return Connection[RunStep].from_page(page, RunStep.from_document)

    @strawberry.field(
        description="The thread it runs on; null if the caller may not see it.", metadata=BATCHED
    )
    async def thread(
        self, info: Info
    ) -> Annotated["Thread", strawberry.lazy("schema.thread")] | None:
        from schema.thread import Thread

        document = await info.context.access.thread(self.thread_id)
        return Thread.from_document(document) if document else None

    @strawberry.field(
        description="The assistant it runs; null if the caller may not see it.", metadata=BATCHED
    )
    async def assistant(self, info: Info) -> Assistant | None:
        # Null for a client token not granted the assistant (a project key may have run
        # another one on the subject's thread).
        document = await info.context.access.assistant(self.assistant_id)
        return Assistant.from_document(document) if document else None

    @classmethod
    def from_document(cls, run: m.RunDocument) -> "Run":
        action = run.required_action
        choice = run.tool_choice
        return cls(
            id=strawberry.ID(run.id),
            created_at=run.created_at,
            thread_id=strawberry.ID(run.thread_id),
            assistant_id=strawberry.ID(run.assistant_id),
            status=RunStatus(run.status),
            required_action=RequiredAction(
                type=action.type,
                submit_tool_outputs=SubmitToolOutputs(
                    tool_calls=[FunctionToolCall.from_model(call) for call in action.tool_calls]
                ),
            )
            if action
            else None,
            last_error=LastError.from_model(run.last_error),
            expires_at=run.expires_at,
            started_at=run.started_at,
            cancelled_at=run.cancelled_at,
            failed_at=run.failed_at,
            completed_at=run.completed_at,
            incomplete_details=IncompleteDetails(reason=run.incomplete_details.reason)
            if run.incomplete_details
            else None,
            model=run.model,
            instructions=run.instructions,
            tools=[Tool.from_model(tool) for tool in run.tools],
            metadata=json_value(run.metadata),
            usage=Usage.from_model(run.usage),
            temperature=run.temperature,
            top_p=run.top_p,
            max_prompt_tokens=run.max_prompt_tokens,
            max_completion_tokens=run.max_completion_tokens,
            truncation_strategy=TruncationStrategy(
                type=TruncationType(run.truncation_strategy.type),
                last_messages=run.truncation_strategy.last_messages,
            ),
            tool_choice=ToolChoice(
                type=ToolChoiceType(choice.type),
                function=ToolChoiceFunction(name=choice.function_name)
                if choice.function_name
                else None,
            ),
            parallel_tool_calls=run.parallel_tool_calls,
            response_format=ResponseFormat.from_model(run.response_format),
            reasoning_effort=ReasoningEffort.of(run.reasoning_effort),
        )


@strawberry.input(description="How to cut the thread to fit (OpenAI: `truncation_strategy`).")
class TruncationStrategyInput:
    type: TruncationType = strawberry.field(
        default=TruncationType.AUTO, description="The kind of truncation."
    )
    last_messages: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required for, and only for, LAST_MESSAGES: how many (1 or more).",
    )


@strawberry.input(description="The function to call (OpenAI: `tool_choice.function`).")
class ToolChoiceFunctionInput:
    name: str = strawberry.field(description="A function tool's name.")


@strawberry.input(description="Which tool the model must call (OpenAI: `tool_choice`).")
class ToolChoiceInput:
    type: ToolChoiceType = strawberry.field(description="The choice.")
    function: ToolChoiceFunctionInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required for, and only for, FUNCTION."
    )


@strawberry.input(description="What `createRun` and `createThreadAndRun` share.")
class RunOptionsInput:
    """What `createRun` and `createThreadAndRun` share."""

    assistant_id: strawberry.ID = strawberry.field(
        description="The assistant to run (OpenAI: `assistant_id`)."
    )
    model: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the assistant's model; one the server serves (OpenAI: `model`).",
    )
    instructions: str | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the assistant's instructions."
    )
    additional_instructions: str | None = strawberry.field(
        default=strawberry.UNSET, description="Appended to the instructions for this run."
    )
    tools: list[ToolInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the assistant's tools, at most 128 (OpenAI: `tools`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )
    temperature: float | None = strawberry.field(
        default=strawberry.UNSET,
        description="0 to 2; unset: the assistant's (OpenAI: `temperature`).",
    )
    top_p: float | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 1; unset: the assistant's (OpenAI: `top_p`)."
    )
    max_prompt_tokens: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="At least 256: past it the run ends INCOMPLETE (OpenAI: `max_prompt_tokens`).",
    )
    max_completion_tokens: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="At least 256: past it the run ends INCOMPLETE (OpenAI: "
        "`max_completion_tokens`).",
    )
    truncation_strategy: TruncationStrategyInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="How to cut the thread to fit; unset: AUTO (OpenAI: `truncation_strategy`).",
    )
    tool_choice: ToolChoiceInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Which tool the model must call; unset: AUTO (OpenAI: `tool_choice`).",
    )
    parallel_tool_calls: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether several functions may be called at once; unset: true (OpenAI: "
        "`parallel_tool_calls`).",
    )
    response_format: ResponseFormatInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the assistant's response format (OpenAI: `response_format`).",
    )
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        default=strawberry.UNSET, description="Unset or null: the assistant's."
    )


@strawberry.input(description="A new run (OpenAI: `POST /threads/{thread_id}/runs`'s body).")
class CreateRunInput(RunOptionsInput):
    additional_messages: list[CreateMessageInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Added to the thread before the run starts."
    )


@strawberry.input(description="A new thread and its run (OpenAI: `POST /threads/runs`'s body).")
class CreateThreadAndRunInput(RunOptionsInput):
    thread: CreateThreadInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="The thread to create; an empty one if unset (OpenAI: `thread`).",
    )


@strawberry.input(description="A run's new metadata (OpenAI: `POST …/runs/{run_id}`'s body).")
class UpdateRunInput:
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces its metadata: at most 16 keys; null clears it (OpenAI: `metadata`).",
    )


@strawberry.input(description="The output of one function call (OpenAI: `tool_outputs[]`).")
class ToolOutputInput:
    tool_call_id: strawberry.ID = strawberry.field(
        description="The call's `id` (OpenAI: `tool_call_id`)."
    )
    output: str = strawberry.field(description="What the function returned, as text.")
