"""Run steps and tool calls as GraphQL types."""

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from models import run as m
from models.run_step import RunStepDocument
from schema.common import Node
from schema.tool import FileSearchRanker, RankingOptions


@strawberry.enum(description="Why a run or step failed (OpenAI: `last_error.code`).")
class RunErrorCode(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    SERVER_ERROR = strawberry.enum_value(
        "server_error",
        description="The model's provider or the server failed (OpenAI: `server_error`).",
    )
    RATE_LIMIT_EXCEEDED = strawberry.enum_value(
        "rate_limit_exceeded",
        description="The model's provider refused for a rate limit (OpenAI: "
        "`rate_limit_exceeded`).",
    )
    INVALID_PROMPT = strawberry.enum_value(
        "invalid_prompt", description="The provider refused the prompt (OpenAI: `invalid_prompt`)."
    )


@strawberry.type(description="Why a run or step failed (OpenAI: `last_error`).")
class LastError:
    code: RunErrorCode = strawberry.field(description="The kind of failure (OpenAI: `code`).")
    message: str = strawberry.field(description="What went wrong (OpenAI: `message`).")

    @classmethod
    def from_model(cls, error: m.LastError | None) -> "LastError | None":
        return cls(code=RunErrorCode(error.code), message=error.message) if error else None


@strawberry.type(description="Tokens a run or step used (OpenAI: `usage`).")
class Usage:
    prompt_tokens: int = strawberry.field(
        description="Tokens read, over all turns (OpenAI: `prompt_tokens`)."
    )
    completion_tokens: int = strawberry.field(
        description="Tokens written, over all turns (OpenAI: `completion_tokens`)."
    )
    total_tokens: int = strawberry.field(
        description="Prompt and completion tokens together (OpenAI: `total_tokens`)."
    )

    @classmethod
    def from_model(cls, usage: m.Usage | None) -> "Usage | None":
        return cls(**usage.model_dump()) if usage else None


@strawberry.type(description="A function the model called (OpenAI: `tool_call.function`).")
class FunctionCall:
    name: str = strawberry.field(description="The function's name.")
    arguments: str = strawberry.field(
        description="Its arguments, as the JSON text the model wrote."
    )
    output: str | None = strawberry.field(
        description="The output submitted for it; null until `submitToolOutputs`."
    )


@strawberry.type(description="A call of a function tool (OpenAI: tool call of type `function`).")
class FunctionToolCall:
    id: strawberry.ID = strawberry.field(
        description="The call's id (`call_…`), to answer as `toolCallId`."
    )
    function: FunctionCall = strawberry.field(description="The function and its arguments.")

    @classmethod
    def from_model(cls, call: m.ToolCall) -> "FunctionToolCall":
        function = call.function or m.FunctionCall(name="")
        return cls(id=strawberry.ID(call.id), function=FunctionCall(**function.model_dump()))


@strawberry.type(description="A chunk file search found (OpenAI: `file_search.results[]`).")
class FileSearchResult:
    file_id: strawberry.ID = strawberry.field(description="The file the chunk is from.")
    file_name: str = strawberry.field(description="That file's name.")
    score: float = strawberry.field(description="How well it matched, 0 to 1.")
    content: str = strawberry.field(
        description="The chunk's text (OpenAI sends it only when asked: select it to get it)."
    )


@strawberry.type(description="A search and its results (OpenAI: `tool_call.file_search`).")
class FileSearchCall:
    ranking_options: RankingOptions = strawberry.field(description="How results were ranked.")
    results: list[FileSearchResult] = strawberry.field(description="The chunks found, best first.")


@strawberry.type(description="A file search (OpenAI: tool call of type `file_search`).")
class FileSearchToolCall:
    id: strawberry.ID = strawberry.field(description="The call's id.")
    file_search: FileSearchCall = strawberry.field(description="The search and its results.")

    @classmethod
    def from_model(cls, call: m.ToolCall) -> "FileSearchToolCall":
        search = call.file_search or m.FileSearchCall()
        options = search.ranking_options
        return cls(
            id=strawberry.ID(call.id),
            file_search=FileSearchCall(
                ranking_options=RankingOptions(
                    ranker=FileSearchRanker(options.ranker), score_threshold=options.score_threshold
                ),
                results=[
                    FileSearchResult(
                        file_id=strawberry.ID(result.file_id),
                        file_name=result.file_name,
                        score=result.score,
                        content=result.content,
                    )
                    for result in search.results
                ],
            ),
        )


@strawberry.type(description="What the code printed (OpenAI: output of type `logs`).")
class CodeInterpreterLogs:
    logs: str = strawberry.field(description="Its standard output and errors.")


@strawberry.type(description="An image the code made (OpenAI: `image`).")
class CodeInterpreterImageFile:
    file_id: strawberry.ID = strawberry.field(
        description="The image's file (purpose ASSISTANTS_OUTPUT)."
    )


@strawberry.type(description="An image the code made (OpenAI: output of type `image`).")
class CodeInterpreterImage:
    image: CodeInterpreterImageFile = strawberry.field(description="The image.")


CodeInterpreterOutput = Annotated[
    CodeInterpreterLogs | CodeInterpreterImage,
    strawberry.union(
        "CodeInterpreterOutput",
        description="One output of code (OpenAI: `code_interpreter.outputs[]`).",
    ),
]


@strawberry.type(description="Code and its outputs (OpenAI: `tool_call.code_interpreter`).")
class CodeInterpreterCall:
    input: str = strawberry.field(description="The code, as the model wrote it.")
    outputs: list[CodeInterpreterOutput] = strawberry.field(
        description="What running it gave: logs and images."
    )


@strawberry.type(
    description="Code run in the sandbox (OpenAI: tool call of type `code_interpreter`)."
)
class CodeInterpreterToolCall:
    id: strawberry.ID = strawberry.field(description="The call's id.")
    code_interpreter: CodeInterpreterCall = strawberry.field(
        description="The code and its outputs."
    )

    @classmethod
    def from_model(cls, call: m.ToolCall) -> "CodeInterpreterToolCall":
        code = call.code_interpreter or m.CodeInterpreterCall()
        outputs: list[CodeInterpreterLogs | CodeInterpreterImage] = [
            CodeInterpreterLogs(logs=output.logs or "")
            if output.type == "logs"
            else CodeInterpreterImage(
                image=CodeInterpreterImageFile(
                    file_id=strawberry.ID(output.image.file_id if output.image else "")
                )
            )
            for output in code.outputs
        ]
        return cls(
            id=strawberry.ID(call.id),
            code_interpreter=CodeInterpreterCall(input=code.input, outputs=outputs),
        )


ToolCall = Annotated[
    CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall,
    strawberry.union("ToolCall", description="One tool call of a step (OpenAI: `tool_calls[]`)."),
]


def tool_call(call: m.ToolCall) -> CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall:
    if call.type == "file_search":
        return FileSearchToolCall.from_model(call)
    if call.type == "code_interpreter":
        return CodeInterpreterToolCall.from_model(call)
    return FunctionToolCall.from_model(call)


@strawberry.enum(description="What a step did (OpenAI: `run_step.type`).")
class RunStepType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    MESSAGE_CREATION = strawberry.enum_value(
        "message_creation",
        description="The assistant wrote a message (OpenAI: `message_creation`).",
    )
    TOOL_CALLS = strawberry.enum_value(
        "tool_calls", description="The assistant called tools (OpenAI: `tool_calls`)."
    )


@strawberry.enum(description="Where a step stands (OpenAI: `run_step.status`).")
class RunStepStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    IN_PROGRESS = strawberry.enum_value(
        "in_progress", description="Under way (OpenAI: `in_progress`)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Its run was cancelled (OpenAI: `cancelled`)."
    )
    FAILED = strawberry.enum_value(
        "failed", description="It failed: see `lastError` (OpenAI: `failed`)."
    )
    COMPLETED = strawberry.enum_value("completed", description="Done (OpenAI: `completed`).")
    EXPIRED = strawberry.enum_value(
        "expired", description="Its run expired waiting for tool outputs (OpenAI: `expired`)."
    )


@strawberry.type(description="The message a step wrote (OpenAI: `message_creation`).")
class MessageCreation:
    message_id: strawberry.ID = strawberry.field(description="The message's id.")


@strawberry.type(description="A step that wrote a message (OpenAI: `step_details` of that type).")
class MessageCreationDetails:
    message_creation: MessageCreation = strawberry.field(description="The message written.")


@strawberry.type(description="A step that called tools (OpenAI: `step_details` of that type).")
class ToolCallsDetails:
    tool_calls: list[ToolCall] = strawberry.field(
        description="The calls, in the model's order (OpenAI: `tool_calls`)."
    )


StepDetails = Annotated[
    MessageCreationDetails | ToolCallsDetails,
    strawberry.union("StepDetails", description="What a step did (OpenAI: `step_details`)."),
]


@strawberry.type(
    description="One step of a run: a message written or tools called (OpenAI: the "
    "`thread.run.step` object)."
)
class RunStep(Node):
    run_id: strawberry.ID = strawberry.field(
        description="The run it belongs to (OpenAI: `run_step.run_id`)."
    )
    thread_id: strawberry.ID = strawberry.field(
        description="The run's thread (OpenAI: `run_step.thread_id`)."
    )
    assistant_id: strawberry.ID = strawberry.field(
        description="The run's assistant (OpenAI: `run_step.assistant_id`)."
    )
    type: RunStepType = strawberry.field(description="What it did (OpenAI: `run_step.type`).")
    status: RunStepStatus = strawberry.field(
        description="Where it stands (OpenAI: `run_step.status`)."
    )
    step_details: StepDetails = strawberry.field(
        description="The message or the tool calls (OpenAI: `run_step.step_details`)."
    )
    last_error: LastError | None = strawberry.field(
        description="Why it failed, if it did (OpenAI: `run_step.last_error`)."
    )
    usage: Usage | None = strawberry.field(
        description="Tokens it used, once it has ended (OpenAI: `run_step.usage`)."
    )
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `run_step.created_at`)."
    )
    completed_at: datetime | None = strawberry.field(
        description="When it completed (OpenAI: `run_step.completed_at`)."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (OpenAI: `run_step.cancelled_at`)."
    )
    failed_at: datetime | None = strawberry.field(
        description="When it failed (OpenAI: `run_step.failed_at`)."
    )
    expired_at: datetime | None = strawberry.field(
        description="When it expired (OpenAI: `run_step.expired_at`)."
    )

    @classmethod
    def from_document(cls, step: RunStepDocument) -> "RunStep":
        creation = step.step_details.message_creation
        details: MessageCreationDetails | ToolCallsDetails = (
            MessageCreationDetails(
                message_creation=MessageCreation(message_id=strawberry.ID(creation.message_id))
            )
            if creation
            else ToolCallsDetails(tool_calls=[tool_call(c) for c in step.step_details.tool_calls])
        )
        return cls(
            id=strawberry.ID(step.id),
            run_id=strawberry.ID(step.run_id),
            thread_id=strawberry.ID(step.thread_id),
            assistant_id=strawberry.ID(step.assistant_id),
            type=RunStepType(step.type),
            status=RunStepStatus(step.status),
            step_details=details,
            last_error=LastError.from_model(step.last_error),
            usage=Usage.from_model(step.usage),
            created_at=step.created_at,
            completed_at=step.completed_at,
            cancelled_at=step.cancelled_at,
            failed_at=step.failed_at,
            expired_at=step.expired_at,
        )
