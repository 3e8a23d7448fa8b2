"""Writes that span a thread and its messages, each one atomic."""

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from models.errors import Conflict
from models.event import EventDocument
from models.message import ContentPart, MessageDocument, messages
from models.message_input import ContentPartInput, MessageInput
from models.references import check_references
from models.run import RunDocument, active_run
from models.run_step import RunStepDocument
from models.thread import ThreadDocument, threads
from models.thread_numbers import Numbering, take_numbers
from models.validation import Where, validated
from models.vector_stores import attach_to_thread

MAX_SEED_MESSAGES = 100


def build_message(
    project_id: str,
    thread_id: str,
    given: MessageInput | Mapping[str, Any],
    prefix: str | Where = "input",
) -> MessageDocument:
    """A message from API input: its content in exactly one form (plain text, or parts under
    whichever field the face gives them), stored as OpenAI's parts."""
    where = Where.of(prefix)
    if not isinstance(given, MessageInput):
        given = validated(MessageInput, given, where)
    forms = [name for name in ("content", "content_parts") if getattr(given, name) is not None]
    if len(forms) != 1:
        raise where.bad("give either `content` or `contentParts`.")
    value = getattr(given, forms[0])
    if isinstance(value, str):
        if not value:
            raise where.bad("a message needs non-empty content.", "content")
        content = [{"type": "text", "text": {"value": value}}]
    else:
        content = _content_parts(value, where.at(forms[0]))
    fields = given.model_dump(include={"role", "attachments", "metadata"}, exclude_none=True)
    return messages.build(project_id, {**fields, "content": content, "thread_id": thread_id}, where)


def _content_parts(parts: list[ContentPartInput], where: Where) -> list[dict[str, Any]]:
    """Validated here, part by part, so that errors name the parts as the client sent them."""
    if not parts:
        raise where.bad("a message needs at least one content part.")
    stored = []
    for index, part in enumerate(parts):
        data = part.model_dump(exclude_none=True)
        if part.type == "text":
            if not part.text:
                raise where.bad("a TEXT part needs non-empty text.", index, "text")
            data["text"] = {"value": part.text}
        stored.append(validated(ContentPart, data, where.at(index)).model_dump())
    return stored


def build_thread(
    project_id: str, data: Mapping[str, Any], prefix: str | Where = "input"
) -> tuple[ThreadDocument, list[MessageDocument]]:
    """A validated thread and its seed messages, not yet written."""
    where = Where.of(prefix)
    data = dict(data)
    seeds = data.pop("messages", None) or []
    if len(seeds) > MAX_SEED_MESSAGES:
        raise where.bad(f"at most {MAX_SEED_MESSAGES} messages, got {len(seeds)}.", "messages")
    thread = threads.build(project_id, data, where)
    seeded = [
        build_message(project_id, thread.id, seed, where.at("messages", index))
        for index, seed in enumerate(seeds)
    ]
    thread.message_count = thread.message_position = len(seeded)
    for position, message in enumerate(seeded, 1):
        message.position = position
    return thread, seeded


async def prepare_thread(thread: ThreadDocument, seeded: list[MessageDocument]) -> None:
    """Before a new thread is written: its references checked, its attachments' store made."""
    await check_references(thread.project_id, seeded, thread.tool_resources)
    await attach_to_thread(thread, seeded, stored=False)


async def insert_thread(
    thread: ThreadDocument, seeded: list[MessageDocument], session: AsyncClientSession
) -> None:
    await threads.insert(thread, session)
    if seeded:
        await MessageDocument.insert_many(seeded, session=session)


async def write_thread(thread: ThreadDocument, seeded: list[MessageDocument]) -> None:
    """A new thread and its seed messages, all or nothing."""

    async def write(session: AsyncClientSession) -> None:
        await insert_thread(thread, seeded, session)

    await threads.transaction(write)


async def write_message(message: MessageDocument) -> None:
    """A new message into its thread: NOT_FOUND without the thread, CONFLICT while a run is
    active there."""
    project_id, thread_id = message.project_id, message.thread_id

    async def write(session: AsyncClientSession) -> None:
        await number_messages(project_id, thread_id, [message], session)
        await no_active_run(project_id, thread_id, session, "added")
        await messages.insert(message, session)

    await threads.transaction(write)


async def import_conversation(
    project_id: str,
    thread_id: str,
    new_thread: ThreadDocument | None,
    new_messages: list[MessageDocument],
) -> None:
    """Imported messages (with their thread, when it is new) written at once: the thread's
    count and activity raised in the same transaction, as add_message does. An existing
    thread with an active run refuses them (CONFLICT); one deleted meanwhile, NOT_FOUND.

    They take their place among the thread's messages by `created_at`: the thread's messages
    from the oldest imported one's time on are numbered again after them all, in time order
    (none, when the import is newer than the thread)."""
    ordered = sorted(new_messages, key=lambda message: (message.created_at, message.id))

    async def write(session: AsyncClientSession) -> None:
        if new_thread is not None:
            await threads.insert(new_thread, session)
        if not ordered:
            return
        since = {"$gte": ordered[0].created_at}
        later = await MessageDocument.find(
            {"thread_id": thread_id, "project_id": project_id, "created_at": since},
            session=session,
        ).to_list()
        placed = sorted([*later, *ordered], key=lambda message: (message.created_at, message.id))
        await number_messages(project_id, thread_id, placed, session, counted=len(ordered))
        if new_thread is None:
            await no_active_run(project_id, thread_id, session, "added")
        await store_positions(later, session)
        await MessageDocument.insert_many(ordered, session=session)

    await threads.transaction(write)


async def delete_message(project_id: str, message_id: str) -> None:
    """CONFLICT while a run is active on its thread (the run reads and writes its messages)."""
    message = await messages.get(project_id, message_id)

    async def write(session: AsyncClientSession) -> None:
        await messages.delete(project_id, message_id, session)
        await take_numbers(session, project_id, message.thread_id, Numbering(counted=-1))
        await no_active_run(project_id, message.thread_id, session, "deleted")

    await threads.transaction(write)


async def number_messages(
    project_id: str,
    thread_id: str,
    added: Sequence[MessageDocument],
    session: AsyncClientSession,
    counted: int | None = None,
    active: bool = True,
) -> None:
    """Gives `added`, in order, the thread's next positions, in the caller's transaction (the
    same numbers again if it is retried). The thread's count goes up by `counted` (default:
    all of them) and, when `active`, its activity to their newest time (see
    ThreadDocument.last_activity_at)."""
    if not added:
        return
    newest = max(message.created_at for message in added) if active else None
    numbering = Numbering(messages=added, counted=counted, active_at=newest)
    await take_numbers(session, project_id, thread_id, numbering)


async def store_positions(numbered: Sequence[MessageDocument], session: AsyncClientSession) -> None:
    """Writes the positions `number_messages` gave messages that are stored already."""
    collection = MessageDocument.get_pymongo_collection()
    for message in numbered:
        await collection.update_one(
            {"_id": message.id}, {"$set": {"position": message.position}}, session=session
        )


async def no_active_run(
    project_id: str, thread_id: str, session: AsyncClientSession | None, done: str
) -> None:
    """In a write's transaction, read after the thread's `$inc`: a run created meanwhile
    conflicts there, so the transaction retries and then sees it. Outside one, a check before
    what a refused write must not leave behind (its files in the thread's store)."""
    active = await active_run(project_id, thread_id, session)
    if active is not None:
        raise Conflict(
            f"Thread {thread_id} has an active run ({active.id}): messages can be {done} "
            "once it ends."
        )


async def delete_thread(project_id: str, thread_id: str) -> None:
    """The thread with everything in it: messages, runs, steps and events."""

    async def write(session: AsyncClientSession) -> None:
        await threads.delete(project_id, thread_id, session)
        scope = {"thread_id": thread_id, "project_id": project_id}
        for document in (MessageDocument, RunDocument, RunStepDocument, EventDocument):
            await document.get_pymongo_collection().delete_many(scope, session=session)

    await threads.transaction(write)
