"""`/v1/vector_stores*` through the official openai SDK, its polling helpers included.

The test app has no embeddings model: ranking is BM25 alone (engine/files/search.py), and the
app's own ingestion workers take the files as they are added."""

import asyncio
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types import VectorStore
from openai.types.shared_params import ComparisonFilter

LIGHTHOUSE = (
    "The lighthouse keeper logs the fog signal hours every night.\n"
    "Its lamp burns paraffin and turns once every twelve seconds."
)
GARDEN = "Tomatoes need six hours of sun; water the roots, not the leaves, in the morning."
RECIPE = "Knead the dough for ten minutes, then let it rise until doubled in size."
POLL_MS = 50


async def until_ingested(sdk: AsyncOpenAI, store_id: str, timeout: float = 60) -> VectorStore:
    """The store once none of its files is still being ingested."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (store := await sdk.vector_stores.retrieve(store_id)).status == "in_progress":
        assert asyncio.get_running_loop().time() < deadline, f"stayed in_progress: {store}"
        await asyncio.sleep(0.05)
    return store


async def upload(sdk: AsyncOpenAI, name: str, text: str) -> str:
    return (await sdk.files.create(file=(name, text.encode()), purpose="assistants")).id


async def test_store_lifecycle_and_search(openai_client: AsyncOpenAI) -> None:
    light = await upload(openai_client, "lighthouse.txt", LIGHTHOUSE)
    garden = await upload(openai_client, "garden.md", GARDEN)
    created = await openai_client.vector_stores.create(
        name="notes",
        description="Things to know.",
        file_ids=[light, garden],
        metadata={"team": "a"},
        expires_after={"anchor": "last_active_at", "days": 7},
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
        },
    )
    assert created.object == "vector_store"
    assert created.id.startswith("vs_")
    assert (created.name, created.metadata) == ("notes", {"team": "a"})
    assert created.file_counts.total == 2
    assert created.expires_after is not None
    assert created.expires_after.days == 7
    assert created.last_active_at is not None
    assert created.expires_at == created.last_active_at + 7 * 86400

    done = await until_ingested(openai_client, created.id)
    assert done.status == "completed"
    assert done.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
        "total": 2,
    }
    assert done.usage_bytes == len(LIGHTHOUSE.encode()) + len(GARDEN.encode())
    files = [file async for file in openai_client.vector_stores.files.list(created.id)]
    assert {file.id for file in files} == {light, garden}
    assert files[0].chunking_strategy is not None
    assert files[0].chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
    }

    hits = await openai_client.vector_stores.search(
        created.id, query="how often does the lamp turn"
    )
    assert hits.data[0].file_id == light
    assert hits.data[0].filename == "lighthouse.txt"
    assert hits.data[0].content[0].type == "text"
    assert "twelve seconds" in hits.data[0].content[0].text
    assert 0 < hits.data[0].score <= 1
    raw = await openai_client.vector_stores.with_raw_response.search(
        created.id, query=["tomatoes", "sun"], max_num_results=1
    )
    page = raw.http_response.json()
    assert page["object"] == "vector_store.search_results.page"
    assert page["search_query"] == ["tomatoes", "sun"]
    assert (page["has_more"], page["next_page"]) == (False, None)
    assert [hit["file_id"] for hit in page["data"]] == [garden]
    none = await openai_client.vector_stores.search(created.id, query="zebra quantum saxophone")
    assert none.data == []

    updated = await openai_client.vector_stores.update(
        created.id, name="renamed", metadata={"team": "b"}, expires_after=None
    )
    assert (updated.name, updated.metadata) == ("renamed", {"team": "b"})
    assert (updated.expires_after, updated.expires_at) == (None, None)
    listed = await openai_client.vector_stores.list()
    assert [store.id for store in listed.data] == [created.id]
    assert listed.data[0].file_counts.completed == 2

    deleted = await openai_client.vector_stores.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        created.id,
        "vector_store.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError) as missing:
        await openai_client.vector_stores.retrieve(created.id)
    assert f"No vector store found with id '{created.id}'" in missing.value.message
    # The files themselves stay.
    assert (await openai_client.files.retrieve(light)).id == light


async def test_a_files_life_in_a_store(openai_client: AsyncOpenAI) -> None:
    store = await openai_client.vector_stores.create(name="one")
    added = await openai_client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("lighthouse.txt", LIGHTHOUSE.encode()),
        attributes={"year": 2023},
        poll_interval_ms=POLL_MS,
    )
    assert added.object == "vector_store.file"
    assert added.id.startswith("file-")
    assert (added.vector_store_id, added.status, added.last_error) == (store.id, "completed", None)
    assert added.usage_bytes == len(LIGHTHOUSE.encode())
    assert added.attributes == {"year": 2023}
    assert added.chunking_strategy is not None
    assert added.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    files = openai_client.vector_stores.files
    assert await files.retrieve(added.id, vector_store_id=store.id) == added
    content = [part async for part in files.content(added.id, vector_store_id=store.id)]
    assert [(part.type, part.text) for part in content] == [("text", LIGHTHOUSE)]

    updated = await files.update(added.id, vector_store_id=store.id, attributes={"year": 2025})
    assert updated.attributes == {"year": 2025}
    recent: ComparisonFilter = {"type": "gte", "key": "year", "value": 2024}
    found = await openai_client.vector_stores.search(store.id, query="lamp", filters=recent)
    assert [hit.file_id for hit in found.data] == [added.id]
    assert found.data[0].attributes == {"year": 2025}
    old: ComparisonFilter = {"type": "lt", "key": "year", "value": 2024}
    assert (
        await openai_client.vector_stores.search(store.id, query="lamp", filters=old)
    ).data == []

    # An uploaded file added by id, and polled by the SDK until it is ingested.
    garden = await upload(openai_client, "garden.md", GARDEN)
    second = await files.create_and_poll(garden, vector_store_id=store.id, poll_interval_ms=POLL_MS)
    assert second.status == "completed"
    completed = await files.list(store.id, filter="completed", limit=1)
    assert [file.id for file in completed.data] == [garden]
    assert completed.has_more
    after = await files.list(store.id, filter="completed", after=garden)
    assert [file.id for file in after.data] == [added.id]
    assert not after.has_more
    assert (await files.list(store.id, filter="failed")).data == []

    removed = await files.delete(added.id, vector_store_id=store.id)
    assert (removed.id, removed.object, removed.deleted) == (
        added.id,
        "vector_store.file.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError):
        await files.retrieve(added.id, vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        await files.delete(added.id, vector_store_id=store.id)
    assert (await openai_client.files.retrieve(added.id)).id == added.id  # still a file
    left = await openai_client.vector_stores.retrieve(store.id)
    assert (left.file_counts.total, left.usage_bytes) == (1, len(GARDEN.encode()))


async def test_file_batches(openai_client: AsyncOpenAI) -> None:
    store = await openai_client.vector_stores.create()
    batches = openai_client.vector_stores.file_batches
    batch = await batches.upload_and_poll(
        store.id,
        files=[("a.txt", RECIPE.encode()), ("b.txt", GARDEN.encode())],
        poll_interval_ms=POLL_MS,
    )
    assert batch.object == "vector_store.files_batch"
    assert batch.id.startswith("vsfb_")
    assert (batch.vector_store_id, batch.status) == (store.id, "completed")
    assert batch.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
        "total": 2,
    }
    assert await batches.retrieve(batch.id, vector_store_id=store.id) == batch
    in_batch = [file async for file in batches.list_files(batch.id, vector_store_id=store.id)]
    assert len(in_batch) == 2
    assert all(file.status == "completed" for file in in_batch)

    # OpenAI's other form: each file with its own attributes.
    first, second = [await upload(openai_client, f"{n}.txt", RECIPE) for n in ("c", "d")]
    own = await batches.create_and_poll(
        store.id,
        files=[
            {"file_id": first, "attributes": {"kind": "c"}},
            {"file_id": second, "attributes": {"kind": "d"}},
        ],
        poll_interval_ms=POLL_MS,
    )
    assert own.file_counts.completed == 2
    listed = await batches.list_files(own.id, vector_store_id=store.id, limit=1, order="asc")
    assert [file.attributes for file in listed.data] == [{"kind": "c"}]
    assert listed.has_more
    kind_d: ComparisonFilter = {"type": "eq", "key": "kind", "value": "d"}
    hits = await openai_client.vector_stores.search(store.id, query="dough", filters=kind_d)
    assert [hit.file_id for hit in hits.data] == [second]

    third = await upload(openai_client, "e.txt", LIGHTHOUSE)
    pending = await batches.create(store.id, file_ids=[third])
    cancelled = await batches.cancel(pending.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    counts = cancelled.file_counts
    assert counts.in_progress == 0
    assert counts.cancelled + counts.completed == counts.total == 1


async def test_bad_input_names_the_field(openai_client: AsyncOpenAI, rest_url: str) -> None:
    file = await upload(openai_client, "a.txt", RECIPE)
    store = await openai_client.vector_stores.create()
    stores = openai_client.vector_stores
    creates: list[tuple[dict[str, Any], str]] = [
        ({"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days"),
        ({"chunking_strategy": {"type": "static"}}, "chunking_strategy"),
        (
            {
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101},
                }
            },
            "chunking_strategy.static",
        ),
        ({"file_ids": [file] * 501}, "file_ids"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"extra_body": {"colour": "red"}}, "colour"),
    ]
    for fields, param in creates:
        with pytest.raises(openai.BadRequestError) as bad:
            await stores.create(**fields)
        assert bad.value.param == param, (fields, bad.value.message)
    searches: list[tuple[dict[str, Any], str]] = [
        ({"query": ""}, "query"),
        ({"query": "x", "max_num_results": 51}, "max_num_results"),
        (
            {"query": "x", "ranking_options": {"score_threshold": 1.5}},
            "ranking_options.score_threshold",
        ),
        ({"query": "x", "filters": {"type": "eq", "key": "a"}}, "filters"),
    ]
    for fields, param in searches:
        with pytest.raises(openai.BadRequestError) as bad:
            await stores.search(store.id, **fields)
        assert bad.value.param == param, (fields, bad.value.message)
    with pytest.raises(openai.BadRequestError) as too_many:
        await stores.file_batches.create(store.id, file_ids=[file] * 2001)
    assert too_many.value.param == "file_ids"
    with pytest.raises(openai.BadRequestError) as neither:
        await stores.file_batches.create(store.id)
    assert neither.value.param == "file_ids"
    with pytest.raises(openai.BadRequestError) as attributes:
        await stores.files.create(
            vector_store_id=store.id, file_id=file, attributes={f"k{i}": 1 for i in range(17)}
        )
    assert attributes.value.param == "attributes"
    with pytest.raises(openai.BadRequestError) as status:
        await stores.files.list(store.id, filter="done")  # type: ignore[arg-type]
    assert status.value.param == "filter"
    with pytest.raises(openai.NotFoundError):
        await stores.create(file_ids=["file-missing"])
    headers = {"authorization": f"Bearer {openai_client.api_key}"}
    async with httpx.AsyncClient(headers=headers) as plain:
        await stores.files.create(vector_store_id=store.id, file_id=file)
        no_attributes = await plain.post(
            f"{rest_url}/vector_stores/{store.id}/files/{file}", json={}
        )
        not_json = await plain.post(f"{rest_url}/vector_stores", content=b"{oops")
    assert no_attributes.status_code == 400
    assert no_attributes.json()["error"]["param"] == "attributes"
    assert not_json.status_code == 400
    assert [s.id for s in (await stores.list()).data] == [store.id]


async def test_another_projects_stores_read_as_unknown(
    openai_client: AsyncOpenAI, other_openai: AsyncOpenAI
) -> None:
    mine = await upload(openai_client, "mine.txt", LIGHTHOUSE)
    store = await openai_client.vector_stores.create(name="mine", file_ids=[mine])
    batch = await openai_client.vector_stores.file_batches.create(
        store.id, file_ids=[await upload(openai_client, "b.txt", GARDEN)]
    )
    theirs = await upload(other_openai, "theirs.txt", RECIPE)
    their_store = await other_openai.vector_stores.create()
    stores, files, batches = (
        other_openai.vector_stores,
        other_openai.vector_stores.files,
        other_openai.vector_stores.file_batches,
    )
    for call in (
        stores.retrieve(store.id),
        stores.update(store.id, name="x"),
        stores.delete(store.id),
        stores.search(store.id, query="lamp"),
        stores.create(file_ids=[mine]),
        files.create(vector_store_id=store.id, file_id=theirs),
        files.create(vector_store_id=their_store.id, file_id=mine),
        files.list(store.id),
        files.retrieve(mine, vector_store_id=store.id),
        files.update(mine, vector_store_id=store.id, attributes={"a": "b"}),
        files.delete(mine, vector_store_id=store.id),
        files.content(mine, vector_store_id=store.id),
        batches.create(store.id, file_ids=[theirs]),
        batches.create(their_store.id, file_ids=[mine]),
        batches.retrieve(batch.id, vector_store_id=store.id),
        batches.cancel(batch.id, vector_store_id=store.id),
        batches.list_files(batch.id, vector_store_id=store.id),
        batches.retrieve(batch.id, vector_store_id=their_store.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert [s.id for s in (await stores.list()).data] == [their_store.id]
    # A batch belongs to its store: named under another store of the same project, it is unknown.
    other_store = await openai_client.vector_stores.create()
    with pytest.raises(openai.NotFoundError):
        await openai_client.vector_stores.file_batches.retrieve(
            batch.id, vector_store_id=other_store.id
        )
    # Nothing the other project tried changed the store.
    done = await until_ingested(openai_client, store.id)
    assert (done.name, done.file_counts.completed) == ("mine", 2)


async def test_a_files_content_is_the_text_ingestion_read(openai_client: AsyncOpenAI) -> None:
    text = "\n".join(f"Line {i}: the tide table for day {i} of the season." for i in range(200))
    store = await openai_client.vector_stores.create()
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 30}}
    added = await openai_client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("tides.txt", text.encode()),
        chunking_strategy=small,  # type: ignore[arg-type]
        poll_interval_ms=POLL_MS,
    )
    assert added.status == "completed"
    # The file was cut into many overlapping chunks (a hit is one of them) ...
    hits = await openai_client.vector_stores.search(store.id, query="day 117", max_num_results=1)
    assert "day 117 " in hits.data[0].content[0].text
    assert len(hits.data[0].content[0].text) < len(text) // 10
    # ... which its content puts back together.
    pages = openai_client.vector_stores.files.content(added.id, vector_store_id=store.id)
    assert "".join([part.text or "" async for part in pages]) == text
