"""Threads and messages: seeding, content parts, updates, and deletion that cascades."""

import asyncio
from typing import Any

from models.vector_store import VectorStoreDocument
from tests.graphql import GraphQLClient
from tests.runs import STEPS, new_assistant, start_run, wait_for, wait_until_streaming
from tests.test_subscriptions import collect_run
from tests.vector_stores import store_files
from tests.ws import Live

MESSAGE_FIELDS = """id threadId role status text metadata createdAt completedAt
  attachments { fileId tools }
  content { __typename
    ... on TextContent { text { value annotations { __typename } } }
    ... on ImageFileContent { imageFile { fileId detail } }
    ... on ImageUrlContent { imageUrl { url detail } } }"""
CREATE_THREAD = f"""mutation($input: CreateThreadInput) {{ createThread(input: $input) {{
  id metadata toolResources {{ fileSearch {{ vectorStoreIds }} }}
  messages(order: ASC) {{ nodes {{ {MESSAGE_FIELDS} }} }} }} }}"""
CREATE_MESSAGE = f"""mutation($threadId: ID!, $input: CreateMessageInput!) {{
  createMessage(threadId: $threadId, input: $input) {{ {MESSAGE_FIELDS} }} }}"""
THREAD_MESSAGES = (
    """query($id: ID!) { thread(id: $id) { messages(order: ASC) { nodes { id text } } } }"""
)


async def test_create_thread_with_seed_messages_keeps_their_order(gql: GraphQLClient) -> None:
    store = (await gql("mutation { createVectorStore { id } }"))["createVectorStore"]["id"]
    seeds: list[dict[str, Any]] = [{"content": f"message {index}"} for index in range(5)]
    seeds.append({"role": "ASSISTANT", "content": "an answer", "metadata": {"k": "v"}})
    thread = (
        await gql(
            CREATE_THREAD,
            input={
                "messages": seeds,
                "metadata": {"topic": "tests"},
                "toolResources": {"fileSearch": {"vectorStoreIds": [store]}},
            },
        )
    )["createThread"]
    assert thread["id"].startswith("thread_")
    assert thread["metadata"] == {"topic": "tests"}
    assert thread["toolResources"] == {"fileSearch": {"vectorStoreIds": [store]}}
    texts = [message["text"] for message in thread["messages"]["nodes"]]
    assert texts == [*(f"message {index}" for index in range(5)), "an answer"]
    last = thread["messages"]["nodes"][-1]
    assert (last["role"], last["status"], last["metadata"]) == (
        "ASSISTANT",
        "COMPLETED",
        {"k": "v"},
    )
    assert last["threadId"] == thread["id"]


async def test_create_thread_without_input(gql: GraphQLClient) -> None:
    thread = (await gql(CREATE_THREAD))["createThread"]
    assert thread["messages"]["nodes"] == []
    assert thread["metadata"] == {}


async def test_message_content_parts_and_attachments_are_stored(gql: GraphQLClient) -> None:
    thread_id = (await gql(CREATE_THREAD))["createThread"]["id"]
    image = (await gql.upload("cat.png", b"\x89PNG\r\n\x1a\n", "VISION"))["id"]
    document = (await gql.upload("doc.md", b"# A document"))["id"]
    parts = [
        {"type": "TEXT", "text": "What is in "},
        {"type": "IMAGE_URL", "imageUrl": {"url": "https://example.com/cat.png", "detail": "LOW"}},
        {"type": "TEXT", "text": "and in"},
        {"type": "IMAGE_FILE", "imageFile": {"fileId": image}},
    ]
    attachments = [{"fileId": document, "tools": ["FILE_SEARCH", "CODE_INTERPRETER"]}]
    message = (
        await gql(
            CREATE_MESSAGE,
            threadId=thread_id,
            input={"contentParts": parts, "attachments": attachments},
        )
    )["createMessage"]
    assert message["text"] == "What is in and in"
    assert [part["__typename"] for part in message["content"]] == [
        "TextContent",
        "ImageUrlContent",
        "TextContent",
        "ImageFileContent",
    ]
    assert message["content"][1]["imageUrl"] == {
        "url": "https://example.com/cat.png",
        "detail": "LOW",
    }
    assert message["content"][3]["imageFile"] == {"fileId": image, "detail": "AUTO"}
    assert message["attachments"] == attachments
    read = await gql(
        f"query($id: ID!) {{ message(id: $id) {{ {MESSAGE_FIELDS} }} }}", id=message["id"]
    )
    assert read["message"] == message


async def test_files_attached_at_once_share_the_threads_store(gql: GraphQLClient) -> None:
    """Messages with attachments sent at once to a thread with no store yet: one store is
    made, and each file joins it or the thread's code interpreter files."""
    thread_id = (await gql(CREATE_THREAD))["createThread"]["id"]
    searched = [(await gql.upload(f"notes{i}.md", b"# Notes"))["id"] for i in range(4)]
    coded = [(await gql.upload(f"table{i}.csv", b"a,b\n1,2"))["id"] for i in range(2)]

    def sending(file_id: str, tool: str) -> Any:
        attachments = [{"fileId": file_id, "tools": [tool]}]
        given = {"content": "see the file", "attachments": attachments}
        return gql(CREATE_MESSAGE, threadId=thread_id, input=given)

    await asyncio.gather(
        *(sending(file_id, "FILE_SEARCH") for file_id in searched),
        *(sending(file_id, "CODE_INTERPRETER") for file_id in coded),
    )
    found = await gql(
        """query($id: ID!) { thread(id: $id) { toolResources {
          fileSearch { vectorStoreIds } codeInterpreter { fileIds } } } }""",
        id=thread_id,
    )
    resources = found["thread"]["toolResources"]
    assert sorted(resources["codeInterpreter"]["fileIds"]) == sorted(coded)
    [store_id] = resources["fileSearch"]["vectorStoreIds"]
    assert sorted(f["id"] for f in await store_files(gql, store_id)) == sorted(searched)
    assert await VectorStoreDocument.find({"thread_id": thread_id}).count() == 1


async def test_update_message_metadata_and_thread_metadata(gql: GraphQLClient) -> None:
    thread_id = (await gql(CREATE_THREAD, input={"metadata": {"a": "1"}}))["createThread"]["id"]
    message_id = (await gql(CREATE_MESSAGE, threadId=thread_id, input={"content": "hi"}))[
        "createMessage"
    ]["id"]
    updated = await gql(
        """mutation($id: ID!) {
          updateMessage(id: $id, input: {metadata: {b: "2"}}) { text metadata } }""",
        id=message_id,
    )
    assert updated["updateMessage"] == {"text": "hi", "metadata": {"b": "2"}}
    thread = await gql(
        'mutation($id: ID!) { updateThread(id: $id, input: {metadata: {c: "3"}}) { metadata } }',
        id=thread_id,
    )
    assert thread["updateThread"]["metadata"] == {"c": "3"}


async def test_metadata_set_on_a_message_being_written_is_kept(gql: GraphQLClient) -> None:
    """The assistant's answer gets metadata while the run still writes it: the run's next
    writes of the message keep it."""
    words = " ".join(f"w{i}" for i in range(60))  # ~3 s: still writing when updated
    run = await start_run(gql, await new_assistant(gql), f"/slow 50\n{words}")
    await wait_until_streaming(gql, run["id"])
    answer = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"][0]
    message_id = answer["stepDetails"]["messageCreation"]["messageId"]
    updated = await gql(
        """mutation($id: ID!) {
          updateMessage(id: $id, input: {metadata: {reviewed: "yes"}}) { status metadata } }""",
        id=message_id,
    )
    assert updated["updateMessage"] == {"status": "IN_PROGRESS", "metadata": {"reviewed": "yes"}}
    assert (await wait_for(gql, run["id"]))["status"] == "COMPLETED"
    message = await gql("query($id: ID!) { message(id: $id) { text metadata } }", id=message_id)
    assert message["message"]["text"].endswith("w59")
    assert message["message"]["metadata"] == {"reviewed": "yes"}


async def test_delete_message(gql: GraphQLClient) -> None:
    thread_id = (
        await gql(CREATE_THREAD, input={"messages": [{"content": "a"}, {"content": "b"}]})
    )["createThread"]["id"]
    nodes = (await gql(THREAD_MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    await gql("mutation($id: ID!) { deleteMessage(id: $id) { deleted } }", id=nodes[0]["id"])
    remaining = (await gql(THREAD_MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    assert [message["text"] for message in remaining] == ["b"]


async def test_deleting_a_thread_removes_its_messages(gql: GraphQLClient) -> None:
    keep = (await gql(CREATE_THREAD, input={"messages": [{"content": "keep me"}]}))["createThread"]
    doomed = (await gql(CREATE_THREAD, input={"messages": [{"content": "x"}, {"content": "y"}]}))[
        "createThread"
    ]
    doomed_message_ids = [message["id"] for message in doomed["messages"]["nodes"]]
    result = await gql(
        "mutation($id: ID!) { deleteThread(id: $id) { id deleted } }", id=doomed["id"]
    )
    assert result["deleteThread"] == {"id": doomed["id"], "deleted": True}
    assert (await gql("query($id: ID!) { thread(id: $id) { id } }", id=doomed["id"]))[
        "thread"
    ] is None
    for message_id in doomed_message_ids:
        read = await gql("query($id: ID!) { message(id: $id) { id } }", id=message_id)
        assert read["message"] is None
    kept = (await gql(THREAD_MESSAGES, id=keep["id"]))["thread"]["messages"]["nodes"]
    assert [message["text"] for message in kept] == ["keep me"]
    error = await gql.error(CREATE_MESSAGE, threadId=doomed["id"], input={"content": "late"})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_updating_a_thread_while_its_run_streams_keeps_its_counters(
    gql: GraphQLClient, live: Live
) -> None:
    """updateThread writes only what it changes: the run's event numbers go on from where
    the run left them, each number once."""
    assistant = await new_assistant(gql)
    words = " ".join(f"w{i}" for i in range(30))
    run = await start_run(gql, assistant, f"/slow 30\n{words}")
    await wait_until_streaming(gql, run["id"])
    update = (
        "mutation($id: ID!, $v: String!) { updateThread(id: $id, input: {metadata: {v: $v}})"
        " { id } }"
    )
    for round_ in range(5):
        await gql(update, id=run["threadId"], v=str(round_))
    assert (await wait_for(gql, run["id"]))["status"] == "COMPLETED"
    events = await collect_run(live, run["id"])
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    thread = await gql("query($id: ID!) { thread(id: $id) { metadata } }", id=run["threadId"])
    assert thread["thread"]["metadata"] == {"v": "4"}
