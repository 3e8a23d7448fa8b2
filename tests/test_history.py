"""A thread read newest first, in windows of creation time, misses nothing and repeats nothing."""

from datetime import timedelta

import pytest

from models.base import utcnow
from models.history import newest_first
from models.message import MessageDocument
from tests.graphql import GraphQLClient
from tests.runs import CREATE_THREAD

# Ages spread over seconds to years, so that many windows are read, some of them empty; two
# messages share a timestamp; one is in the future (another server's clock).
AGES = [
    timedelta(seconds=-5),
    timedelta(0),
    timedelta(0),
    timedelta(seconds=30),
    timedelta(minutes=3),
    timedelta(hours=5),
    timedelta(days=40),
    timedelta(days=800),
]


@pytest.mark.parametrize("since_days", [0, 1000])
async def test_every_message_once_newest_first(gql: GraphQLClient, since_days: int) -> None:
    thread = (await gql(CREATE_THREAD))["createThread"]["id"]
    now = utcnow()
    stored = [
        MessageDocument(project_id="proj_default", thread_id=thread, created_at=now - age)
        for age in AGES
    ]
    mine = MessageDocument(project_id="proj_default", thread_id=thread, run_id="run_x")
    await MessageDocument.insert_many([*stored, mine])
    since = now - timedelta(days=since_days)  # a floor that ends the doubling, or one far off
    read = [m async for m in newest_first("proj_default", thread, "run_x", since)]
    expected = sorted(stored, key=lambda m: (m.created_at, m.id), reverse=True)
    assert [m.id for m in read] == [m.id for m in expected]
