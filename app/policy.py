"""What a caller may see and do: the one place that decides it for client tokens.

A project key sees its whole project. A client token (an end user of the project's app, its
`subject`) may do what a chat frontend needs, and nothing else:

- operations: the root fields in CLIENT_OPERATIONS; any other (assistants CRUD and listing,
  files, vector stores, updating or deleting threads, messages and runs, administration,
  `createClientToken`) is FORBIDDEN, checked once per operation before anything runs;
- threads: those whose `owner` is its subject, and what is in them (messages, runs, steps,
  events); another subject's thread reads exactly like an unknown id (null or NOT_FOUND);
- assistants: those it was granted, readable with `assistant(id)` and runnable; any other
  reads like an unknown id. Creating, cancelling a run and submitting its tool outputs need the
  run's assistant granted; reading the runs of its threads does not;
- inputs: it runs an assistant as the project configured it, so the fields of CLIENT_REFUSED
  (model, instructions, tools, tool resources, sampling) are FORBIDDEN; nor may it point at
  the project's files (attachments, IMAGE_FILE parts), which other subjects may own.

Resolvers ask `Access` (built per request from the caller) instead of querying by project
themselves, so that the same rule holds for every path to an object.
"""

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from app.auth import Principal
from app.batches import Batches
from models.assistant import AssistantDocument
from models.errors import Forbidden, NotFound
from models.file import FileDocument, find_live
from models.message import MessageDocument, messages
from models.run import RunDocument, runs
from models.run_step import RunStepDocument, run_steps
from models.thread import ThreadDocument

CLIENT_OPERATIONS: dict[str, frozenset[str]] = {
    "query": frozenset({"node", "thread", "threads", "message", "run", "runStep", "assistant"}),
    "mutation": frozenset(
        {
            "createThread",
            "createThreadAndRun",
            "createMessage",
            "createRun",
            "cancelRun",
            "submitToolOutputs",
        }
    ),
    "subscription": frozenset({"runEvents", "threadEvents"}),
}
INTROSPECTION = frozenset({"__typename", "__schema", "__type"})
# Run and thread input fields a client token may not set (snake_case → the API's name).
CLIENT_REFUSED = {
    "model": "model",
    "instructions": "instructions",
    "additional_instructions": "additionalInstructions",
    "tools": "tools",
    "tool_resources": "toolResources",
    "temperature": "temperature",
    "top_p": "topP",
    "response_format": "responseFormat",
    "reasoning_effort": "reasoningEffort",
}
NOT_FOR_CLIENTS = (
    "A client token cannot use {names}: it reads and writes its own threads only "
    "(use the project key from the app's backend)."
)
FOREIGN_OWNER = "A client token's threads belong to its own subject: leave out `owner`."


def root_fields(document: DocumentNode) -> list[tuple[str, set[str]]]:
    """Each operation of the document, with its type and every root field it selects, through
    fragments, whatever @skip/@include or the operation name say: a superset of what runs."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def collect(selections: SelectionSetNode, names: set[str], seen: set[str]) -> set[str]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set, names, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    collect(fragments[name].selection_set, names, seen)
        return names

    return [
        (d.operation.value, collect(d.selection_set, set(), set()))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]


def check_document(principal: Principal, document: DocumentNode) -> None:
    """FORBIDDEN for a client token when any root field of any operation is not its to use."""
    if not principal.is_client:
        return
    refused: set[str] = set()
    for operation, fields in root_fields(document):
        refused |= fields - CLIENT_OPERATIONS.get(operation, frozenset()) - INTROSPECTION
    if refused:
        names = ", ".join(f"`{name}`" for name in sorted(refused))
        raise Forbidden(NOT_FOR_CLIENTS.format(names=names))


class Access:
    """The caller's view of the project's threads, messages, runs, steps and assistants."""

    def __init__(
        self, principal: Principal, project_id: str, batches: Batches | None = None
    ) -> None:
        self.principal = principal
        self.project_id = project_id
        self.batches = batches or Batches(project_id)

    @property
    def subject(self) -> str | None:
        return self.principal.subject

    @property
    def sees_project_wide(self) -> bool:
        """Files and vector stores belong to the whole project, not to one subject."""
        return not self.principal.is_client

    def _sees_thread(self, thread: ThreadDocument) -> bool:
        return not self.principal.is_client or thread.owner == self.principal.subject

    def sees_assistant(self, assistant_id: str) -> bool:
        return not self.principal.is_client or assistant_id in self.principal.assistant_ids

    # Reads: None when the caller may not see the object, exactly as for an unknown id.

    async def thread(self, thread_id: str) -> ThreadDocument | None:
        """Read with the other threads the operation is reading now (app/batches.py)."""
        thread = await self.batches.threads.load(thread_id)
        return thread if thread is not None and self._sees_thread(thread) else None

    async def file(self, file_id: str) -> FileDocument | None:
        """Files are project-wide; a client token reads only what runs made in its threads
        (code_interpreter's images and files), to show its user."""
        document = await find_live(self.project_id, file_id)
        if document is None or not self.principal.is_client:
            return document
        if document.thread_id is None or await self.thread(document.thread_id) is None:
            return None
        return document

    async def _in_visible_thread(self, thread_id: str) -> bool:
        return not self.principal.is_client or await self.thread(thread_id) is not None

    async def message(self, message_id: str) -> MessageDocument | None:
        message = await messages.find(self.project_id, message_id)
        if message is None or not await self._in_visible_thread(message.thread_id):
            return None
        return message

    async def run(self, run_id: str) -> RunDocument | None:
        run = await runs.find(self.project_id, run_id)
        if run is None or not await self._in_visible_thread(run.thread_id):
            return None
        return run

    async def run_step(self, step_id: str) -> RunStepDocument | None:
        step = await run_steps.find(self.project_id, step_id)
        if step is None or not await self._in_visible_thread(step.thread_id):
            return None
        return step

    async def assistant(self, assistant_id: str) -> AssistantDocument | None:
        if not self.sees_assistant(assistant_id):
            return None
        return await self.batches.assistants.load(assistant_id)

    # Writes: NOT_FOUND where the caller may not see what it names. A project key's writes
    # are checked by the writes themselves (every one is scoped by project).

    async def check_thread(self, thread_id: str) -> None:
        if self.principal.is_client and await self.thread(thread_id) is None:
            raise NotFound("thread", thread_id)

    def check_assistant(self, assistant_id: str) -> None:
        if not self.sees_assistant(assistant_id):
            raise NotFound("assistant", assistant_id)

    async def check_run_action(self, run_id: str) -> None:
        """Cancelling a run or answering its tool calls: its thread and its assistant."""
        if not self.principal.is_client:
            return
        run = await self.run(run_id)
        if run is None:
            raise NotFound("run", run_id)
        self.check_assistant(run.assistant_id)

    def thread_owner(self, requested: str | None) -> str | None:
        """Who owns a new thread: a client token's subject, or what a project key says."""
        subject = self.principal.subject
        if subject is None:
            return requested
        if requested is not None and requested != subject:
            raise Forbidden(FOREIGN_OWNER)
        return subject

    def listing_owner(self, requested: str | None) -> tuple[str | None, bool]:
        """The owner a thread listing is bounded by, and whether it can match anything
        (a client token asking for another subject's threads gets none, as if it had none)."""
        subject = self.principal.subject
        if subject is None:
            return requested, True
        return subject, requested is None or requested == subject

    def check_thread_input(self, data: dict[str, Any], prefix: str = "input") -> None:
        if not self.principal.is_client:
            return
        self._refuse_fields(data, prefix)
        for index, seed in enumerate(data.get("messages") or []):
            self.check_message_input(seed, f"{prefix}.messages[{index}]")

    def check_run_input(self, data: dict[str, Any]) -> None:
        if not self.principal.is_client:
            return
        self.check_assistant(data["assistant_id"])
        self._refuse_fields(data, "input")
        for index, message in enumerate(data.get("additional_messages") or []):
            self.check_message_input(message, f"input.additionalMessages[{index}]")
        if data.get("thread"):
            self.check_thread_input(data["thread"], "input.thread")

    def check_message_input(self, data: dict[str, Any], prefix: str = "input") -> None:
        """The project's files are not a subject's to point at (another may own them)."""
        if not self.principal.is_client:
            return
        if data.get("attachments"):
            raise Forbidden(NOT_FOR_CLIENTS.format(names=f"`{prefix}.attachments`"))
        for index, part in enumerate(data.get("content_parts") or []):
            if part.get("type") == "image_file" or part.get("image_file"):
                name = f"`{prefix}.contentParts[{index}].imageFile`"
                raise Forbidden(NOT_FOR_CLIENTS.format(names=name))

    @staticmethod
    def _refuse_fields(data: dict[str, Any], prefix: str) -> None:
        refused = [name for key, name in CLIENT_REFUSED.items() if data.get(key) is not None]
        if refused:
            names = ", ".join(f"`{prefix}.{name}`" for name in refused)
            raise Forbidden(NOT_FOR_CLIENTS.format(names=names))
