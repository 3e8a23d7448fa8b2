"""Fairness limits (issue 12): how much one caller may have in flight at once, and how often
one client address may present a bad key.

- Operations in flight per caller (THREADLINE_MAX_CONCURRENT_PER_KEY): GraphQL queries and
  mutations (over HTTP or a websocket) and `/v1` requests together. One more is refused at once
  with RATE_LIMITED (429 on `/v1`). Subscriptions and streamed `/v1` runs are long-lived by
  design: they are bounded by the websocket limits instead, and a stream counts only until its
  response starts.
- GraphQL resolvers running at once (THREADLINE_MAX_RESOLVERS): only nested ones that wait on
  something (the database, in practice) count; the rest queue for a turn, and the turns go
  round the projects waiting for one. Root fields take none: one per operation, they are
  bounded by the operations in flight. A query's list fans out one resolver per item (`threads
  { messages }` asks for 100 reads at once), and the database and this event loop serve what
  is queued in order: without turns, one project's fan-out queues hundreds of reads ahead of
  another project's one. With them, another project's read waits for one turn and shares the
  database with a few reads at most. Projects, not callers, take turns: a project key can mint
  client tokens for any number of subjects, each a caller of its own.
- Websocket connections per caller (THREADLINE_WS_MAX_CONNECTIONS_PER_KEY), counted from an
  accepted `connection_init` until the socket closes.
- Failed authentications per client address (THREADLINE_AUTH_FAILURE_LIMIT): past the limit a
  bad key is answered RATE_LIMITED instead of UNAUTHENTICATED. A good key is still checked and
  served, so a noisy neighbour behind the same address locks nobody out (keys are far too long
  to guess; this bounds the noise and tells a misconfigured client to back off).

"Caller" is `Principal.rate_key`: the key, or a client token's subject; "project" is
`Principal.share_key`. Like the rate limits (app/limits.py), all counts live in this process's
memory: with N server processes a caller may have up to N times as much in flight. The address
is the TCP peer's; behind a reverse proxy, run uvicorn with `--proxy-headers` (and
`--forwarded-allow-ips`) so it is the client's.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from inspect import isawaitable, iscoroutine
from typing import Any

from starlette.requests import HTTPConnection
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.auth import Authenticator, Principal
from app.batches import is_batched
from app.errors import coded
from app.limits import RateLimiter
from app.request_log import note
from app.settings import Settings
from models.errors import RateLimited, ThreadlineError, Unauthenticated


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

    def total(self) -> int:
        return sum(self.counts.values())


# Whether this task's work runs in a turn already: a batch that a resolver in its turn gathered
# must not wait for a second one (with one turn, it would wait forever).
_holding: ContextVar[bool] = ContextVar("holding_a_turn", default=False)


class Turns:
    """At most `limit` turns held at once in this process (0: no limit), handed out in turn
    between projects: while turns are short, each waiting project gets the next free one in
    rotation, however many its rivals have queued.

    Taking and giving back never interleave with another task's (no await between a check and
    its count)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        # Projects waiting, in the order they are served (dicts keep insertion order).
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}

    async def take(self, project: str) -> None:
        if not self.limit:
            return
        if self.held < self.limit and not self.waiting:
            self.held += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(project, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back()  # granted as it was cancelled: pass it on
            else:
                self._forget(project, turn)
            raise

    @asynccontextmanager
    async def turn(self, project: str) -> AsyncIterator[None]:
        """The block in a turn of `project`'s, unless this work holds one already."""
        if _holding.get():
            yield
            return
        await self.take(project)
        holding = _holding.set(True)
        try:
            yield
        finally:
            _holding.reset(holding)
            self.give_back()

    def give_back(self) -> None:
        if not self.limit:
            return
        self.held -= 1
        while self.held < self.limit and self.waiting:
            project = next(iter(self.waiting))
            queue = self.waiting.pop(project)
            turn = queue.popleft()
            if queue:
                self.waiting[project] = queue  # to the back of the rotation
            if turn.done():
                continue  # cancelled: its waiter is on its way out
            self.held += 1
            turn.set_result(None)

    def _forget(self, project: str, turn: asyncio.Future[None]) -> None:
        queue = self.waiting.get(project)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self.waiting[project]


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
        self.resolvers = Turns(settings.max_resolvers)

    async def bad_key(self, authorization: object, address: str | None) -> None:
        """A key that failed: counted against `address` when one was sent at all (no key
        guesses nothing); raises RateLimited once the address is over its limit."""
        if authorization:
            await self.auth_failures.failed(address)


def client_address(connection: HTTPConnection) -> str | None:
    """Who bad keys are counted against: the TCP peer (see above, behind a proxy)."""
    return connection.client.host if connection.client else None


async def authenticate(
    authenticator: Authenticator,
    fairness: Fairness | None,
    authorization: object,
    address: str | None,
) -> Principal:
    """The caller, for GraphQL, `/v1` and file downloads alike. A bad key raises
    Unauthenticated, counted against `address`: past the limit, RateLimited instead."""
    try:
        principal = await authenticator.authenticate(authorization)
    except Unauthenticated:
        if fairness is not None:
            await fairness.bad_key(authorization, address)
        raise
    note(project=principal.project_id)  # in the request's log line (app/request_log.py)
    return principal


class Concurrency(SchemaExtension):
    """GraphQL's side of `Fairness.operations` and `Fairness.resolvers`: a query or mutation
    holds a slot of its caller from just before its resolvers run until its result is complete,
    whichever way it ends (error, timeout, cancellation: the slot is given back in a `finally`),
    and each of its resolvers that waits runs in a turn taken for its project.

    A turn covers a resolver's own work only: what it selects resolves after it returns, so a
    resolver never waits for a turn while holding one. A batched field takes none: the batch
    it waits on reads in one turn for all of them (a resolver holding a turn would keep the
    others from joining the batch)."""

    def __init__(self, fairness: Fairness) -> None:
        self.operations = fairness.operations
        self.resolvers = fairness.resolvers
        self.project: str | None = None

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        principal = execution.context.authenticated()
        key, project = principal.rate_key, principal.share_key
        try:
            self.operations.take(key)
        except ThreadlineError as error:
            execution.context.refusal = error
            raise coded(error) from None
        self.project = project
        try:
            yield
        finally:
            self.project = None
            self.operations.give_back(key)

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        # Root fields are bounded by the operations in flight: turns bound the fan-out below.
        # A batched field waits for its batch, which takes the turn (app/batches.py).
        if (
            self.project is None
            or info.path.prev is None
            or not isawaitable(result)
            or is_batched(info.parent_type.fields[info.field_name])
        ):
            return result
        return self._in_turn(self.resolvers, self.project, result)

    @staticmethod
    async def _in_turn(turns: Turns, project: str, work: Awaitable[Any]) -> Any:
        try:
            await turns.take(project)
        except BaseException:
            if iscoroutine(work):
                work.close()  # cancelled while queued: it never started
            raise
        holding = _holding.set(True)
        try:
            return await work
        finally:
            _holding.reset(holding)
            turns.give_back()
