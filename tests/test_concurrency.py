"""Concurrent writes: a message never outlives its thread; concurrent inserts all land."""

import asyncio

from models.message import MessageDocument
from tests.graphql import GraphQLClient

CREATE_MESSAGE = """mutation($threadId: ID!, $text: String!) {
  createMessage(threadId: $threadId, input: {content: $text}) { id } }"""


async def test_messages_racing_a_thread_deletion_leave_no_orphans(gql: GraphQLClient) -> None:
    for _ in range(5):
        thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
        writers = [gql.execute(CREATE_MESSAGE, threadId=thread_id, text=f"m{i}") for i in range(12)]
        deletion = gql.execute("mutation($id: ID!) { deleteThread(id: $id) { id } }", id=thread_id)
        results = await asyncio.gather(*writers[:6], deletion, *writers[6:])
        assert not results[6].get("errors"), results[6]
        for result in results[:6] + results[7:]:
            errors = result.get("errors")
            assert not errors or errors[0]["extensions"]["code"] == "NOT_FOUND", errors
        assert await MessageDocument.find({"thread_id": thread_id}).count() == 0


async def test_concurrent_messages_all_land_in_order_of_creation(gql: GraphQLClient) -> None:
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    results = await asyncio.gather(
        *(gql(CREATE_MESSAGE, threadId=thread_id, text=f"m{i}") for i in range(20))
    )
    created = {result["createMessage"]["id"] for result in results}
    listed = await gql(
        "query($id: ID!) { thread(id: $id) { messages(first: 100, order: ASC) { nodes { id } } } }",
        id=thread_id,
    )
    ids = [node["id"] for node in listed["thread"]["messages"]["nodes"]]
    assert set(ids) == created
    assert len(ids) == 20
