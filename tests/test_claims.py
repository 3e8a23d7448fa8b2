"""Claiming runs: of many workers after the same runs at once, exactly one gets each."""

import asyncio

from models.run import RunDocument, claim_next
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
            assert (stored.fence, stored.lease) == (run.fence, run.lease)
    mine = set(ids)
    await RunDocument.get_pymongo_collection().update_many(
        {"_id": {"$in": list(mine)}},
        {"$set": {"status": "cancelled", "active": False, "lease": None}},
    )
