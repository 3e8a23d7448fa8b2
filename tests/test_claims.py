"""Claiming runs: of many workers after the same runs at once, exactly one gets each."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pymongo import MongoClient, monitoring
from pymongo.synchronous.collection import Collection

from app.settings import Settings
from models.run import RunDocument, claim_next, release_lease
from tests.commands import on_reply
from tests.graphql import GraphQLClient
from tests.runs import new_assistant

CLAIMERS = 12
RUNS = 8


async def test_racing_claimers_never_share_a_run(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    # Queued runs of threads that are not there: a claimer here only takes them (the app's own
    # workers, which may take some too, fail them at once).
    made = [
        RunDocument(
            project_id="proj_default",
            thread_id=f"thread_gone{i}",
            assistant_id=assistant,
            model="threadline/scripted",
        )
        for i in range(RUNS)
    ]
    await RunDocument.insert_many(made)

    async def claimer(number: int) -> list[RunDocument]:
        taken = []
        while (run := await claim_next(f"claimer-{number}", 60)) is not None:
            taken.append(run)
        return taken

    claimed = await asyncio.gather(*(claimer(number) for number in range(CLAIMERS)))
    ids = [run.id for taken in claimed for run in taken]
    assert len(ids) == len(set(ids)), "a run was claimed twice"
    for number, taken in enumerate(claimed):
        for run in taken:
            assert run.lease is not None
            assert run.lease.owner == f"claimer-{number}"
            stored = await RunDocument.get(run.id)
            assert stored is not None
            # What the claim returns is the stored run, field for field (not read back).
            assert stored.model_dump() == run.model_dump()
            assert (stored.fence, stored.revision) == (1, 1)
    mine = set(ids)
    await RunDocument.get_pymongo_collection().update_many(
        {"_id": {"$in": list(mine)}},
        {"$set": {"status": "cancelled", "active": False, "lease": None}},
    )


async def test_a_run_changed_after_the_claim_read_it_is_not_taken_stale(
    app: FastAPI, gql: GraphQLClient, settings: Settings
) -> None:
    """The claim returns the run as it read it: a change between that read and the claim's
    update (here its metadata, as `updateRun` writes it) makes the update miss, and the next
    claim takes the run as it is now. The run is the oldest, so claims try it first; other
    tests' runs left queued may be taken meanwhile, and are given back at once."""
    assistant = await new_assistant(gql)
    workers = app.state.engine.workers
    await workers.stop(0)  # only this test's claims take its run
    run = RunDocument(
        project_id="proj_default",
        thread_id="thread_stale_claim",
        assistant_id=assistant,
        model="threadline/scripted",
        created_at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    await run.insert()
    runs: Collection[dict[str, Any]] = MongoClient(settings.mongodb_uri)[settings.database_name][
        "runs"
    ]
    changed: list[str] = []

    def change_once(event: monitoring.CommandSucceededEvent) -> None:
        candidates = event.reply.get("cursor", {}).get("firstBatch", [])
        if event.command_name == "find" and not changed and candidates:
            changed.append(run.id)
            runs.update_one(
                {"_id": run.id}, {"$set": {"metadata": {"k": "v"}}, "$inc": {"revision": 1}}
            )

    try:
        with on_reply(change_once):
            other = await claim_next("claimer-stale", 60)
        assert changed == [run.id]
        if other is not None:
            assert other.id != run.id
            await release_lease(other.id, other.fence)
        claimed = await claim_next("claimer-stale", 60)
        assert claimed is not None
        assert claimed.id == run.id
        assert (claimed.metadata, claimed.fence, claimed.revision) == ({"k": "v"}, 1, 2)
        stored = await RunDocument.get(run.id)
        assert stored is not None
        assert stored.model_dump() == claimed.model_dump()
    finally:
        runs.database.client.close()
        await RunDocument.get_pymongo_collection().update_one(
            {"_id": run.id}, {"$set": {"status": "cancelled", "active": False, "lease": None}}
        )
        workers.start()
