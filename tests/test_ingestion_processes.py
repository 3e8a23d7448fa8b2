"""Ingestion on real worker processes: a worker killed mid-file hands it over, and the file
ends with exactly one attempt's chunks."""

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from engine.files.chunking import chunk_text
from tests.graphql import GraphQLClient
from tests.processes import http_url, server, worker
from tests.vector_stores import new_store, store_files, wait_for_store

pytestmark = pytest.mark.slow
LEASE = 1.5
# Big enough that extracting, chunking and storing take a while on any machine.
PARAGRAPH = "The quick brown fox jumps over the lazy dog near the riverbank at dawn. "
TEXT = "\n\n".join(f"Section {i}. " + PARAGRAPH * 8 for i in range(12_000))


@pytest.fixture
async def cluster(mongodb_uri: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    database = f"threadline_{request.node.name[:40]}"
    with server(mongodb_uri, database, tmp_path, rate_limit="100000/second") as live:
        headers = {"Authorization": live.payload["authorization"]}
        async with httpx.AsyncClient(base_url=http_url(live), headers=headers, timeout=30) as http:
            yield database, GraphQLClient(http)


async def wait_until(check: Any, what: str, timeout: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


@pytest.mark.timeout(600)
async def test_sigkill_mid_ingestion_another_worker_finishes_the_file(
    mongodb_uri: str, tmp_path: Path, cluster: Any
) -> None:
    database, gql = cluster
    file = await gql.upload("big.txt", TEXT.encode())
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    chunks = mongo[database]["vector_store_chunks"]
    try:
        with worker(mongodb_uri, database, tmp_path, "first", run_lease_seconds=LEASE) as first:
            store = await new_store(gql, fileIds=[file["id"]])

            async def storing() -> bool:
                return await chunks.count_documents({"vector_store_id": store["id"]}) > 0

            await wait_until(storing, "the first worker never stored a chunk")
            os.kill(first.pid, signal.SIGSTOP)  # frozen at once: what it left is now fixed
            left = await chunks.count_documents({"vector_store_id": store["id"]})
            assert (await store_files(gql, store["id"]))[0]["status"] == "IN_PROGRESS"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        with worker(mongodb_uri, database, tmp_path, "second", run_lease_seconds=LEASE):
            done = await wait_for_store(gql, store["id"], timeout=300)
        assert done["fileCounts"]["completed"] == 1, done["fileCounts"]
        stored = await chunks.find({"vector_store_id": store["id"]}).to_list()
        expected = chunk_text(TEXT)
        assert 0 < left < len(expected)  # the kill came halfway through storing
        entry = await mongo[database]["vector_store_files"].find_one(
            {"vector_store_id": store["id"]}
        )
        assert entry is not None
        assert {chunk["attempt"] for chunk in stored} == {entry["first_attempt"] + 2}
        assert sorted(chunk["index"] for chunk in stored) == list(range(len(expected)))
        assert [c["text"] for c in sorted(stored, key=lambda c: c["index"])] == [
            c.text for c in expected
        ]
    finally:
        await mongo.close()
