"""The database commands a piece of work sends, counted as the driver sends them (PyMongo's
command monitoring), whichever task of that work sends them: the work's own, or one it started
(a DataLoader's batch). Other tasks (workers, heartbeats) are not counted."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pymongo import monitoring

_sent: ContextVar[list[tuple[str, str]] | None] = ContextVar("sent_commands", default=None)


class _Counter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        sent = _sent.get()
        if sent is not None:
            target = event.command.get(event.command_name)
            sent.append((event.command_name, target if isinstance(target, str) else ""))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def listen() -> None:
    """For the clients made from now on (call before the app connects)."""
    monitoring.register(_Counter())


@contextmanager
def commands_sent() -> Iterator[list[tuple[str, str]]]:
    """(command, collection) of each command sent inside the block, in order."""
    sent: list[tuple[str, str]] = []
    token = _sent.set(sent)
    try:
        yield sent
    finally:
        _sent.reset(token)
