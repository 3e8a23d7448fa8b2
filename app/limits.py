"""Request limits (OWASP GraphQL cheat sheet): who may run an operation, how often, how big,
how deep and how long. Each refusal carries `extensions.code`.

Rate limits count per API key in this process's memory (`limits`' MemoryStorage): with N
server processes a key gets up to N times the limit. Shared limits would need `limits`'
Redis or MongoDB storage.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
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

from app.errors import coded
from app.settings import Settings
from models.errors import BadUserInput, RateLimited, ThreadlineError

ExtensionFactory = Callable[[], SchemaExtension]


class RateLimiter:
    """Per-key limits such as "60/second;2000/minute" (all must hold), counted exactly over
    any window of that length: a moving window, not the sliding-window counter, which
    estimates from two fixed windows and lets the count drift near their boundary."""

    def __init__(self, spec: str) -> None:
        self.items = parse_many(spec)
        self.strategy = MovingWindowRateLimiter(MemoryStorage())

    async def check(self, key_id: str) -> None:
        for item in self.items:
            if not await self.strategy.hit(item, "api-key", key_id):
                stats = await self.strategy.get_window_stats(item, "api-key", key_id)
                retry = max(1, round(stats.reset_time - time.time()))
                raise RateLimited(
                    f"Rate limit exceeded for this API key ({item}); retry in {retry} s.",
                    retryAfterSeconds=retry,
                )


class Guard(SchemaExtension):
    """Every operation, HTTP or websocket: an authenticated caller, within its rate limit."""

    def __init__(self, limiter: RateLimiter | None) -> None:
        self.limiter = limiter

    async def on_operation(self) -> AsyncIterator[None]:
        context: Any = self.execution_context.context
        try:
            principal = context.authenticated()
            if self.limiter is not None:
                await self.limiter.check(principal.key_id)
        except ThreadlineError as error:
            # Raised before ErrorCodes is entered, so coded here.
            raise coded(error) from None
        yield


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


def limit_extensions(settings: Settings, limiter: RateLimiter | None) -> list[ExtensionFactory]:
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
    if settings.operation_timeout_seconds:
        factories.append(lambda: OperationTimeout(settings.operation_timeout_seconds))
    if settings.production:
        factories.append(DisableIntrospection)
    return factories


def rate_limiter(settings: Settings) -> RateLimiter | None:
    return RateLimiter(settings.rate_limit) if settings.rate_limit.strip() else None
