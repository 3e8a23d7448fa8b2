"""A thread's counters: its messages' positions, its events' sequence numbers, its message
count and its activity, all taken in the one write that changes the thread in a transaction.

Two transactions on one thread conflict on that write, and one retries: numbers are never
given twice, and each transaction takes whatever it numbers (messages and events alike) in
one update and one read, however many kinds it numbers."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from models.errors import NotFound
from models.message import MessageDocument
from models.thread import ThreadDocument

_COUNTERS = {"message_position": 1, "event_sequence": 1}


@dataclass(frozen=True)
class Numbering:
    """What one write takes from a thread."""

    messages: Sequence[MessageDocument] = ()  # given the next positions, in this order
    events: int = 0  # sequence numbers taken
    counted: int | None = None  # change to the message count (default: one per message)
    active_at: datetime | None = None  # the thread's activity raised to it

    @property
    def count_change(self) -> int:
        return len(self.messages) if self.counted is None else self.counted

    @property
    def changes_history(self) -> bool:
        """It deletes a stored message, or numbers messages that are stored (and counted)
        already: anything but adding new ones."""
        return self.count_change != len(self.messages)

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {
            "$inc": {
                "message_count": self.count_change,
                "message_position": len(self.messages),
                "event_sequence": self.events,
                "history_changes": int(self.changes_history),
            }
        }
        if self.active_at is not None:
            update["$max"] = {"last_activity_at": self.active_at}
        return update

    def place(self, message_position: int, event_sequence: int) -> int:
        """Positions the messages up to the thread's new `message_position`; the first of the
        events' numbers, which end at its new `event_sequence`."""
        first_position = message_position - len(self.messages) + 1
        for position, message in enumerate(self.messages, first_position):
            message.position = position
        return event_sequence - self.events + 1

    def apply(self, thread: ThreadDocument) -> int:
        """On a thread not yet stored (the transaction inserts it after): nobody else numbers
        on it. Give it a copy made in the transaction's try: this changes its counters."""
        thread.message_count += self.count_change
        thread.message_position += len(self.messages)
        thread.event_sequence += self.events
        if self.active_at is not None and (
            thread.last_activity_at is None or self.active_at > thread.last_activity_at
        ):
            thread.last_activity_at = self.active_at
        return self.place(thread.message_position, thread.event_sequence)


async def take_numbers(
    session: AsyncClientSession, project_id: str, thread_id: str, numbering: Numbering
) -> int:
    """Applies `numbering` to the stored thread (NOT_FOUND without one) in the caller's
    transaction, and returns the first event number it took (the same again if retried).

    update_one then find_one: the embedded database scans the collection for findAndModify."""
    scope = {"_id": thread_id, "project_id": project_id}
    threads = ThreadDocument.get_pymongo_collection()
    changed = await threads.update_one(scope, numbering.update(), session=session)
    if changed.matched_count == 0:
        raise NotFound("thread", thread_id)
    if not numbering.messages and not numbering.events:
        return 0
    counters = await threads.find_one(scope, _COUNTERS, session=session)
    if counters is None:
        raise NotFound("thread", thread_id)
    return numbering.place(int(counters["message_position"]), int(counters["event_sequence"]))
