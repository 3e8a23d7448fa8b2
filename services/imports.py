"""Importing a team's OpenAI data (assistants, threads, messages) with their original ids and
`created_at`, so that the OpenAI ids their apps hold keep working. Admin only
(rest/imports.py); the rules:

- The input is OpenAI's own JSON for each object. What is wrong with the input itself (its
  shape, an id without its kind's prefix, an id twice, a model nothing here serves, more than
  MAX_OBJECTS objects) refuses the whole request before anything is written.
- An id the project holds already is skipped, so an import can be run again after a failure.
  An id another project holds is refused for that object, saying nothing of that project.
- A message whose thread is neither imported nor in the project is refused (so are the
  messages of a refused thread). A thread is written with its new messages in one
  transaction, its `message_count` and `last_activity_at` raised with them; messages for a
  thread with an active run are refused, as adding them would be.
- `created_at` is kept to the second. Objects that share a second (a question and its reply)
  keep the order the export lists them in, a millisecond apart.
- Files and vector stores the project does not hold (Threadline never holds OpenAI's file
  ids: uploads get new ones) are dropped from attachments, image parts and tool resources,
  and each drop is reported. Annotations keep their file ids: the text stays as written.
- Fields Threadline does not hold are ignored, and named in the report.
"""

import itertools
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pymongo.errors import DuplicateKeyError

from engine.catalog import Catalog
from models.assistant import AssistantDocument, assistants
from models.base import ScopedDocument
from models.conversations import import_conversation
from models.errors import BadUserInput, Conflict, NotFound
from models.file import IMAGE_TYPES, FileDocument, find_live
from models.message import ContentPart, FileId, MessageDocument, messages
from models.project import get_project
from models.repository import Repository
from models.thread import ThreadDocument, threads
from models.tools import ResponseFormat, Tool, ToolResources
from models.validation import validated
from models.vector_store import vector_stores
from models.vector_stores import attach_to_thread

MAX_OBJECTS = 1000
FUTURE_SLACK_SECONDS = 300  # clocks differ a little; an export from the future is a mistake
KINDS = ("assistants", "threads", "messages")
OBJECTS = {"assistants": "assistant", "threads": "thread", "messages": "thread.message"}

TAKEN = "The id is already used outside this project."
RACE = "The id was written by another request meanwhile; run the import again to skip it."
NO_FILE = "No such file in this project."
NOT_IMAGE = "The file is not an image (png, jpeg, gif or webp)."
NO_STORE = "No such vector store in this project."


def no_thread(thread_id: str) -> str:
    return f"Its thread {thread_id} is not in this project (neither imported nor existing)."


def _not_future(seconds: int) -> int:
    if seconds > time.time() + FUTURE_SLACK_SECONDS:
        raise ValueError("a time in the future")
    return seconds


UnixSeconds = Annotated[int, Field(ge=0), AfterValidator(_not_future)]
# OpenAI's ids: the kind's prefix, then letters, digits, `_` or `-`; 64 characters at most.
AssistantId = Annotated[str, Field(pattern=r"^asst_[A-Za-z0-9_-]{1,59}$")]
ThreadId = Annotated[str, Field(pattern=r"^thread_[A-Za-z0-9_-]{1,57}$")]
MessageId = Annotated[str, Field(pattern=r"^msg_[A-Za-z0-9_-]{1,60}$")]
RunId = Annotated[str, Field(pattern=r"^run_[A-Za-z0-9_-]{1,60}$")]


class OpenAIObject(BaseModel):
    """One object as OpenAI returns it. Fields not declared are kept aside (`model_extra`),
    to be named in the report, never stored."""

    model_config = ConfigDict(extra="allow")

    object: str  # first, so that an object in the wrong list is told so first
    id: str
    created_at: UnixSeconds
    metadata: dict[str, str] | None = None

    def fields(self) -> dict[str, Any]:
        """The declared fields but `object`, as the documents take them."""
        names = set(type(self).model_fields) - {"object"}
        return self.model_dump(include=names, by_alias=True)


class ImportedAssistant(OpenAIObject):
    object: Literal["assistant"] = "assistant"
    id: AssistantId
    model: str
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tools: list[Tool] | None = None
    tool_resources: ToolResources | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | Literal["auto"] | None = None
    reasoning_effort: str | None = None


class ImportedThread(OpenAIObject):
    object: Literal["thread"] = "thread"
    id: ThreadId
    tool_resources: ToolResources | None = None


class AttachmentTool(BaseModel):
    type: Literal["code_interpreter", "file_search"]


class ImportedAttachment(BaseModel):
    file_id: FileId
    tools: list[AttachmentTool] = Field(default_factory=list)


class ImportedMessage(OpenAIObject):
    object: Literal["thread.message"] = "thread.message"
    id: MessageId
    thread_id: ThreadId
    role: Literal["user", "assistant"]
    status: Literal["in_progress", "incomplete", "completed"] | None = None
    content: list[ContentPart]
    attachments: list[ImportedAttachment] | None = None
    assistant_id: AssistantId | None = None
    run_id: RunId | None = None
    completed_at: UnixSeconds | None = None
    incomplete_at: UnixSeconds | None = None
    incomplete_details: dict[str, str] | None = None


class ImportData(BaseModel):
    """What one import request carries, each kind in OpenAI's JSON."""

    model_config = ConfigDict(extra="forbid")

    assistants: list[ImportedAssistant] = Field(default_factory=list)
    threads: list[ImportedThread] = Field(default_factory=list)
    messages: list[ImportedMessage] = Field(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "ImportData":
        """Validated, after the count is checked (before the objects are)."""
        total = sum(len(value) for value in data.values() if isinstance(value, list))
        if total > MAX_OBJECTS:
            raise BadUserInput(
                f"At most {MAX_OBJECTS} objects per import, got {total}: split the export "
                "(a thread's messages may come in a later request than the thread)."
            )
        return validated(cls, data, "")

    def ignored_fields(self) -> dict[str, list[str]]:
        ignored = {}
        for kind in KINDS:
            items: list[OpenAIObject] = getattr(self, kind)
            names = sorted({name for item in items for name in item.model_extra or {}})
            if names:
                ignored[kind] = names
        return ignored


@dataclass
class Counts:
    imported: int = 0
    skipped: int = 0
    refused: int = 0


@dataclass(frozen=True)
class Refusal:
    object: str
    id: str
    reason: str


@dataclass(frozen=True)
class Drop:
    """A reference left out of an imported object."""

    object: str
    id: str
    field: str
    reference: str
    reason: str


Dropper = Callable[[str, str, str], None]  # field, reference, reason


@dataclass
class ImportReport:
    project_id: str
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    refused: list[Refusal] = field(default_factory=list)
    dropped: list[Drop] = field(default_factory=list)
    ignored_fields: dict[str, list[str]] = field(default_factory=dict)

    def imported(self, kind: str, count: int = 1) -> None:
        self.counts[kind].imported += count

    def skip(self, kind: str) -> None:
        self.counts[kind].skipped += 1

    def refuse(self, kind: str, object_id: str, reason: str) -> None:
        self.counts[kind].refused += 1
        self.refused.append(Refusal(OBJECTS[kind], object_id, reason))

    def dropper(self, kind: str, object_id: str) -> Dropper:
        def drop(where: str, reference: str, reason: str) -> None:
            self.dropped.append(Drop(OBJECTS[kind], object_id, where, reference, reason))

        return drop


@dataclass
class Plan:
    """The validated documents, nothing written yet; threads and messages in export order."""

    assistants: list[AssistantDocument]
    threads: dict[str, ThreadDocument]
    messages: dict[str, list[MessageDocument]]  # by thread id


class ImportService:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def run(self, project_id: str, given: ImportData) -> ImportReport:
        await get_project(project_id)
        plan = self.plan(project_id, given)
        report = ImportReport(project_id, ignored_fields=given.ignored_fields())
        references = References(project_id)
        await _import_assistants(plan.assistants, references, report)
        await _import_conversations(plan, references, report)
        return report

    def plan(self, project_id: str, given: ImportData) -> Plan:
        """BAD_USER_INPUT, naming the object (`messages[3].content`), for anything wrong."""
        for kind in KINDS:
            _unique(kind, getattr(given, kind))
        created = _ordered_times([(a.id, a.created_at) for a in given.assistants])
        built = []
        for index, assistant in enumerate(given.assistants):
            where = f"assistants[{index}]"
            try:
                self.catalog.ensure_served(assistant.model, f"{where}.model")
            except BadUserInput as error:
                raise BadUserInput(error.message, param=f"{where}.model") from None
            data = assistant.fields()
            if data["response_format"] == "auto":
                data["response_format"] = {"type": "auto"}
            data["created_at"] = created[assistant.id]
            built.append(_document(assistants, project_id, data, where))
        created = _ordered_times([(t.id, t.created_at) for t in given.threads])
        thread_docs = {}
        for index, thread in enumerate(given.threads):
            data = {**thread.fields(), "created_at": created[thread.id]}
            thread_docs[thread.id] = _document(threads, project_id, data, f"threads[{index}]")
        return Plan(built, thread_docs, _plan_messages(project_id, given.messages))


def _plan_messages(
    project_id: str, given: list[ImportedMessage]
) -> dict[str, list[MessageDocument]]:
    by_thread: dict[str, list[tuple[int, ImportedMessage]]] = {}
    for index, message in enumerate(given):
        by_thread.setdefault(message.thread_id, []).append((index, message))
    planned: dict[str, list[MessageDocument]] = {}
    for thread_id, items in by_thread.items():
        created = _ordered_times([(m.id, m.created_at) for _, m in items])
        for index, message in items:
            data = message.fields()
            data["attachments"] = [
                {"file_id": a.file_id, "tools": [tool.type for tool in a.tools]}
                for a in message.attachments or []
            ]
            data["created_at"] = created[message.id]
            for name in ("completed_at", "incomplete_at"):
                data[name] = _time(data[name]) if data[name] is not None else None
            document = _document(messages, project_id, data, f"messages[{index}]")
            planned.setdefault(thread_id, []).append(document)
    return planned


D = TypeVar("D", bound=ScopedDocument)


def _document(repository: Repository[D], project_id: str, data: dict[str, Any], where: str) -> D:
    """Through the same document model as a create, its errors naming the object."""
    try:
        return repository.build(project_id, data, where)
    except BadUserInput as error:
        param = error.extensions.get("param")
        raise BadUserInput(error.message, param=f"{where}.{param}" if param else where) from None


def _unique(kind: str, items: Sequence[OpenAIObject]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        object_id = item.id
        if object_id in seen:
            raise BadUserInput(
                f"{kind}[{index}].id: {object_id} appears twice.", param=f"{kind}[{index}].id"
            )
        seen.add(object_id)


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _ordered_times(items: Sequence[tuple[str, int]]) -> dict[str, datetime]:
    """Each id's `created_at`: its second, plus a millisecond for each object of the same
    second listed before it, oldest first. Whether the export is oldest or newest first is
    read from its times; newest first (OpenAI's default order) when they do not tell."""
    seconds = [second for _, second in items]
    pairs = list(itertools.pairwise(seconds))
    oldest_first = any(a < b for a, b in pairs) and not any(a > b for a, b in pairs)
    ordered = items if oldest_first else list(reversed(items))
    earlier: Counter[int] = Counter()
    times = {}
    for object_id, second in ordered:
        times[object_id] = _time(second) + timedelta(milliseconds=earlier[second])
        earlier[second] += 1
    return times


class References:
    """Which files and vector stores the project holds, each looked up once."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self._files: dict[str, FileDocument | None] = {}
        self._stores: dict[str, bool] = {}

    async def file(self, file_id: str) -> FileDocument | None:
        if file_id not in self._files:
            self._files[file_id] = await find_live(self.project_id, file_id)
        return self._files[file_id]

    async def store(self, store_id: str) -> bool:
        if store_id not in self._stores:
            found = await vector_stores.find(self.project_id, store_id)
            self._stores[store_id] = found is not None
        return self._stores[store_id]

    async def tool_resources(
        self, resources: ToolResources | None, drop: Dropper
    ) -> ToolResources | None:
        if resources is None:
            return None
        if resources.code_interpreter is not None:
            kept = []
            for file_id in resources.code_interpreter.file_ids:
                if await self.file(file_id) is not None:
                    kept.append(file_id)
                else:
                    drop("tool_resources.code_interpreter.file_ids", file_id, NO_FILE)
            resources.code_interpreter.file_ids = kept
        if resources.file_search is not None:
            stores = []
            for store_id in resources.file_search.vector_store_ids:
                if await self.store(store_id):
                    stores.append(store_id)
                else:
                    drop("tool_resources.file_search.vector_store_ids", store_id, NO_STORE)
            resources.file_search.vector_store_ids = stores
        return resources

    async def message(self, message: MessageDocument, drop: Dropper) -> None:
        attachments = []
        for attachment in message.attachments:
            if await self.file(attachment.file_id) is not None:
                attachments.append(attachment)
            else:
                drop("attachments", attachment.file_id, NO_FILE)
        message.attachments = attachments
        content = []
        for part in message.content:
            if part.image_file is not None:
                file = await self.file(part.image_file.file_id)
                if file is None or file.content_type not in IMAGE_TYPES:
                    drop("content", part.image_file.file_id, NO_FILE if file is None else NOT_IMAGE)
                    continue
            content.append(part)
        message.content = content


async def _import_assistants(
    planned: list[AssistantDocument], references: References, report: ImportReport
) -> None:
    project_id = report.project_id
    holders = await assistants.holders([document.id for document in planned])
    for document in planned:
        holder = holders.get(document.id)
        if holder == project_id:
            report.skip("assistants")
            continue
        if holder is not None:
            report.refuse("assistants", document.id, TAKEN)
            continue
        drop = report.dropper("assistants", document.id)
        document.tool_resources = await references.tool_resources(document.tool_resources, drop)
        try:
            await assistants.insert(document)
        except DuplicateKeyError:
            report.refuse("assistants", document.id, RACE)
            continue
        report.imported("assistants")


async def _import_conversations(plan: Plan, references: References, report: ImportReport) -> None:
    """Thread by thread: the imported ones in export order, then those only messages name."""
    project_id = report.project_id
    thread_ids = list(dict.fromkeys([*plan.threads, *plan.messages]))
    thread_holders = await threads.holders(thread_ids)
    message_ids = [message.id for listed in plan.messages.values() for message in listed]
    message_holders = await messages.holders(message_ids)
    for thread_id in thread_ids:
        holder = thread_holders.get(thread_id)
        new_thread = plan.threads.get(thread_id) if holder is None else None
        if thread_id in plan.threads and holder == project_id:
            report.skip("threads")
        elif thread_id in plan.threads and holder is not None:
            report.refuse("threads", thread_id, TAKEN)
        pending = []
        for message in plan.messages.get(thread_id, []):
            message_holder = message_holders.get(message.id)
            if message_holder == project_id:
                report.skip("messages")
            elif message_holder is not None:
                report.refuse("messages", message.id, TAKEN)
            elif new_thread is None and holder != project_id:
                report.refuse("messages", message.id, no_thread(thread_id))
            else:
                pending.append(message)
        if new_thread is not None or pending:
            await _write(thread_id, new_thread, pending, references, report)


async def _write(
    thread_id: str,
    new_thread: ThreadDocument | None,
    pending: list[MessageDocument],
    references: References,
    report: ImportReport,
) -> None:
    project_id = report.project_id
    if new_thread is not None:
        drop = report.dropper("threads", thread_id)
        new_thread.tool_resources = await references.tool_resources(new_thread.tool_resources, drop)
    for message in pending:
        await references.message(message, report.dropper("messages", message.id))
    try:
        if any(message.attachments for message in pending):
            # As a create or an added message does: files into the thread's store or its
            # code interpreter files.
            thread = new_thread or await threads.get(project_id, thread_id)
            await attach_to_thread(thread, pending, stored=new_thread is None)
        await import_conversation(project_id, thread_id, new_thread, pending)
    except (Conflict, NotFound) as error:  # an active run; the thread (or its store) deleted
        for message in pending:
            report.refuse("messages", message.id, error.message)
        return
    except DuplicateKeyError:
        if new_thread is not None:
            report.refuse("threads", thread_id, RACE)
        for message in pending:
            report.refuse("messages", message.id, RACE)
        return
    if new_thread is not None:
        report.imported("threads")
    report.imported("messages", len(pending))
