"""The live feed behind subscriptions: no subscriber polls the log, yet none misses an event
when it falls too far behind (its feed keeps a marker, and it reads the log again)."""

import asyncio
import re
from contextlib import aclosing

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession

from engine import bus as bus_module
from engine.bus import EventBus
from engine.follow import follow
from models.event import EventDocument, NewEvent, append
from models.thread import threads
from tests.graphql import GraphQLClient
from tests.servers import until

PROJECT = "proj_default"


async def write_events(thread_id: str, count: int) -> None:
    """`count` events, each in its own transaction, as a worker writes streamed deltas."""
    for number in range(count):

        async def work(session: AsyncClientSession, number: int = number) -> None:
            new = [NewEvent("thread.message.delta", "run_x", {"n": number})]
            await append(session, PROJECT, thread_id, new)

        await threads.transaction(work)


async def test_a_subscriber_far_behind_misses_nothing(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_module, "QUEUE_LIMIT", 3)
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    bus = EventBus()
    try:
        async with aclosing(follow(bus, PROJECT, thread_id)) as events:
            first = asyncio.ensure_future(anext(events))  # listening, then waiting live
            await until(lambda: bus.listeners(thread_id) == 1)
            await write_events(thread_id, 12)  # the feed overflows while nobody reads it
            received = [await asyncio.wait_for(first, 10)]
            received += [await asyncio.wait_for(anext(events), 10) for _ in range(11)]
        assert [event.sequence for event in received] == list(range(1, 13))
        assert [event.data["n"] for event in received] == list(range(12))
        assert bus.listeners(thread_id) == 0
    finally:
        await bus.close()


async def test_a_feed_keeps_one_marker_in_place_of_what_it_dropped() -> None:
    feed = bus_module.Feed()
    feed.put(None)
    feed.put(None)
    assert await feed.get() is None
    waiting = asyncio.ensure_future(feed.get())
    await asyncio.sleep(0)
    assert not waiting.done()  # nothing more: it waits, never polls
    feed.put(None)
    assert await asyncio.wait_for(waiting, 5) is None


async def test_events_pushed_at_once_and_yielded_come_once_each_in_order(
    gql: GraphQLClient,
) -> None:
    """A caught-up subscriber's events are offered to `push` as they come; those it refuses
    (here every third) come through the generator, and nothing is passed over or doubled."""
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    bus = EventBus()
    delivered: list[int] = []
    pushed: list[int] = []

    def push(event: EventDocument) -> bool:
        if event.data["n"] % 3 == 2:
            return False
        pushed.append(event.sequence)
        delivered.append(event.sequence)
        return True

    async def consume() -> None:
        async with aclosing(follow(bus, PROJECT, thread_id, push=push)) as events:
            async for event in events:
                delivered.append(event.sequence)

    consumer = asyncio.create_task(consume())
    try:
        await until(lambda: bus.listeners(thread_id) == 1)
        await write_events(thread_id, 30)
        await until(lambda: len(delivered) == 30)
        assert delivered == list(range(1, 31))
        assert not {3, 6, 9, 12} & set(pushed)
        assert 1 in pushed  # it was waiting, caught up: the first came at once
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await bus.close()
    assert bus.listeners(thread_id) == 0


async def test_a_big_audience_leaves_the_loop_to_other_work_while_it_is_sent_an_event(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event to many caught-up subscribers is sent in one pass of the stream's task,
    which lets other tasks run every SENDS_BETWEEN_TURNS subscribers."""
    monkeypatch.setattr(bus_module, "SENDS_BETWEEN_TURNS", 2)
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    bus = EventBus()
    happened: list[str] = []

    def push(_event: EventDocument) -> bool:
        happened.append("sent")
        return True

    async def subscriber() -> None:
        async with aclosing(follow(bus, PROJECT, thread_id, push=push)) as events:
            async for _ in events:
                pass

    async def other_work() -> None:
        while True:
            happened.append("other")
            await asyncio.sleep(0)

    subscribers = [asyncio.create_task(subscriber()) for _ in range(6)]
    try:
        await until(lambda: bus.listeners(thread_id) == 6)
        await asyncio.sleep(0.1)  # each is waiting live, caught up
        worker = asyncio.create_task(other_work())
        await write_events(thread_id, 1)
        await until(lambda: happened.count("sent") == 6)
        worker.cancel()
        order = re.sub("o+", "o", "".join("s" if e == "sent" else "o" for e in happened))
        assert order.strip("o") == "ssossoss"  # two sends at a time, other work between
    finally:
        for task in subscribers:
            task.cancel()
        await asyncio.gather(*subscribers, return_exceptions=True)
        await bus.close()
