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
from schema.common import PAGE_ARGUMENTS_HELP, Connection, Node, json_value
from schema.message import CreateMessageInput, IncompleteDetails
from schema.run_step import FunctionToolCall, LastError, RunStep, Usage
from schema.thread import CreateThreadInput
from schema.tool import ResponseFormat, ResponseFormatInput, Tool, ToolInput

if TYPE_CHECKING:
    from schema.thread import Thread


@strawberry.enum
class RunStatus(enum.Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"


@strawberry.enum
class TruncationType(enum.Enum):
    AUTO = "auto"
    LAST_MESSAGES = "last_messages"


@strawberry.enum
class ToolChoiceType(enum.Enum):
    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"
    FUNCTION = "function"
    FILE_SEARCH = "file_search"
    CODE_INTERPRETER = "code_interpreter"


@strawberry.type
class SubmitToolOutputs:
    tool_calls: list[FunctionToolCall]


@strawberry.type
class RequiredAction:
    type: str
    submit_tool_outputs: SubmitToolOutputs


@strawberry.type
class TruncationStrategy:
    type: TruncationType
    last_messages: int | None


@strawberry.type
class ToolChoiceFunction:
    name: str


@strawberry.type
class ToolChoice:
    type: ToolChoiceType
    function: ToolChoiceFunction | None


@strawberry.type
class Run(Node):
    created_at: datetime
    thread_id: strawberry.ID
    assistant_id: strawberry.ID
    status: RunStatus
    required_action: RequiredAction | None
    last_error: LastError | None
    expires_at: datetime | None
    started_at: datetime | None
    cancelled_at: datetime | None
    failed_at: datetime | None
    completed_at: datetime | None
    incomplete_details: IncompleteDetails | None
    model: str
    instructions: str
    tools: list[Tool]
    metadata: JSON
    usage: Usage | None
    temperature: float | None
    top_p: float | None
    max_prompt_tokens: int | None
    max_completion_tokens: int | None
    truncation_strategy: TruncationStrategy
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    response_format: ResponseFormat | None
    reasoning_effort: ReasoningEffort | None

    @strawberry.field(
        description=f"The run's steps, oldest first by default. {PAGE_ARGUMENTS_HELP}"
    )
    async def steps(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.ASC,
    ) -> Connection[RunStep]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await run_steps.page(info.context.project_id, request, run_id=self.id)
        return Connection[RunStep].from_page(page, RunStep.from_document)

    @strawberry.field(metadata=BATCHED)
    async def thread(
        self, info: Info
    ) -> Annotated["Thread", strawberry.lazy("schema.thread")] | None:
        from schema.thread import Thread

        document = await info.context.access.thread(self.thread_id)
        return Thread.from_document(document) if document else None

    @strawberry.field(metadata=BATCHED)
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


@strawberry.input
class TruncationStrategyInput:
    type: TruncationType = TruncationType.AUTO
    last_messages: int | None = strawberry.UNSET


@strawberry.input
class ToolChoiceFunctionInput:
    name: str


@strawberry.input
class ToolChoiceInput:
    type: ToolChoiceType
    function: ToolChoiceFunctionInput | None = strawberry.UNSET


@strawberry.input
class RunOptionsInput:
    """What `createRun` and `createThreadAndRun` share."""

    assistant_id: strawberry.ID
    model: str | None = strawberry.UNSET
    instructions: str | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the assistant's instructions."
    )
    additional_instructions: str | None = strawberry.field(
        default=strawberry.UNSET, description="Appended to the instructions for this run."
    )
    tools: list[ToolInput] | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    temperature: float | None = strawberry.UNSET
    top_p: float | None = strawberry.UNSET
    max_prompt_tokens: int | None = strawberry.UNSET
    max_completion_tokens: int | None = strawberry.UNSET
    truncation_strategy: TruncationStrategyInput | None = strawberry.UNSET
    tool_choice: ToolChoiceInput | None = strawberry.UNSET
    parallel_tool_calls: bool | None = strawberry.UNSET
    response_format: ResponseFormatInput | None = strawberry.UNSET
    reasoning_effort: ReasoningEffort | None = strawberry.field(
        default=strawberry.UNSET, description="Unset or null: the assistant's."
    )


@strawberry.input
class CreateRunInput(RunOptionsInput):
    additional_messages: list[CreateMessageInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Added to the thread before the run starts."
    )


@strawberry.input
class CreateThreadAndRunInput(RunOptionsInput):
    thread: CreateThreadInput | None = strawberry.UNSET


@strawberry.input
class UpdateRunInput:
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class ToolOutputInput:
    tool_call_id: strawberry.ID
    output: str
