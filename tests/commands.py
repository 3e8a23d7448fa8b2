"""The database commands a piece of work sends, counted as the driver sends them (PyMongo's
command monitoring), whichever task of that work sends them: the work's own, or one it started
(a DataLoader's batch). Other tasks (workers, heartbeats) are not counted."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from pymongo import monitoring


class Sent(NamedTuple):
    name: str  # find, insert, …
    collection: str
    command: dict[str, Any]


_sent: ContextVar[list[Sent] | None] = ContextVar("sent_commands", default=None)


# The shared rate limit's read (app/limits.py) lands on whichever request is a key's first in
# a new window, whatever that request is: never part of the work a test counts.
NOT_COUNTED = {"rate_counts"}


class _Counter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        sent = _sent.get()
        if sent is not None:
            target = event.command.get(event.command_name)
            collection = target if isinstance(target, str) else ""
            if collection not in NOT_COUNTED:
                sent.append(Sent(event.command_name, collection, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def listen() -> None:
    """For the clients made from now on (call before the app connects)."""
    monitoring.register(_Counter())


@contextmanager
def commands_sent() -> Iterator[list[Sent]]:
    """Each command sent inside the block, in order."""
    sent: list[Sent] = []
    token = _sent.set(sent)
    try:
        yield sent
    finally:
        _sent.reset(token)
