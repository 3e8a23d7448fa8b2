"""`/v1/assistants` through the official openai SDK, as user code calls it."""

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from engine.catalog import SCRIPTED_MODEL

TOOLS = [
    {"type": "code_interpreter"},
    {"type": "file_search", "file_search": {"max_num_results": 5}},
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks a word up.",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
        },
    },
]


async def test_create_retrieve_update_delete(openai_client: AsyncOpenAI) -> None:
    created = await openai_client.beta.assistants.create(
        model=SCRIPTED_MODEL,
        name="Helper",
        instructions="Be brief.",
        tools=TOOLS,  # type: ignore[arg-type]
        metadata={"team": "a"},
        response_format={"type": "json_object"},
    )
    assert created.object == "assistant"
    assert created.id.startswith("asst_")
    assert isinstance(created.created_at, int)
    assert [tool.type for tool in created.tools] == ["code_interpreter", "file_search", "function"]
    assert created.tools[1].file_search.max_num_results == 5  # type: ignore[union-attr]
    assert created.tools[2].function.name == "lookup"  # type: ignore[union-attr]
    assert (created.temperature, created.top_p) == (1.0, 1.0)
    assert created.response_format.type == "json_object"  # type: ignore[union-attr]

    fetched = await openai_client.beta.assistants.retrieve(created.id)
    assert fetched == created

    updated = await openai_client.beta.assistants.update(
        created.id, name="Renamed", temperature=0.5, response_format="auto"
    )
    assert (updated.name, updated.temperature) == ("Renamed", 0.5)
    assert updated.instructions == "Be brief."
    assert updated.response_format == "auto"

    deleted = await openai_client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError) as missing:
        await openai_client.beta.assistants.retrieve(created.id)
    assert missing.value.status_code == 404
    assert f"No assistant found with id '{created.id}'" in missing.value.message


async def test_paging_through_every_page(openai_client: AsyncOpenAI) -> None:
    made = [
        (await openai_client.beta.assistants.create(model=SCRIPTED_MODEL, name=f"a{i}")).id
        for i in range(7)
    ]
    first = await openai_client.beta.assistants.list(limit=3)
    assert [a.id for a in first.data] == made[::-1][:3]
    assert first.has_more
    seen = [a.id async for a in await openai_client.beta.assistants.list(limit=3)]
    assert seen == made[::-1]
    ascending = [a.id async for a in await openai_client.beta.assistants.list(order="asc", limit=2)]
    assert ascending == made
    before = await openai_client.beta.assistants.list(order="asc", before=made[5], limit=2)
    assert [a.id for a in before.data] == made[3:5]
    assert before.has_more
    last = await openai_client.beta.assistants.list(after=made[1], limit=5)
    assert [a.id for a in last.data] == [made[0]]
    assert not last.has_more


async def test_deleting_each_listed_assistant_pages_through_them_all(
    openai_client: AsyncOpenAI,
) -> None:
    """The SDK's cleanup loop: each page's assistants are deleted before the next page is
    asked for, after the last (now deleted) one; every assistant is still seen once."""
    made = [
        (await openai_client.beta.assistants.create(model=SCRIPTED_MODEL, name=f"a{i}")).id
        for i in range(7)
    ]
    seen = []
    async for assistant in await openai_client.beta.assistants.list(limit=3):
        seen.append(assistant.id)
        await openai_client.beta.assistants.delete(assistant.id)
    assert seen == made[::-1]
    assert (await openai_client.beta.assistants.list()).data == []
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client.beta.assistants.list(after="not-an-id")
    assert "no object with id 'not-an-id'" in str(refused.value)


async def test_bad_input_is_a_bad_request_naming_the_field(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        await openai_client.beta.assistants.create(model=SCRIPTED_MODEL, temperature=3)
    assert bad.value.status_code == 400
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as bad_tool:
        await openai_client.beta.assistants.create(
            model=SCRIPTED_MODEL,
            tools=[{"type": "function", "function": {"name": "has space"}}],
        )
    assert bad_tool.value.param == "tools[0].function.name"
    with pytest.raises(openai.BadRequestError) as limit:
        await openai_client.beta.assistants.list(limit=101)
    assert limit.value.param == "limit"
    with pytest.raises(openai.BadRequestError) as unknown_field:
        await openai_client.beta.assistants.create(
            model=SCRIPTED_MODEL,
            extra_body={"colour": "red"},
        )
    assert unknown_field.value.param == "colour"


async def test_keys(rest_url: str, openai_client: AsyncOpenAI) -> None:
    async with AsyncOpenAI(base_url=rest_url, api_key="tl-wrong", max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError) as refused:
            await wrong.beta.assistants.list()
    assert refused.value.code == "invalid_api_key"
    async with httpx.AsyncClient() as plain:
        answer = await plain.get(f"{rest_url}/assistants")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"


async def test_another_projects_assistant_is_not_found(
    openai_client: AsyncOpenAI, other_openai: AsyncOpenAI
) -> None:
    mine = await openai_client.beta.assistants.create(model=SCRIPTED_MODEL)
    for call in (
        other_openai.beta.assistants.retrieve(mine.id),
        other_openai.beta.assistants.update(mine.id, name="x"),
        other_openai.beta.assistants.delete(mine.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert (await other_openai.beta.assistants.list()).data == []
    # As a cursor, another project's id reads as one of the caller's deleted since would:
    # a place in time, among the caller's own objects only.
    theirs = await other_openai.beta.assistants.create(model=SCRIPTED_MODEL)
    assert [a.id for a in (await other_openai.beta.assistants.list(before=mine.id)).data] == [
        theirs.id
    ]
    assert (await other_openai.beta.assistants.list(after=mine.id)).data == []
    assert (await openai_client.beta.assistants.retrieve(mine.id)).name is None
