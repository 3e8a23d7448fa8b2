"""The first thing a server does when told to stop (SIGTERM, Ctrl-C): close its websockets with
1001 (going away), so that their clients reconnect at once, elsewhere. Then uvicorn's orderly
shutdown goes on as before: no new connections, requests finish, runs drain (app/main.py)."""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

from app.websockets import close_all

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_closing: set[asyncio.Task[None]] = set()


def close_websockets_first() -> Callable[[], None]:
    """Puts a handler before the current one (uvicorn's) for SIGINT and SIGTERM; returns what
    takes it away. Signals are handled in the main thread only: elsewhere, nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def closing_first(sig: int, frame: FrameType | None) -> None:
        before = previous[signal.Signals(sig)]
        if callable(before):
            # uvicorn's handler only once the closes have begun: its shutdown, woken by its
            # next tick, would otherwise write 1012 first now and then.
            loop.call_soon_threadsafe(_start_closing, lambda: before(sig, frame))
        else:
            loop.call_soon_threadsafe(_start_closing, None)
        if before == signal.SIG_DFL:  # what it would have done: end the process
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    for sig in SIGNALS:
        signal.signal(sig, closing_first)

    def undo() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is closing_first:
                signal.signal(sig, handler)

    return undo


def _start_closing(then: Callable[[], None] | None) -> None:
    """Begins every close; `then` runs after each close's first step, which wrote its frame
    (a task's first step is scheduled when it is made, and callbacks run in order)."""
    for task in close_all():
        _closing.add(task)
        task.add_done_callback(_closing.discard)
    if then is not None:
        asyncio.get_running_loop().call_soon(then)
