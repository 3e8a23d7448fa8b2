"""Runs: an assistant working on a thread, with the lease of the worker executing it."""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self, get_args

import pymongo
import structlog
from pydantic import AfterValidator, BaseModel, Field, model_validator
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from models.base import ScopedDocument, earlier_than, utcnow
from models.errors import NotFound
from models.ids import new_id
from models.lease import Lease, unheld
from models.message import FileReference
from models.repository import Repository
from models.tools import RankingOptions, ResponseFormat, Tool, check_tools
from models.validation import Metadata, ReasoningEffort, ToolName

log = structlog.get_logger(__name__)

RunStatus = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]


def all_statuses() -> list[str]:
    return list(get_args(RunStatus))


TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"cancelled", "failed", "completed", "incomplete", "expired"}
)
# Statuses a worker executes: claimed when unleased or when the lease ran out.
EXECUTABLE_STATUSES = ("queued", "in_progress", "cancelling")
ErrorCode = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]


class LastError(BaseModel):
    code: ErrorCode
    message: str


IncompleteReason = Literal["max_completion_tokens", "max_prompt_tokens"]


class IncompleteDetails(BaseModel):
    reason: IncompleteReason


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class FunctionCall(BaseModel):
    name: str
    arguments: str = ""
    output: str | None = None


class FileSearchResult(BaseModel):
    file_id: str
    file_name: str
    score: float
    content: str = ""


class FileSearchCall(BaseModel):
    """OpenAI's `file_search` call; `query` is what the model asked (kept for its prompt)."""

    query: str = ""
    ranking_options: RankingOptions = Field(default_factory=RankingOptions)
    results: list[FileSearchResult] = Field(default_factory=list)


class CodeOutput(BaseModel):
    """OpenAI's code interpreter output: `logs`, or an `image` (a file)."""

    type: Literal["logs", "image"]
    logs: str | None = None
    image: FileReference | None = None


class CodeFile(BaseModel):
    """A file the code wrote under /mnt/data, kept as a File: what `file_path` annotations
    of the answer point at (not part of OpenAI's object)."""

    path: str  # relative to /mnt/data
    file_id: str


class CodeInterpreterCall(BaseModel):
    input: str = ""
    outputs: list[CodeOutput] = Field(default_factory=list)
    files: list[CodeFile] = Field(default_factory=list)


class ToolCall(BaseModel):
    """While the model streams it, a call keeps its name and arguments in `function`, even a
    built-in tool's; a `file_search` call has them replaced by its results when it runs, a
    `code_interpreter` call shows its code as it comes and its outputs once it ran."""

    id: str
    type: Literal["function", "file_search", "code_interpreter"] = "function"
    function: FunctionCall | None = None
    file_search: FileSearchCall | None = None
    code_interpreter: CodeInterpreterCall | None = None


class RequiredAction(BaseModel):
    type: Literal["submit_tool_outputs"] = "submit_tool_outputs"
    tool_calls: list[ToolCall]


class TruncationStrategy(BaseModel):
    type: Literal["auto", "last_messages"] = "auto"
    last_messages: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _count_for_last_messages(self) -> Self:
        if (self.type == "last_messages") != (self.last_messages is not None):
            raise ValueError("`lastMessages` is required for, and only for, LAST_MESSAGES")
        return self


class ToolChoice(BaseModel):
    type: Literal["none", "auto", "required", "function", "file_search", "code_interpreter"]
    function_name: ToolName | None = None

    @model_validator(mode="after")
    def _name_for_function(self) -> Self:
        if (self.type == "function") != (self.function_name is not None):
            raise ValueError("`function.name` is required for, and only for, FUNCTION")
        return self


class RunDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("run"))
    thread_id: str
    assistant_id: str
    status: RunStatus = "queued"
    # True until the run ends: a unique partial index allows one active run per thread.
    active: bool = True
    required_action: RequiredAction | None = None
    last_error: LastError | None = None
    expires_at: datetime | None = None
    started_at: datetime | None = None
    cancelled_at: datetime | None = None
    failed_at: datetime | None = None
    completed_at: datetime | None = None
    incomplete_details: IncompleteDetails | None = None
    model: str = Field(min_length=1, max_length=256)
    instructions: str = Field(default="", max_length=512_000)
    tools: Annotated[list[Tool], AfterValidator(check_tools)] = Field(
        default_factory=list, max_length=128
    )
    metadata: Metadata = Field(default_factory=dict)
    # OpenAI's `usage` is null until the run ends; `spent` counts the turns meanwhile.
    usage: Usage | None = None
    spent: Usage | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_prompt_tokens: int | None = Field(default=None, ge=256)
    max_completion_tokens: int | None = Field(default=None, ge=256)
    truncation_strategy: TruncationStrategy = Field(default_factory=TruncationStrategy)
    tool_choice: ToolChoice = Field(default_factory=lambda: ToolChoice(type="auto"))
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None  # the assistant's unless the run says
    # The executing worker's claim. `fence` grows with every claim: a write carrying an
    # older fence comes from a worker that lost the run, and is refused.
    lease: Lease | None = None
    fence: int = 0
    # Grows with every change, so that concurrent writers always conflict on this document.
    revision: int = 0
    # The creating request's trace (W3C `traceparent`), when traced: its execution's parent.
    trace_context: dict[str, str] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def snapshot(self) -> dict[str, Any]:
        """The run as events carry it: without the engine's own bookkeeping."""
        snapshot: dict[str, Any] = self.model_dump(
            exclude={"lease", "fence", "revision", "active", "spent", "trace_context"}
        )
        return snapshot

    class Settings:
        name = "runs"
        indexes = [
            IndexModel([("project_id", 1), ("thread_id", 1), ("created_at", 1), ("_id", 1)]),
            # Active runs are few: `thread_id` last, so that `$in` of many is still a range.
            IndexModel([("project_id", 1), ("active", 1), ("thread_id", 1)]),
            IndexModel([("status", 1), ("created_at", 1)]),
            IndexModel([("status", 1), ("expires_at", 1)]),  # overdue runs
            IndexModel(
                [("thread_id", 1)],
                unique=True,
                partialFilterExpression={"active": True},
                name="one_active_run_per_thread",
            ),
        ]


runs = Repository(RunDocument, "run", "run_")


class RunUpdate(BaseModel):
    """`updateRun` changes the metadata only: the engine owns every other field."""

    metadata: Metadata = Field(default_factory=dict)


CLAIM_TIMEOUT_SECONDS = 2.0
CLAIM_CANDIDATES = 20  # tried in one claim, oldest first, before waiting for the next round


async def claim_next(owner: str, lease_seconds: float) -> RunDocument | None:
    """Claims the oldest executable run that nobody holds (or whose lease ran out).

    The candidates are the free runs not yet ended (an index range: few, however many runs
    there were), read whole; one is taken by an update whose filter repeats the condition and
    the revision read, so of two workers after the same run only one matches (the other tries
    the next), and what was read is what was claimed: nothing to read back. Not findAndModify:
    the embedded database scans the whole collection for one."""
    now = utcnow()
    collection = RunDocument.get_pymongo_collection()
    executable = {"status": {"$in": list(EXECUTABLE_STATUSES)}}
    free = unheld(now)
    found = collection.find({**executable, **free}).sort([("created_at", 1), ("_id", 1)])
    candidates = await found.limit(CLAIM_CANDIDATES).to_list()
    lease = {"owner": owner, "expires_at": now + timedelta(seconds=lease_seconds)}
    for candidate in candidates:
        try:
            # A worker frozen inside a transaction on this run holds its document: pass it
            # by rather than block the claim loop until the database aborts that transaction.
            with pymongo.timeout(CLAIM_TIMEOUT_SECONDS):
                taken = await collection.update_one(
                    {"_id": candidate["_id"], "revision": candidate.get("revision"), **free},
                    {"$set": {"lease": lease}, "$inc": {"fence": 1, "revision": 1}},
                )
        except PyMongoError as error:
            log.warning("run_claim_skipped", run_id=candidate["_id"], error=str(error))
            continue
        if taken.modified_count == 1:
            claimed = _parse(candidate)
            claimed.lease = Lease(**lease)
            claimed.fence += 1
            claimed.revision += 1
            return claimed
    return None


async def extend_lease(run_id: str, fence: int, lease_seconds: float) -> str | None:
    """Heartbeat: the run's status while this fence still holds it, else None.
    (Two indexed operations: the embedded database scans for a findAndModify.)"""
    held = {"_id": run_id, "fence": fence, "lease": {"$ne": None}}
    collection = RunDocument.get_pymongo_collection()
    expires = utcnow() + timedelta(seconds=lease_seconds)
    extended = await collection.update_one(held, {"$set": {"lease.expires_at": expires}})
    if extended.matched_count == 0:
        return None
    raw = await collection.find_one(held, {"status": 1})
    return None if raw is None else str(raw["status"])


async def release_lease(run_id: str, fence: int) -> None:
    """Gives the run back (shutdown): another worker may claim it at once."""
    await RunDocument.get_pymongo_collection().update_one(
        {"_id": run_id, "fence": fence}, {"$set": {"lease": None}, "$inc": {"revision": 1}}
    )


async def overdue(statuses: tuple[str, ...], limit: int = 100) -> list[RunDocument]:
    """Runs waiting (queued or for tool outputs) past their `expires_at`."""
    return (
        await RunDocument.find(
            {"status": {"$in": list(statuses)}, "expires_at": earlier_than(utcnow())}
        )
        .limit(limit)
        .to_list()
    )


async def active_run(
    project_id: str, thread_id: str, session: AsyncClientSession | None = None
) -> RunDocument | None:
    return await RunDocument.find_one(
        {"project_id": project_id, "thread_id": thread_id, "active": True}, session=session
    )


async def active_runs(project_id: str, thread_ids: list[str]) -> dict[str, RunDocument]:
    """Each of these threads' active run, by thread (a thread has at most one)."""
    found = RunDocument.find(
        {"project_id": project_id, "thread_id": {"$in": thread_ids}, "active": True}
    )
    return {run.thread_id: run async for run in found}


async def set_metadata(project_id: str, run_id: str, metadata: dict[str, str]) -> RunDocument:
    """Only the metadata: the engine owns every other field of a run."""
    raw = await RunDocument.get_pymongo_collection().find_one_and_update(
        {"_id": run_id, "project_id": project_id},
        {"$set": {"metadata": metadata}, "$inc": {"revision": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise NotFound("run", run_id)
    return _parse(raw)


def _parse(raw: dict[str, Any]) -> RunDocument:
    run: RunDocument = RunDocument.model_validate(raw)
    return run
