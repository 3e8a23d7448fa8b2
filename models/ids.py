"""OpenAI-style ids (`asst_…`, `msg_…`) that sort in creation order.

24 base62 characters: 8 of milliseconds since the epoch, 4 of a per-process counter (so ids
made in the same millisecond keep their order), 12 random. The alphabet is in ASCII order, so
string order is creation order within a process.
"""

import itertools
import secrets
import time
from datetime import UTC, datetime

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_counter = itertools.count(secrets.randbelow(62**4))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    sequence = next(_counter) % 62**4
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(12))
    separator = "-" if prefix == "file" else "_"
    return f"{prefix}{separator}{_base62(millis, 8)}{_base62(sequence, 4)}{random_part}"


def made_at(object_id: str) -> datetime | None:
    """When `new_id` made this id (to the millisecond); None for a string it did not make."""
    prefix, _, body = object_id.rpartition("-" if object_id.startswith("file-") else "_")
    if not prefix or len(body) != 24 or any(c not in ALPHABET for c in body):
        return None
    millis = 0
    for digit in body[:8]:
        millis = millis * 62 + ALPHABET.index(digit)
    return datetime.fromtimestamp(millis / 1000, UTC)
