"""The database commands a piece of work sends, counted as the driver sends them (PyMongo's
command monitoring), whichever task of that work sends them: the work's own, or one it started
(a DataLoader's batch). Other tasks (workers, heartbeats) are not counted, but by
`every_command_sent`."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from pymongo import monitoring


class Sent(NamedTuple):
    name: str  # find, insert, …
    collection: str
    command: dict[str, Any]


_sent: ContextVar[list[Sent] | None] = ContextVar("sent_commands", default=None)
_replied: ContextVar[Callable[[monitoring.CommandSucceededEvent], None] | None] = ContextVar(
    "on_reply", default=None
)
_everything: list[list[Sent]] = []  # every_command_sent's open blocks


# The shared rate limit's read (app/limits.py) lands on whichever request is a key's first in
# a new window, whatever that request is: never part of the work a test counts.
NOT_COUNTED = {"rate_counts"}


class _Counter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else ""
        command = Sent(event.command_name, collection, dict(event.command))
        for block in _everything:
            block.append(command)
        sent = _sent.get()
        if sent is not None and collection not in NOT_COUNTED:
            sent.append(command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        callback = _replied.get()
        if callback is not None:
            callback(event)

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


@contextmanager
def every_command_sent() -> Iterator[list[Sent]]:
    """Each command any task of this process sends inside the block (workers' too)."""
    sent: list[Sent] = []
    _everything.append(sent)
    try:
        yield sent
    finally:
        _everything.remove(sent)


@contextmanager
def on_reply(callback: Callable[[monitoring.CommandSucceededEvent], None]) -> Iterator[None]:
    """`callback(event)` as each command this block's work sends succeeds, before the work
    reads the reply: a test's way to change the database between two of its commands."""
    token = _replied.set(callback)
    try:
        yield
    finally:
        _replied.reset(token)
