"""Request limits (OWASP GraphQL cheat sheet): who may run an operation, how often, how big,
how deep, how costly (app/cost.py) and how long. Each refusal carries `extensions.code`.

Rate limits count per API key, and per subject for client tokens (all of one end user's
tokens together), across every server process on the database (SharedWindows).
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymongo
import structlog
from graphql import ASTValidationRule
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pymongo.errors import PyMongoError
from starlette.datastructures import UploadFile
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types.graphql import OperationType

from app.auth import Principal
from app.cost import Costs
from app.errors import coded
from app.live import CURRENT
from app.policy import check_document
from app.settings import Settings
from models import rate_count
from models.errors import BadUserInput, RateLimited, ThreadlineError

ExtensionFactory = Callable[[], SchemaExtension]
log = structlog.get_logger(__name__)
LOAD_SECONDS = 1.0  # the longest a caller's first request in a window waits for the counts


@dataclass
class _Window:
    """One caller's hits under one limit in one fixed window, as this process knows them."""

    ends: float
    counted: int = 0  # every process's hits, as last read from the database
    unsent: int = 0  # this process's hits since then
    loaded: asyncio.Future[None] = field(default_factory=asyncio.Future)


class SharedWindows:
    """Every process's hits per caller and limit, in fixed windows of the limit's length,
    exchanged through the database (models/rate_count.py) off the requests' path.

    A hit is let through while the count last read plus this process's hits since stay under
    the limit. Only a caller's first request in a window waits, for one read. Every
    `sync_seconds`, or as soon as a caller's unsent hits reach a tenth of its limit, the
    process adds its hits and reads everyone's, for every window not yet ended. So processes
    together let a caller through at most the limit plus what the others let through since
    they last exchanged. If the database cannot be reached, each process goes on counting its
    own hits."""

    def __init__(self, sync_seconds: float) -> None:
        self.sync_seconds = sync_seconds
        self.windows: dict[str, _Window] = {}
        self._wake = asyncio.Event()
        self._exchanger: asyncio.Task[None] | None = None

    async def hit(self, item: RateLimitItem, scope: str, key: str) -> float | None:
        """None if let through, else the seconds until the window ends."""
        now = time.time()
        length = item.get_expiry()
        starts = now // length * length
        name = f"{scope}|{key}|{item}|{starts:.0f}"
        window = self.windows.get(name)
        if window is None:
            window = self.windows[name] = _Window(ends=starts + length)
            await self._load(name, window)
        elif not window.loaded.done():
            await asyncio.shield(window.loaded)
        if window.counted + window.unsent >= item.amount:
            return window.ends - now
        window.unsent += 1
        if window.unsent >= max(1, item.amount // 10):
            self._wake.set()
        return None

    async def _load(self, name: str, window: _Window) -> None:
        try:
            # On a request's path: a database that does not answer at once is done without.
            with pymongo.timeout(LOAD_SECONDS):
                counts = await rate_count.add_hits({name: (0, _moment(window.ends))})
            window.counted = counts.get(name, 0)
        except PyMongoError as error:
            log.warning("rate_limit_read_failed", error=str(error))
        finally:
            window.loaded.set_result(None)

    def start(self) -> None:
        self._exchanger = asyncio.create_task(self._exchange_forever())

    async def stop(self) -> None:
        if self._exchanger is not None:
            self._exchanger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._exchanger
            self._exchanger = None
        with contextlib.suppress(PyMongoError):
            await self.exchange()  # what this process let through still counts for the others

    async def _exchange_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.sync_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.exchange()
            except PyMongoError as error:
                log.warning("rate_limit_exchange_failed", error=str(error))

    async def exchange(self) -> None:
        """Adds this process's unsent hits to the shared counts and reads every process's, for
        each window not yet ended; forgets the others."""
        now = time.time()
        for name in [name for name, window in self.windows.items() if window.ends <= now]:
            del self.windows[name]
        sent = {name: window for name, window in self.windows.items() if window.loaded.done()}
        if not sent:
            return
        unsent = {name: window.unsent for name, window in sent.items()}
        counts = await rate_count.add_hits(
            {name: (unsent[name], _moment(window.ends)) for name, window in sent.items()}
        )
        for name, window in sent.items():
            window.unsent -= unsent[name]  # hits made during the exchange go next time
            window.counted = counts.get(name, window.counted)


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class RateLimiter:
    """Limits such as "60/second;2000/minute" (all must hold). In this process they are counted
    exactly over any window of that length: a moving window, not the sliding-window counter,
    which estimates from two fixed windows and lets the count drift near their boundary.
    With `shared`, every process's hits count too, in fixed windows (SharedWindows)."""

    def __init__(
        self,
        spec: str,
        scope: str = "api-key",
        who: str = "this API key",
        shared: SharedWindows | None = None,
    ) -> None:
        self.items = parse_many(spec)
        self.strategy = MovingWindowRateLimiter(MemoryStorage())
        self.scope, self.who = scope, who
        self.shared = shared

    async def check(self, key: str) -> None:
        for item in self.items:
            if not await self.strategy.hit(item, self.scope, key):
                stats = await self.strategy.get_window_stats(item, self.scope, key)
                self._refuse(item, stats.reset_time - time.time())
            if self.shared is not None:
                wait = await self.shared.hit(item, self.scope, key)
                if wait is not None:
                    self._refuse(item, wait)

    def _refuse(self, item: RateLimitItem, wait: float) -> None:
        retry = max(1, round(wait))
        raise RateLimited(
            f"Rate limit exceeded for {self.who} ({item}); retry in {retry} s.",
            retryAfterSeconds=retry,
        )


class RateLimits:
    """Keys by THREADLINE_RATE_LIMIT, client tokens' subjects by THREADLINE_CLIENT_RATE_LIMIT,
    both shared by every server process on the database."""

    def __init__(
        self, keys: RateLimiter | None, subjects: RateLimiter | None, shared: SharedWindows
    ) -> None:
        self.keys, self.subjects, self.shared = keys, subjects, shared

    async def check(self, principal: Principal) -> None:
        limiter = self.subjects if principal.is_client else self.keys
        if limiter is not None:
            await limiter.check(principal.rate_key)


class Guard(SchemaExtension):
    """Every operation, HTTP or websocket: an authenticated caller, within its rate limit, and
    for client tokens, only the operations app/policy.py lets them use."""

    def __init__(self, limiter: RateLimits | None) -> None:
        self.limiter = limiter

    async def on_operation(self) -> AsyncIterator[None]:
        context: Any = self.execution_context.context
        try:
            principal = context.authenticated()
            if self.limiter is not None:
                await self.limiter.check(principal)
        except ThreadlineError as error:
            context.refusal = error
            # Raised before ErrorCodes is entered, so coded here.
            raise coded(error) from None
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        # After parsing and validation, before any resolver: the document is known and valid.
        execution = self.execution_context
        principal: Principal = execution.context.authenticated()
        if principal.is_client and execution.graphql_document is not None:
            try:
                check_document(principal, execution.graphql_document)
            except ThreadlineError as error:
                raise coded(error) from None
        yield


class QueryCost(SchemaExtension):
    """Refuses an operation that asks for more than `limit` (None: no limit) before any
    resolver runs, and reports its cost in every answer's `extensions`:
    `{"cost": {"requested": 1102, "limit": 5000}}`. It runs where the variables are known
    (page sizes often come in them), so it is an execution hook, not a validation rule."""

    def __init__(self, limit: int | None, costs: Costs) -> None:
        self.limit = limit
        self.costs = costs
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.cost = self.costs.cost(
                context.schema._schema,
                context.query,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
        if self.limit is not None and self.cost is not None and self.cost > self.limit:
            message = (
                f"The operation's cost is {self.cost}, over the limit of {self.limit} "
                "(THREADLINE_MAX_QUERY_COST): ask for smaller pages or fewer nested lists."
            )
            raise coded(BadUserInput(message, cost=self.cost, limit=self.limit))
        live = CURRENT.get()
        if live is not None:
            live.extensions = self.get_results()  # for results sent by app/live.py
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "limit": self.limit}}


class OperationTimeout(SchemaExtension):
    """Queries and mutations stop after `seconds`; subscriptions are long-lived by design, and
    uploads are bounded by THREADLINE_MAX_FILE_BYTES instead (a big file takes a while)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.operation_type is OperationType.SUBSCRIPTION or _carries_upload(
            context.variables
        ):
            yield
            return
        try:
            async with asyncio.timeout(self.seconds):
                yield
        except TimeoutError:
            message = (
                f"The operation took longer than {self.seconds:g} s and was stopped; "
                "ask for less at once."
            )
            raise coded(BadUserInput(message)) from None


def _carries_upload(value: object) -> bool:
    if isinstance(value, UploadFile):
        return True
    if isinstance(value, dict):
        return any(_carries_upload(item) for item in value.values())
    if isinstance(value, list):
        return any(_carries_upload(item) for item in value)
    return False


def limit_extensions(settings: Settings, limiter: RateLimits | None) -> list[ExtensionFactory]:
    """The guard first (nothing runs for an unknown caller), then the enabled limits."""
    factories: list[ExtensionFactory] = [lambda: Guard(limiter)]
    if settings.max_tokens:
        factories.append(lambda: MaxTokensLimiter(max_token_count=settings.max_tokens))
    # Strawberry's limiters make a new rule class per instance, so a limiter made per request
    # misses the ValidationCache every time (~2.5 ms a request here): made once, reused.
    rules: list[type[ASTValidationRule]] = []
    if settings.max_query_depth:
        rules += QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules
    if settings.max_aliases:
        rules += MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules
    if rules:
        factories.append(lambda: AddValidationRules(rules))
    # Always costed, to report it; refused over the limit when there is one.
    costs = Costs()
    factories.append(lambda: QueryCost(settings.max_query_cost or None, costs))
    if settings.operation_timeout_seconds:
        factories.append(lambda: OperationTimeout(settings.operation_timeout_seconds))
    if settings.production:
        factories.append(DisableIntrospection)
    return factories


def rate_limiter(settings: Settings) -> RateLimits:
    shared = SharedWindows(settings.rate_limit_sync_seconds)
    keys = None
    if settings.rate_limit.strip():
        keys = RateLimiter(settings.rate_limit, shared=shared)
    subjects = None
    if settings.client_rate_limit.strip():
        who = "this client token's subject"
        subjects = RateLimiter(settings.client_rate_limit, "subject", who, shared)
    return RateLimits(keys, subjects, shared)
