"""Run steps and tool calls as GraphQL types."""

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from models import run as m
from models.run_step import RunStepDocument
from schema.common import Node
from schema.tool import FileSearchRanker, RankingOptions


@strawberry.enum
class RunErrorCode(enum.Enum):
    SERVER_ERROR = "server_error"
    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
    INVALID_PROMPT = "invalid_prompt"


@strawberry.type
class LastError:
    code: RunErrorCode
    message: str

    @classmethod
    def from_model(cls, error: m.LastError | None) -> "LastError | None":
        return cls(code=RunErrorCode(error.code), message=error.message) if error else None


@strawberry.type
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def from_model(cls, usage: m.Usage | None) -> "Usage | None":
        return cls(**usage.model_dump()) if usage else None


@strawberry.type
class FunctionCall:
    name: str
    arguments: str
    output: str | None


@strawberry.type
class FunctionToolCall:
    id: strawberry.ID
    function: FunctionCall

    @classmethod
    def from_model(cls, call: m.ToolCall) -> "FunctionToolCall":
        function = call.function or m.FunctionCall(name="")
        return cls(id=strawberry.ID(call.id), function=FunctionCall(**function.model_dump()))


@strawberry.type
class FileSearchResult:
    file_id: strawberry.ID
    file_name: str
    score: float
    content: str = strawberry.field(
        description="The chunk's text (OpenAI sends it only when asked: select it to get it)."
    )


@strawberry.type
class FileSearchCall:
    ranking_options: RankingOptions
    results: list[FileSearchResult]


@strawberry.type
class FileSearchToolCall:
    id: strawberry.ID
    file_search: FileSearchCall

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


@strawberry.type
class CodeInterpreterLogs:
    logs: str


@strawberry.type
class CodeInterpreterImageFile:
    file_id: strawberry.ID


@strawberry.type
class CodeInterpreterImage:
    image: CodeInterpreterImageFile


CodeInterpreterOutput = Annotated[
    CodeInterpreterLogs | CodeInterpreterImage, strawberry.union("CodeInterpreterOutput")
]


@strawberry.type
class CodeInterpreterCall:
    input: str = strawberry.field(description="The code, as the model wrote it.")
    outputs: list[CodeInterpreterOutput]


@strawberry.type
class CodeInterpreterToolCall:
    id: strawberry.ID
    code_interpreter: CodeInterpreterCall

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
    CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall, strawberry.union("ToolCall")
]


def tool_call(call: m.ToolCall) -> CodeInterpreterToolCall | FileSearchToolCall | FunctionToolCall:
    if call.type == "file_search":
        return FileSearchToolCall.from_model(call)
    if call.type == "code_interpreter":
        return CodeInterpreterToolCall.from_model(call)
    return FunctionToolCall.from_model(call)


@strawberry.enum
class RunStepType(enum.Enum):
    MESSAGE_CREATION = "message_creation"
    TOOL_CALLS = "tool_calls"


@strawberry.enum
class RunStepStatus(enum.Enum):
    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    EXPIRED = "expired"


@strawberry.type
class MessageCreation:
    message_id: strawberry.ID


@strawberry.type
class MessageCreationDetails:
    message_creation: MessageCreation


@strawberry.type
class ToolCallsDetails:
    tool_calls: list[ToolCall]


StepDetails = Annotated[MessageCreationDetails | ToolCallsDetails, strawberry.union("StepDetails")]


@strawberry.type
class RunStep(Node):
    run_id: strawberry.ID
    thread_id: strawberry.ID
    assistant_id: strawberry.ID
    type: RunStepType
    status: RunStepStatus
    step_details: StepDetails
    last_error: LastError | None
    usage: Usage | None
    created_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    failed_at: datetime | None
    expired_at: datetime | None

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
