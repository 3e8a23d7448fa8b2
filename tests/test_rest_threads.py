"""`/v1/threads` and `/v1/threads/{thread_id}/messages` through the official openai SDK."""

from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from openai.types.beta.threads import Run

from engine.catalog import SCRIPTED_MODEL
from models.event import EventDocument
from models.message import MessageDocument
from rest.thread_shapes import message_from_snapshot
from tests.graphql import GraphQLClient
from tests.test_vision import png

PHOTO = "https://example.com/photos/cat.png"


async def wait_for_run(sdk: AsyncOpenAI, run: Run, status: str) -> None:
    """Until the run stops moving (the SDK's own polling); it must be `status` then."""
    done = await sdk.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=30)
    assert done.status == status, done.last_error


async def raw_json(openai_client: AsyncOpenAI, path: str) -> Any:
    """A GET's JSON as sent (the SDK's raw responses warn from its own module)."""
    headers = {"authorization": f"Bearer {openai_client.api_key}"}
    async with httpx.AsyncClient(base_url=str(openai_client.base_url), headers=headers) as http:
        answer = await http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def start_run(sdk: AsyncOpenAI, thread_id: str, assistant_id: str) -> Run:
    return await sdk.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)


async def test_thread_create_retrieve_update_delete(openai_client: AsyncOpenAI) -> None:
    threads = openai_client.beta.threads
    created = await threads.create(
        messages=[
            {"role": "user", "content": "Hello", "metadata": {"n": "1"}},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": PHOTO, "detail": "low"}},
                ],
            },
        ],
        tool_resources={"code_interpreter": {"file_ids": []}},
        metadata={"topic": "tests"},
    )
    assert created.object == "thread"
    assert created.id.startswith("thread_")
    assert isinstance(created.created_at, int)
    assert created.metadata == {"topic": "tests"}
    assert created.tool_resources is not None
    assert created.tool_resources.code_interpreter is not None
    assert created.tool_resources.code_interpreter.file_ids == []
    assert created.tool_resources.file_search is None

    seeded = (await threads.messages.list(created.id, order="asc")).data
    assert [m.role for m in seeded] == ["user", "assistant"]
    first, second = seeded
    assert first.content[0].type == "text"
    assert first.content[0].text.value == "Hello"
    assert first.content[0].text.annotations == []
    assert first.metadata == {"n": "1"}
    assert (first.thread_id, first.object, first.status) == (
        created.id,
        "thread.message",
        "completed",
    )
    assert (first.run_id, first.assistant_id, first.attachments) == (None, None, [])
    assert [part.type for part in second.content] == ["text", "image_url"]
    image = second.content[1].image_url  # type: ignore[union-attr]
    assert (image.url, image.detail) == (PHOTO, "low")

    assert await threads.retrieve(created.id) == created
    updated = await threads.update(created.id, metadata={"topic": "renamed"})
    assert updated.metadata == {"topic": "renamed"}
    assert updated.tool_resources == created.tool_resources

    deleted = await threads.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError) as missing:
        await threads.retrieve(created.id)
    assert f"No thread found with id '{created.id}'" in missing.value.message
    with pytest.raises(openai.NotFoundError):
        await threads.messages.list(created.id)
    for message in seeded:
        with pytest.raises(openai.NotFoundError):
            await threads.messages.retrieve(message.id, thread_id=created.id)
    assert await MessageDocument.find({"thread_id": created.id}).count() == 0


async def test_an_empty_thread(openai_client: AsyncOpenAI) -> None:
    created = await openai_client.beta.threads.create()
    assert created.metadata == {}
    assert (await openai_client.beta.threads.messages.list(created.id)).data == []
    body = await raw_json(openai_client, f"threads/{created.id}")
    assert set(body) == {"id", "object", "created_at", "metadata", "tool_resources"}
    assert body["tool_resources"] == {}


async def test_a_thread_for_an_end_user(openai_client: AsyncOpenAI, gql: GraphQLClient) -> None:
    """Threadline's `owner` (whose client tokens see the thread), set once at creation."""
    created = await openai_client.beta.threads.create(extra_body={"owner": "user-7"})
    read = await gql("query($id: ID!) { thread(id: $id) { owner } }", id=created.id)
    assert read["thread"]["owner"] == "user-7"


async def test_message_create_retrieve_update_delete(
    openai_client: AsyncOpenAI, gql: GraphQLClient
) -> None:
    messages = openai_client.beta.threads.messages
    thread = await openai_client.beta.threads.create()
    document = (await gql.upload("notes.txt", b"Some notes.", "ASSISTANTS"))["id"]
    image = (await gql.upload("dot.png", png(4, 4), "VISION"))["id"]
    created = await messages.create(
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": "What is in here?"},
            {"type": "image_file", "image_file": {"file_id": image, "detail": "high"}},
        ],
        attachments=[{"file_id": document, "tools": [{"type": "code_interpreter"}]}],
        metadata={"k": "v"},
    )
    assert created.id.startswith("msg_")
    assert (created.object, created.thread_id, created.role) == (
        "thread.message",
        thread.id,
        "user",
    )
    assert [part.type for part in created.content] == ["text", "image_file"]
    part = created.content[1].image_file  # type: ignore[union-attr]
    assert (part.file_id, part.detail) == (image, "high")
    assert created.attachments is not None
    assert created.attachments[0].file_id == document
    assert [tool.type for tool in created.attachments[0].tools or []] == ["code_interpreter"]
    # The attachment joined the thread's code interpreter files, as OpenAI's do.
    resources = (await openai_client.beta.threads.retrieve(thread.id)).tool_resources
    assert resources is not None
    assert resources.code_interpreter is not None
    assert resources.code_interpreter.file_ids == [document]

    body = await raw_json(openai_client, f"threads/{thread.id}/messages/{created.id}")
    assert "project_id" not in body
    assert body["content"][1] == {
        "type": "image_file",
        "image_file": {"file_id": image, "detail": "high"},
    }
    assert await messages.retrieve(created.id, thread_id=thread.id) == created

    updated = await messages.update(created.id, thread_id=thread.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}
    assert updated.content == created.content

    deleted = await messages.delete(created.id, thread_id=thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        created.id,
        "thread.message.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError):
        await messages.retrieve(created.id, thread_id=thread.id)
    assert (await messages.list(thread.id)).data == []


async def test_paging_messages_both_ways(openai_client: AsyncOpenAI) -> None:
    thread = await openai_client.beta.threads.create()
    messages = openai_client.beta.threads.messages
    made = [(await messages.create(thread.id, role="user", content=f"m{i}")).id for i in range(7)]
    first = await messages.list(thread.id, limit=3)
    assert [m.id for m in first.data] == made[::-1][:3]
    assert first.has_more
    assert [m.id async for m in await messages.list(thread.id, limit=3)] == made[::-1]
    ascending = [m.id async for m in await messages.list(thread.id, order="asc", limit=2)]
    assert ascending == made
    before = await messages.list(thread.id, order="asc", before=made[5], limit=2)
    assert [m.id for m in before.data] == made[3:5]
    assert before.has_more
    newest = await messages.list(thread.id, before=made[4], limit=5)
    assert [m.id for m in newest.data] == made[:4:-1]
    assert not newest.has_more
    last = await messages.list(thread.id, after=made[1], limit=5)
    assert [m.id for m in last.data] == [made[0]]
    assert not last.has_more
    # A cursor from another thread is not in this list.
    other = await openai_client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    stranger = (await messages.list(other.id)).data[0].id
    with pytest.raises(openai.BadRequestError) as bad:
        await messages.list(thread.id, after=stranger)
    assert bad.value.param == "after"


async def test_messages_of_one_run(app: FastAPI, openai_client: AsyncOpenAI) -> None:
    assistant = await openai_client.beta.assistants.create(model=SCRIPTED_MODEL)
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": "Hi there"}]
    )
    run = await start_run(openai_client, thread.id, assistant.id)
    await wait_for_run(openai_client, run, "completed")
    messages = openai_client.beta.threads.messages
    everything = (await messages.list(thread.id, order="asc")).data
    assert [m.role for m in everything] == ["user", "assistant"]
    answers = (await messages.list(thread.id, run_id=run.id)).data
    assert answers == everything[1:]
    answer = answers[0]
    assert (answer.run_id, answer.assistant_id, answer.status) == (
        run.id,
        assistant.id,
        "completed",
    )
    assert isinstance(answer.completed_at, int)
    assert answer.content[0].text.value  # type: ignore[union-attr]
    assert (await messages.list(thread.id, run_id="run_unknown")).data == []
    # The events' stored snapshots shape as the message itself does (SSE will send them).
    shaped = await raw_json(openai_client, f"threads/{thread.id}/messages/{answer.id}")
    completed = await EventDocument.find_one(
        {"run_id": run.id, "event": "thread.message.completed"}
    )
    assert completed is not None
    assert message_from_snapshot(completed.data["message"]) == shaped


async def test_messages_wait_for_the_active_run(app: FastAPI, openai_client: AsyncOpenAI) -> None:
    assistant = await openai_client.beta.assistants.create(
        model=SCRIPTED_MODEL,
        tools=[{"type": "function", "function": {"name": "lookup"}}],
    )
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": "/call lookup"}]
    )
    seed = (await openai_client.beta.threads.messages.list(thread.id)).data[0]
    run = await start_run(openai_client, thread.id, assistant.id)  # active until its outputs come
    messages = openai_client.beta.threads.messages
    with pytest.raises(openai.BadRequestError) as adding:
        await messages.create(thread.id, role="user", content="more")
    assert run.id in adding.value.message
    assert adding.value.code == "conflict"
    with pytest.raises(openai.BadRequestError) as deleting:
        await messages.delete(seed.id, thread_id=thread.id)
    assert run.id in deleting.value.message
    await wait_for_run(openai_client, run, "requires_action")
    mine = [m.id for m in (await messages.list(thread.id)).data if m.role == "user"]
    assert mine == [seed.id]


async def test_a_message_through_another_threads_path_is_not_found(
    openai_client: AsyncOpenAI,
) -> None:
    messages = openai_client.beta.threads.messages
    mine = await openai_client.beta.threads.create(messages=[{"role": "user", "content": "a"}])
    other = await openai_client.beta.threads.create()
    message = (await messages.list(mine.id)).data[0]
    for call in (
        messages.retrieve(message.id, thread_id=other.id),
        messages.update(message.id, thread_id=other.id, metadata={"k": "v"}),
        messages.delete(message.id, thread_id=other.id),
    ):
        with pytest.raises(openai.NotFoundError) as missing:
            await call
        assert f"No message found with id '{message.id}'" in missing.value.message
    assert await messages.retrieve(message.id, thread_id=mine.id) == message


BAD_CONTENT: dict[str, tuple[Any, str]] = {
    "empty-string": ("", "content"),
    "no-parts": ([], "content"),
    "unknown-part-type": ([{"type": "video", "video": {"url": PHOTO}}], "content[0].type"),
    "empty-text-part": ([{"type": "text", "text": ""}], "content[0].text"),
    "text-part-with-an-image": (
        [{"type": "text", "text": "x", "image_url": {"url": PHOTO}}],
        "content[0]",
    ),
    "not-http": (
        [{"type": "image_url", "image_url": {"url": "ftp://x.test/a.png"}}],
        "content[0].image_url.url",
    ),
    "bad-file-id": (
        [{"type": "image_file", "image_file": {"file_id": "nope"}}],
        "content[0].image_file.file_id",
    ),
    "number": (5, "content"),
}


@pytest.mark.parametrize("case", BAD_CONTENT)
async def test_bad_content_names_the_field(openai_client: AsyncOpenAI, case: str) -> None:
    content, param = BAD_CONTENT[case]
    thread = await openai_client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as bad:
        await openai_client.beta.threads.messages.create(thread.id, role="user", content=content)
    assert bad.value.param == param
    assert f"- {param}: " in bad.value.message
    with pytest.raises(openai.BadRequestError) as seeded:
        await openai_client.beta.threads.create(messages=[{"role": "user", "content": content}])
    assert seeded.value.param == f"messages[0].{param}"
    assert (await openai_client.beta.threads.messages.list(thread.id)).data == []


async def test_other_bad_input(openai_client: AsyncOpenAI, rest_url: str, dev_key: str) -> None:
    threads = openai_client.beta.threads
    thread = await threads.create()

    async def param_of(call: Any) -> str | None:
        with pytest.raises(openai.BadRequestError) as bad:
            await call
        return bad.value.param

    def create(**fields: Any) -> Any:
        return threads.messages.create(thread.id, **{"role": "user", "content": "x", **fields})

    assert await param_of(create(role="system")) == "role"
    browser = {"file_id": "file-abc", "tools": [{"type": "browser"}]}
    assert await param_of(create(attachments=[browser])) == "attachments[0].tools[0]"
    graphql_form = {"content_parts": [{"type": "text", "text": "x"}]}
    assert await param_of(create(extra_body=graphql_form)) == "content_parts"
    assert await param_of(threads.update(thread.id, extra_body={"owner": "x"})) == "owner"
    assert await param_of(threads.create(metadata={"k": "v" * 513})) == "metadata"
    helper: Any = {"file_search": {"vector_stores": [{"file_ids": []}]}}
    refused = await param_of(threads.create(tool_resources=helper))
    assert refused == "tool_resources.file_search.vector_stores"
    assert await param_of(threads.messages.list(thread.id, limit=0)) == "limit"
    assert await param_of(threads.messages.list(thread.id, after="msg_unknown")) == "after"
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {dev_key}"}) as plain:
        url = f"{rest_url}/threads/{thread.id}/messages"
        missing = await plain.post(url, json={"role": "user"})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "content"
    assert (await threads.messages.list(thread.id)).data == []


async def test_another_projects_threads_and_messages_are_not_found(
    openai_client: AsyncOpenAI, other_openai: AsyncOpenAI
) -> None:
    mine = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": "private"}], metadata={"k": "v"}
    )
    message = (await openai_client.beta.threads.messages.list(mine.id)).data[0]
    theirs = await other_openai.beta.threads.create()
    threads, messages = other_openai.beta.threads, other_openai.beta.threads.messages
    for call in (
        threads.retrieve(mine.id),
        threads.update(mine.id, metadata={"k": "w"}),
        threads.delete(mine.id),
        messages.list(mine.id),
        messages.create(mine.id, role="user", content="hi"),
        messages.retrieve(message.id, thread_id=mine.id),
        messages.update(message.id, thread_id=mine.id, metadata={"k": "w"}),
        messages.delete(message.id, thread_id=mine.id),
        messages.retrieve(message.id, thread_id=theirs.id),
        messages.delete(message.id, thread_id=theirs.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    with pytest.raises(openai.BadRequestError):
        await messages.list(theirs.id, after=message.id)
    assert await openai_client.beta.threads.retrieve(mine.id) == mine
    assert (await openai_client.beta.threads.messages.list(mine.id)).data == [message]
