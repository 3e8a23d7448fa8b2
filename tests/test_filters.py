"""The conditions the claim and expiry loops read by, against the real database: each one a
single bounded condition (no top-level `$or`, no one-sided date range), so what they match is
checked here, on every case of the field."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection

from models.base import earlier_than
from models.lease import unheld
from models.run import RunDocument
from tests.graphql import GraphQLClient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture
async def scratch(gql: GraphQLClient) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    collection = RunDocument.get_pymongo_collection().database["filter_check"]
    await collection.drop()
    yield collection
    await collection.drop()


async def matching(collection: AsyncCollection[dict[str, Any]], query: dict[str, Any]) -> list[str]:
    return sorted(
        document["_id"] for document in await collection.find(query, {"_id": 1}).to_list()
    )


async def test_unheld_means_no_lease_or_one_that_ran_out(
    scratch: AsyncCollection[dict[str, Any]],
) -> None:
    await scratch.insert_many(
        [
            {"_id": "none", "lease": None},
            {"_id": "absent"},
            {"_id": "expired", "lease": {"owner": "w", "expires_at": NOW - SECOND}},
            {"_id": "at_now", "lease": {"owner": "w", "expires_at": NOW}},
            {"_id": "held", "lease": {"owner": "w", "expires_at": NOW + SECOND}},
        ]
    )
    assert await matching(scratch, unheld(NOW)) == ["absent", "expired", "none"]


async def test_earlier_than_means_a_date_that_is_set_and_past(
    scratch: AsyncCollection[dict[str, Any]],
) -> None:
    await scratch.insert_many(
        [
            {"_id": "none", "expires_at": None},
            {"_id": "absent"},
            {"_id": "long_ago", "expires_at": datetime(1999, 1, 1, tzinfo=UTC)},
            {"_id": "past", "expires_at": NOW - SECOND},
            {"_id": "at_now", "expires_at": NOW},
            {"_id": "future", "expires_at": NOW + SECOND},
        ]
    )
    assert await matching(scratch, {"expires_at": earlier_than(NOW)}) == ["long_ago", "past"]
