"""Request limits (OWASP GraphQL cheat sheet): who may run an operation, how often, how big,
how deep, how costly (app/cost.py) and how long. Each refusal carries `extensions.code`.

Rate limits count per API key, and per subject for client tokens (all of one end user's
tokens together), in this process's memory (`limits`' MemoryStorage): with N server processes
a key gets up to N times the limit. Shared limits would need `limits`' Redis or MongoDB storage.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from graphql import ASTValidationRule
from limits import parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
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
from app.cost import operation_cost
from app.errors import coded
from app.policy import check_document
from app.settings import Settings
from models.errors import BadUserInput, RateLimited, ThreadlineError

ExtensionFactory = Callable[[], SchemaExtension]


class RateLimiter:
    """Limits such as "60/second;2000/minute" (all must hold), counted exactly over
    any window of that length: a moving window, not the sliding-window counter, which
    estimates from two fixed windows and lets the count drift near their boundary."""

    def __init__(self, spec: str, scope: str = "api-key", who: str = "this API key") -> None:
        self.items = parse_many(spec)
        self.strategy = MovingWindowRateLimiter(MemoryStorage())
        self.scope, self.who = scope, who

    async def check(self, key: str) -> None:
        for item in self.items:
            if not await self.strategy.hit(item, self.scope, key):
                stats = await self.strategy.get_window_stats(item, self.scope, key)
                retry = max(1, round(stats.reset_time - time.time()))
                raise RateLimited(
                    f"Rate limit exceeded for {self.who} ({item}); retry in {retry} s.",
                    retryAfterSeconds=retry,
                )


class RateLimits:
    """Keys by THREADLINE_RATE_LIMIT, client tokens' subjects by THREADLINE_CLIENT_RATE_LIMIT."""

    def __init__(self, keys: RateLimiter | None, subjects: RateLimiter | None) -> None:
        self.keys, self.subjects = keys, subjects

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

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.cost = operation_cost(
                context.schema._schema,
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
    factories.append(lambda: QueryCost(settings.max_query_cost or None))
    if settings.operation_timeout_seconds:
        factories.append(lambda: OperationTimeout(settings.operation_timeout_seconds))
    if settings.production:
        factories.append(DisableIntrospection)
    return factories


def rate_limiter(settings: Settings) -> RateLimits:
    keys = RateLimiter(settings.rate_limit) if settings.rate_limit.strip() else None
    subjects = None
    if settings.client_rate_limit.strip():
        subjects = RateLimiter(settings.client_rate_limit, "subject", "this client token's subject")
    return RateLimits(keys, subjects)
