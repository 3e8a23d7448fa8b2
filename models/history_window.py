"""What a process remembers of a thread's newest messages, so that the next run's prompt reads
only what was written since: each run on a long thread sends the model much the same history.

A window is the settled messages (none still being written) between two positions, as read
whole. It holds while the thread's `history_changes` is what it was: messages are only ever
appended, unless one is deleted or messages already stored are numbered again (an import placed
among older ones), and those count a change (models/thread_numbers.py). The thread is read
before the messages, so every message numbered up to its `message_position` then is stored.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache

from models.message import texts

if TYPE_CHECKING:
    from models.history import PromptMessage

# What a process remembers in all (the threads used longest ago are let go), and of one
# thread (its oldest messages are let go): a message reckoned as its text and ~2 KB besides
# (measured: a validated message of 120 characters holds 2.2 KB).
KEPT_BYTES = 16 * 1024 * 1024
THREAD_BYTES = KEPT_BYTES // 4
MESSAGE_BYTES = 2_000
# The most messages written since that are read in one range ahead of a window; past that,
# the thread is read again as if nothing were remembered (ranges, only as far as needed).
NEWER_AT_ONCE = 128

ThreadKey = tuple[str, str]  # project, thread


@dataclass(frozen=True)
class Mark:
    """Where a thread's history stands: its last message position, and how many times its
    stored messages were deleted or numbered again."""

    top: int
    changes: int


@dataclass(frozen=True)
class Window:
    changes: int
    low: int  # every message from `low` to `high` is in `messages` (1: from the first on)
    high: int
    messages: Sequence["PromptMessage"]  # newest first
    size: int  # bytes, as reckoned above

    def holds(self, mark: Mark) -> bool:
        return self.changes == mark.changes and self.high <= mark.top <= self.high + NEWER_AT_ONCE


_windows: LRUCache[ThreadKey, Window] = LRUCache(KEPT_BYTES, getsizeof=lambda w: w.size)


def recall(thread: ThreadKey, mark: Mark) -> Window | None:
    window = _windows.get(thread)
    return window if window is not None and window.holds(mark) else None


def remember(
    thread: ThreadKey,
    mark: Mark,
    seen: list["PromptMessage"],
    recalled: Window | None,
    whole: bool,
) -> None:
    """Keeps `seen`, the thread's messages from the newest back as a read gave them (all of
    them from the first it gave down to the last, or to the first position if `whole`), with
    what `recalled` holds beyond them."""
    seen = [message for message in seen if message.position <= mark.top]
    writing = [message.position for message in seen if message.status == "in_progress"]
    high = mark.top
    if writing:  # a run's answer still being written: from the one before it down
        high = min(writing) - 1
        seen = [message for message in seen if message.position <= high]
    if not seen:
        return
    low = 1 if whole else seen[-1].position
    if recalled is not None and recalled.low < low <= recalled.high + 1:
        seen += [message for message in recalled.messages if message.position < low]
        low = recalled.low
    kept: list[PromptMessage] = []
    size = 0
    for message in seen:
        cost = MESSAGE_BYTES + sum(map(len, texts(message.content)))
        if size + cost > THREAD_BYTES:
            break
        kept.append(message)
        size += cost
    if not kept:
        return
    if len(kept) < len(seen):
        low = kept[-1].position
    _windows[thread] = Window(mark.changes, low, high, kept, size)
