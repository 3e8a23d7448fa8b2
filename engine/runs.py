"""The run service behind the API: create, submit tool outputs, cancel, update.

Nothing runs inside a request: a created run is stored `queued` with its first events, and
a worker takes it from there (design.md, "How a run moves")."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app import tracing
from engine import state
from engine.catalog import Catalog
from engine.endings import CANCELLED, close_open
from engine.writer import step_event
from models.assistant import AssistantDocument, assistants
from models.base import utcnow
from models.conversations import (
    build_message,
    build_thread,
    insert_thread,
    prepare_thread,
)
from models.errors import BadUserInput, Conflict
from models.event import append, append_to_new
from models.message import MessageDocument
from models.references import check_references, message_file_ids
from models.run import RunDocument, RunUpdate, active_run, runs, set_metadata
from models.run_changes import RunChanged
from models.run_step import open_steps
from models.thread import ThreadDocument, threads
from models.validation import validated
from models.vector_stores import attach_to_thread

MAX_ADDITIONAL_MESSAGES = 100
MAX_TOOL_OUTPUT_LENGTH = 512_000


class RunService:
    def __init__(
        self, catalog: Catalog, expires_seconds: float, notify: Callable[[], None]
    ) -> None:
        self.catalog = catalog
        self.expires_seconds = expires_seconds
        self.notify = notify  # wakes this process's workers

    async def create_run(
        self, project_id: str, thread_id: str, data: dict[str, Any]
    ) -> RunDocument:
        thread = await threads.get(project_id, thread_id)
        return await self._start(project_id, thread, None, data)

    async def create_thread_and_run(self, project_id: str, data: dict[str, Any]) -> RunDocument:
        """The thread, its messages and the run, in one transaction: all or nothing."""
        thread, seeded = build_thread(project_id, data.pop("thread", None) or {}, "input.thread")
        return await self._start(project_id, thread, seeded, data)

    async def _start(
        self,
        project_id: str,
        thread: ThreadDocument,
        seeded: list[MessageDocument] | None,
        data: dict[str, Any],
    ) -> RunDocument:
        """`seeded` is None for an existing thread, else the new thread's messages."""
        assistant = await assistants.get(project_id, data.pop("assistant_id"))
        extra = data.pop("additional_messages", None) or []
        if len(extra) > MAX_ADDITIONAL_MESSAGES:
            raise BadUserInput(f"input.additionalMessages: at most {MAX_ADDITIONAL_MESSAGES}.")
        added = [
            build_message(project_id, thread.id, item, f"input.additionalMessages[{index}]")
            for index, item in enumerate(extra)
        ]
        run = self._build(project_id, thread.id, assistant, data)
        if seeded is not None:
            await prepare_thread(thread, seeded)
        await check_references(project_id, added)
        # Refused before the new messages' files join the thread's store (the write refuses
        # a second active run too, but after).
        files = seeded is None and message_file_ids(added)
        if files and await active_run(project_id, thread.id) is not None:
            raise _already_active(thread.id)
        await attach_to_thread(thread, added, stored=seeded is None)

        async def write(session: AsyncClientSession) -> None:
            made = thread if seeded is not None else None
            new = state.created(run, made)
            # The run first: a thread's second active run is refused here, before this
            # transaction waits on the thread's counters behind the active run's writes.
            await runs.insert(run, session)
            if seeded is None:
                await append(session, project_id, thread.id, new, added)
            else:  # numbered on the new thread's document: a copy on each try
                unstored = thread.model_copy()
                await append_to_new(session, unstored, new, added)
                await insert_thread(unstored, seeded, session)
            if added:
                await MessageDocument.insert_many(added, session=session)

        try:
            await runs.transaction(write)
        except DuplicateKeyError:
            raise _already_active(thread.id) from None
        self.notify()
        return run

    def _build(
        self, project_id: str, thread_id: str, assistant: AssistantDocument, data: dict[str, Any]
    ) -> RunDocument:
        model = data.pop("model", None) or assistant.model
        self.catalog.ensure_served(model)
        instructions = data.pop("instructions", None)
        if instructions is None:
            instructions = assistant.instructions or ""
        more = data.pop("additional_instructions", None)
        if more:
            instructions = f"{instructions}\n\n{more}" if instructions else more
        choice = data.pop("tool_choice", None)
        if choice is not None:
            function = choice.get("function") or {}
            data["tool_choice"] = {"type": choice["type"], "function_name": function.get("name")}
        defaults = {
            "tools": assistant.model_dump()["tools"],
            "temperature": assistant.temperature,
            "top_p": assistant.top_p,
            "reasoning_effort": assistant.reasoning_effort,
            "response_format": assistant.response_format.model_dump(by_alias=True)
            if assistant.response_format
            else None,
        }
        given = {key: value for key, value in data.items() if value is not None}
        fields = {
            **{k: v for k, v in defaults.items() if v is not None},
            **given,
            "thread_id": thread_id,
            "assistant_id": assistant.id,
            "model": model,
            "instructions": instructions,
            "expires_at": utcnow() + timedelta(seconds=self.expires_seconds),
            "trace_context": tracing.current_context(),
        }
        return runs.build(project_id, fields)

    async def submit_tool_outputs(
        self, project_id: str, run_id: str, outputs: list[dict[str, str]]
    ) -> tuple[RunDocument, int]:
        """Every pending call answered exactly once; the run is queued again. Also returns the
        thread's event sequence just before the submit's own events (where a stream of what
        follows the submit starts)."""
        run = await runs.get(project_id, run_id)
        if run.status != "requires_action" or run.required_action is None:
            raise Conflict(f"Run {run_id} is {run.status}: it is not waiting for tool outputs.")
        pending = {call.id for call in run.required_action.tool_calls}
        given = [item["tool_call_id"] for item in outputs]
        _check_outputs(pending, given, outputs)
        by_id = {item["tool_call_id"]: item["output"] for item in outputs}
        documents, events = [], []
        for step in await open_steps(run.id, project_id):
            for call in step.step_details.tool_calls:
                if call.function and call.id in by_id:
                    call.function.output = by_id[call.id]
            step.status, step.completed_at = "completed", utcnow()
            documents.append(step)
            events.append(step_event("completed", step))
        try:
            moved, written = await state.move(
                run, "queued", fields={"required_action": None}, documents=documents, events=events
            )
        except RunChanged:
            raise Conflict(f"Run {run_id} changed meanwhile: the outputs were not taken.") from None
        self.notify()
        return moved, written[0].sequence - 1

    async def cancel_run(self, project_id: str, run_id: str) -> RunDocument:
        run = await runs.get(project_id, run_id)
        if run.status == "cancelling":
            return run
        if run.is_terminal:
            raise Conflict(f"Run {run_id} is already {run.status}: it cannot be cancelled.")
        # Nobody executes a queued or waiting run: it ends now. A running one is asked to
        # stop; its worker ends it `cancelled` within a heartbeat.
        to = "cancelling" if run.status == "in_progress" else "cancelled"
        documents, events = await close_open(run, CANCELLED) if to == "cancelled" else ([], [])
        try:
            moved, _ = await state.move(run, to, documents=documents, events=events)  # type: ignore[arg-type]
        except RunChanged:
            return await self.cancel_run(project_id, run_id)  # it moved meanwhile: look again
        return moved

    async def update_run(self, project_id: str, run_id: str, data: dict[str, Any]) -> RunDocument:
        update = validated(RunUpdate, data)
        return await set_metadata(project_id, run_id, update.metadata)


def _already_active(thread_id: str) -> Conflict:
    return Conflict(
        f"Thread {thread_id} already has an active run; wait for it to end or cancel it."
    )


def _check_outputs(pending: set[str], given: list[str], outputs: list[dict[str, str]]) -> None:
    repeated = sorted({call for call in given if given.count(call) > 1})
    unknown = sorted(set(given) - pending)
    missing = sorted(pending - set(given))
    problems = []
    if repeated:
        problems.append(f"answered more than once: {', '.join(repeated)}")
    if unknown:
        problems.append(f"not pending on this run: {', '.join(unknown)}")
    if missing:
        problems.append(f"missing outputs for: {', '.join(missing)}")
    for index, item in enumerate(outputs):
        if len(item["output"]) > MAX_TOOL_OUTPUT_LENGTH:
            problems.append(f"toolOutputs[{index}].output is longer than {MAX_TOOL_OUTPUT_LENGTH}")
    if problems:
        raise BadUserInput("toolOutputs: " + "; ".join(problems) + ".")
