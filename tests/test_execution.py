"""Long-lived subscriptions do not grow graphql-core's memo with every event."""

from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import SubscriptionSafeExecutor

executors: list[Any] = []


class Recording:
    """Remembers each subscription's executor, to look at its memo afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        executors.append(self)


@strawberry.type
class Tick:
    n: int


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, count: int) -> AsyncGenerator[Tick, None]:
        for n in range(count):
            yield Tick(n=n)


async def memo_size_after(executor_class: type, events: int) -> int:
    recording = type("Rec", (Recording, executor_class), {})
    schema = strawberry.Schema(Query, subscription=Subscription, execution_context_class=recording)
    executors.clear()
    query = "subscription($count: Int!) { ticks(count: $count) { n } }"
    stream = await schema.subscribe(query, variable_values={"count": events})
    assert not isinstance(stream, strawberry.types.ExecutionResult)
    received = [result.data async for result in stream]
    assert len(received) == events
    return len(executors[0]._relevant_sub_fields)


@pytest.mark.parametrize("events", [10, 200])
async def test_the_memo_stays_small_however_many_events(events: int) -> None:
    assert await memo_size_after(SubscriptionSafeExecutor, events) <= 1


async def test_without_the_fix_the_memo_grows_with_each_event() -> None:
    assert await memo_size_after(StrawberryGraphQLCoreExecutionContext, 50) >= 50
