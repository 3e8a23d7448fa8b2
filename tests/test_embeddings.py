"""Dense retrieval: with THREADLINE_EMBEDDINGS_MODEL, chunks are embedded at ingestion and
searches fuse BM25's ranking with the vectors' (tests/openai_server.py's `/v1/embeddings`,
over real HTTP); without it, nothing changes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from app.main import create_app
from app.settings import Settings
from engine.files.chunking import chunk_text
from engine.files.embeddings import BATCH, Embedder
from engine.files.store_index import RRF_K
from models.vector_store import ChunkDocument, VectorStoreFileDocument
from tests.graphql import GraphQLClient, bearer
from tests.openai_server import EMBEDDING_DIMENSIONS, OpenAICompatibleServer
from tests.runs import new_assistant, start_run, wait_for
from tests.vector_stores import ADD_FILES, SEARCH, new_store, store_files, wait_for_store

# No word in common with the query "doctor"; the test server embeds "physician" as "doctor".
CLINIC = "The physician sees patients every Tuesday morning at the village clinic."
GARDEN = "Tomatoes need six hours of sun; water the roots, not the leaves, in the morning."
RECIPE = "Knead the dough for ten minutes, then let it rise until doubled in size."
MODEL = "bow-a"
SEARCH_RESULTS = """query($id: ID!) { run(id: $id) { steps(order: ASC) { nodes {
  stepDetails { ... on ToolCallsDetails { toolCalls {
    ... on FileSearchToolCall { fileSearch { results { fileId score content } } } } } } } } } }"""
# First in one ranking only, as a share of the best fused score (first in both).
ONE_RANKING_FIRST = (1 / (RRF_K + 1)) / (2 / (RRF_K + 1))


@asynccontextmanager
async def embedding_app(
    app: FastAPI, dev_key: str, model: str = MODEL, **settings: Any
) -> AsyncIterator[GraphQLClient]:
    """The real app with an embeddings model, on the session's database (`settings` as
    Settings holds them: not validated again). Its engine ingests
    and runs: the session app's workers (whose settings have no model) are paused meanwhile,
    so none of them takes a file or a run of the test."""
    session = app.state.engine
    await session.ingestion.stop()
    await session.workers.stop(0)
    update = {"embeddings_model": model, **settings}
    application = create_app(app.state.settings.model_copy(update=update))
    application.state.authenticator = app.state.authenticator
    application.state.dev_key = app.state.dev_key
    engine = application.state.engine
    engine.start()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://threadline.test", headers=bearer(dev_key)
        ) as http:
            yield GraphQLClient(http)
    finally:
        await engine.stop()
        session.workers.start()
        session.ingestion.start()


async def store_of(client: GraphQLClient, *texts: tuple[str, str]) -> tuple[str, list[str]]:
    """A store of the named texts, ingested; its id and its files' ids."""
    file_ids = [(await client.upload(name, text.encode()))["id"] for name, text in texts]
    store = await new_store(client, fileIds=file_ids)
    done = await wait_for_store(client, store["id"])
    assert done["fileCounts"]["completed"] == len(texts), done
    return store["id"], file_ids


async def search(client: GraphQLClient, store_id: str, query: str, **given: Any) -> Any:
    return (await client(SEARCH, id=store_id, q=query, **given))["searchVectorStore"]


async def test_chunks_are_embedded_in_batches(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    text = " ".join(f"Line {i} of the ledger." for i in range(1500))
    expected = chunk_text(text, 100, 0)
    assert len(expected) > BATCH
    async with embedding_app(app, dev_key, embeddings_api_key=SecretStr("sk-embed")) as client:
        file = await client.upload("ledger.txt", text.encode())
        store = await new_store(client)
        chunking = {
            "type": "STATIC",
            "static": {"maxChunkSizeTokens": 100, "chunkOverlapTokens": 0},
        }
        await client(ADD_FILES, id=store["id"], fileIds=[file["id"]], chunking=chunking)
        await wait_for_store(client, store["id"])
    chunks = await ChunkDocument.find({"vector_store_id": store["id"]}).sort("index").to_list()
    assert [chunk.text for chunk in chunks] == [chunk.text for chunk in expected]
    assert all(len(chunk.embedding or []) == EMBEDDING_DIMENSIONS for chunk in chunks)
    record = await VectorStoreFileDocument.find_one({"vector_store_id": store["id"]})
    assert record is not None
    assert record.embedding_model == MODEL
    requests = embeddings_endpoint.embedding_requests
    assert [len(request.body["input"]) for request in requests] == [
        len(expected[start : start + BATCH]) for start in range(0, len(expected), BATCH)
    ]
    assert all(request.body["model"] == MODEL for request in requests)
    assert all(request.body["encoding_format"] == "float" for request in requests)
    assert all(request.headers["authorization"] == "Bearer sk-embed" for request in requests)


async def test_a_synonym_is_found_by_the_dense_side_only(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    async with embedding_app(app, dev_key) as client:
        texts = [("clinic.txt", CLINIC), ("garden.txt", GARDEN), ("recipe.txt", RECIPE)]
        store_id, (clinic, _, _) = await store_of(client, *texts)
        embeddings_endpoint.embedding_requests.clear()
        hits = await search(client, store_id, "doctor")
        # One query, embedded once.
        assert [request.body["input"] for request in embeddings_endpoint.embedding_requests] == [
            ["doctor"]
        ]
        assert [hit["fileId"] for hit in hits] == [clinic]
        assert hits[0]["score"] == pytest.approx(ONE_RANKING_FIRST)
        # First in both rankings: the best fused score there is.
        both = await search(client, store_id, "village clinic physician")
        assert both[0]["fileId"] == clinic
        assert both[0]["score"] == pytest.approx(1.0)
        assert all(0 < hit["score"] <= 1 for hit in both)
        above = await search(client, store_id, "doctor", options={"scoreThreshold": 0.6})
        assert above == []
        excluded = {"type": "eq", "key": "kind", "value": "none"}
        assert await search(client, store_id, "doctor", filters=excluded) == []
    # The same store, searched lexically: no word of "doctor" is in it.
    assert await search(gql, store_id, "doctor") == []


async def test_file_search_in_a_run_uses_the_vectors(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    async with embedding_app(app, dev_key) as client:
        store_id, (clinic, _) = await store_of(
            client, ("clinic.txt", CLINIC), ("garden.txt", GARDEN)
        )
        resources = {"fileSearch": {"vectorStoreIds": [store_id]}}
        assistant = await new_assistant(
            client, tools=[{"type": "FILE_SEARCH"}], toolResources=resources
        )
        run = await start_run(client, assistant, "/search doctor")
        ended = await wait_for(client, run["id"])
        assert ended["status"] == "COMPLETED", ended
        steps = (await client(SEARCH_RESULTS, id=run["id"]))["run"]["steps"]["nodes"]
    results = steps[0]["stepDetails"]["toolCalls"][0]["fileSearch"]["results"]
    assert [result["fileId"] for result in results] == [clinic]
    assert results[0]["score"] == pytest.approx(ONE_RANKING_FIRST)
    assert "physician" in results[0]["content"]


async def test_an_embeddings_failure_fails_the_file(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    embeddings_endpoint.embeddings_fail_with = [500] * 10
    async with embedding_app(app, dev_key) as client:
        file = await client.upload("clinic.txt", CLINIC.encode())
        store = await new_store(client, fileIds=[file["id"]])
        done = await wait_for_store(client, store["id"])
        (record,) = await store_files(client, store["id"])
    assert done["fileCounts"]["failed"] == 1, done
    assert record["status"] == "FAILED"
    assert record["lastError"]["code"] == "SERVER_ERROR"
    assert record["lastError"]["message"].startswith("The embeddings endpoint failed: bow-a:")
    assert len(embeddings_endpoint.embedding_requests) == 4  # the first, and the SDK's 3 retries
    assert await ChunkDocument.find({"vector_store_id": store["id"]}).count() == 0


async def test_a_transient_embeddings_error_is_retried(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    embeddings_endpoint.embeddings_fail_with = [503, 429]
    async with embedding_app(app, dev_key) as client:
        store_id, (clinic,) = await store_of(client, ("clinic.txt", CLINIC))
        assert [hit["fileId"] for hit in await search(client, store_id, "doctor")] == [clinic]


async def test_search_is_lexical_when_the_query_cannot_be_embedded(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    async with embedding_app(app, dev_key) as client:
        store_id, (clinic, _) = await store_of(
            client, ("clinic.txt", CLINIC), ("garden.txt", GARDEN)
        )
        embeddings_endpoint.embedding_requests.clear()
        embeddings_endpoint.embeddings_fail_with = [500] * 4
        hits = await search(client, store_id, "village clinic")
        lexical = await search(gql, store_id, "village clinic")
    assert len(embeddings_endpoint.embedding_requests) == 4
    assert hits == lexical
    assert [hit["fileId"] for hit in hits] == [clinic]


async def test_vectors_of_another_model_are_not_compared(
    app: FastAPI, dev_key: str, gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    async with embedding_app(app, dev_key, model="bow-a") as client:
        store_id, (clinic, _) = await store_of(
            client, ("clinic.txt", CLINIC), ("garden.txt", GARDEN)
        )
    embeddings_endpoint.embedding_requests.clear()
    async with embedding_app(app, dev_key, model="bow-b") as client:
        assert await search(client, store_id, "doctor") == []
        hits = await search(client, store_id, "village clinic")
        lexical = await search(gql, store_id, "village clinic")
        # Then a file embedded by the new model: only its chunks have a dense side.
        other = await client.upload("clinic2.txt", ("A medic: " + CLINIC).encode())
        await client(ADD_FILES, id=store_id, fileIds=[other["id"]])
        await wait_for_store(client, store_id)
        dense = await search(client, store_id, "doctor")
    assert hits == lexical
    assert [hit["fileId"] for hit in hits] == [clinic]
    # No store had vectors of bow-b: no query was embedded until the new file's chunks.
    inputs = [request.body["input"] for request in embeddings_endpoint.embedding_requests]
    assert inputs == [["A medic: " + CLINIC], ["doctor"]]
    assert [hit["fileId"] for hit in dense] == [other["id"]]


async def test_without_a_model_nothing_is_embedded(
    gql: GraphQLClient, embeddings_endpoint: OpenAICompatibleServer
) -> None:
    store_id, (clinic, _) = await store_of(gql, ("clinic.txt", CLINIC), ("garden.txt", GARDEN))
    hits = await search(gql, store_id, "village clinic")
    assert [hit["fileId"] for hit in hits] == [clinic]
    assert 0 < hits[0]["score"] < 1  # BM25's share of the best possible, as before
    assert await search(gql, store_id, "doctor") == []
    assert embeddings_endpoint.embedding_requests == []
    chunks = await ChunkDocument.find({"vector_store_id": store_id}).to_list()
    assert chunks
    assert all(chunk.embedding is None for chunk in chunks)
    records = await VectorStoreFileDocument.find({"vector_store_id": store_id}).to_list()
    assert all(record.embedding_model is None for record in records)


def test_a_model_needs_an_endpoint() -> None:
    with pytest.raises(ValidationError, match="THREADLINE_EMBEDDINGS_BASE_URL"):
        Settings(embeddings_model="m", openai_base_url=None, embeddings_base_url=None)
    assert Embedder.from_settings(Settings(openai_base_url="http://x/v1")) is None


async def test_the_chat_key_goes_to_the_chat_endpoint_only(
    embeddings_endpoint: OpenAICompatibleServer,
) -> None:
    url = embeddings_endpoint.base_url
    same = Settings(embeddings_model=MODEL, openai_base_url=url, openai_api_key="sk-chat")
    elsewhere = same.model_copy(
        update={"openai_base_url": "http://chat.invalid/v1", "embeddings_base_url": url}
    )
    for settings, key in ((same, "sk-chat"), (elsewhere, "unused")):
        embedder = Embedder.from_settings(settings)
        assert embedder is not None
        try:
            [vector] = await embedder.embed(["a car"])
        finally:
            await embedder.aclose()
        assert len(vector) == EMBEDDING_DIMENSIONS
        assert embeddings_endpoint.embedding_requests[-1].headers["authorization"] == (
            f"Bearer {key}"
        )
