"""Fairness limits (issue 12): how much one caller may have in flight at once, and how often
one client address may present a bad key.

- Operations in flight per caller (THREADLINE_MAX_CONCURRENT_PER_KEY): GraphQL queries and
  mutations (over HTTP or a websocket) and `/v1` requests together. One more is refused at once
  with RATE_LIMITED (429 on `/v1`). Subscriptions and streamed `/v1` runs are long-lived by
  design: they are bounded by the websocket limits instead, and a stream counts only until its
  response starts.
- Websocket connections per caller (THREADLINE_WS_MAX_CONNECTIONS_PER_KEY), counted from an
  accepted `connection_init` until the socket closes.
- Failed authentications per client address (THREADLINE_AUTH_FAILURE_LIMIT): past the limit a
  bad key is answered RATE_LIMITED instead of UNAUTHENTICATED. A good key is still checked and
  served, so a noisy neighbour behind the same address locks nobody out (keys are far too long
  to guess; this bounds the noise and tells a misconfigured client to back off).

"Caller" is `Principal.rate_key`: the key, or a client token's subject. Like the rate limits
(app/limits.py), all counts live in this process's memory: with N server processes a caller may
have up to N times as much in flight. The address is the TCP peer's; behind a reverse proxy,
run uvicorn with `--proxy-headers` (and `--forwarded-allow-ips`) so it is the client's.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.errors import coded
from app.limits import RateLimiter
from app.settings import Settings
from models.errors import RateLimited, ThreadlineError


class InFlight:
    """A count per caller of something held open, refused past `limit` (0: no limit).

    Taking and giving back a slot never awaits, so the check and the count cannot interleave
    with another task's."""

    def __init__(self, limit: int, what: str, setting: str) -> None:
        self.limit, self.what, self.setting = limit, what, setting
        self.counts: dict[str, int] = {}

    def refusal(self) -> str:
        return (
            f"Too many {self.what} in flight for this API key (at most {self.limit}, "
            f"{self.setting}); wait for one to finish."
        )

    def take(self, key: str) -> None:
        """One more for `key`, or RateLimited when it already has `limit`."""
        held = self.counts.get(key, 0)
        if self.limit and held >= self.limit:
            raise RateLimited(self.refusal(), retryAfterSeconds=1)
        self.counts[key] = held + 1

    def give_back(self, key: str) -> None:
        left = self.counts[key] - 1
        if left:
            self.counts[key] = left
        else:
            del self.counts[key]

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        self.take(key)
        try:
            yield
        finally:
            self.give_back(key)

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    def total(self) -> int:
        return sum(self.counts.values())


class AuthFailures:
    """Bad keys per client address, by THREADLINE_AUTH_FAILURE_LIMIT ("" switches it off)."""

    def __init__(self, spec: str) -> None:
        self.limiter = (
            RateLimiter(spec, "auth-failures", "failed authentications from this address")
            if spec.strip()
            else None
        )

    async def failed(self, address: str | None) -> None:
        """Counts one bad key from `address`; raises RateLimited once it is over the limit."""
        if self.limiter is not None:
            await self.limiter.check(address or "unknown")


class Fairness:
    """One per app: shared by GraphQL (HTTP and websockets) and `/v1`."""

    def __init__(self, settings: Settings) -> None:
        self.operations = InFlight(
            settings.max_concurrent_per_key, "operations", "THREADLINE_MAX_CONCURRENT_PER_KEY"
        )
        self.connections = InFlight(
            settings.ws_max_connections_per_key,
            "websocket connections",
            "THREADLINE_WS_MAX_CONNECTIONS_PER_KEY",
        )
        self.auth_failures = AuthFailures(settings.auth_failure_limit)

    async def bad_key(self, authorization: object, address: str | None) -> None:
        """A key that failed: counted against `address` when one was sent at all (no key
        guesses nothing); raises RateLimited once the address is over its limit."""
        if authorization:
            await self.auth_failures.failed(address)


class Concurrency(SchemaExtension):
    """GraphQL's side of `Fairness.operations`: a query or mutation holds a slot of its caller
    from just before its resolvers run until its result is complete, whichever way it ends
    (error, timeout, cancellation: the slot is given back in a `finally`)."""

    def __init__(self, operations: InFlight) -> None:
        self.operations = operations

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        key = execution.context.authenticated().rate_key
        try:
            self.operations.take(key)
        except ThreadlineError as error:
            raise coded(error) from None
        try:
            yield
        finally:
            self.operations.give_back(key)
