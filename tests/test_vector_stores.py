"""Vector stores: ingestion on the workers, search, batches, removal, expiry, isolation."""

import asyncio
import io
from datetime import timedelta
from typing import Any

import docx
import pptx
import pytest
from fastapi import FastAPI

from models import vector_stores as stores_db
from models.base import utcnow
from models.lease import Lease
from models.vector_store import (
    ChunkDocument,
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
)
from tests.graphql import GraphQLClient, ProjectClient
from tests.test_extraction import pdf_bytes
from tests.vector_stores import (
    ADD_FILES,
    SEARCH,
    STORE,
    new_store,
    store_files,
    wait_for_store,
)

LIGHTHOUSE = (
    "The lighthouse keeper logs the fog signal hours every night.\n"
    "Its lamp burns paraffin and turns once every twelve seconds."
)
GARDEN = "Tomatoes need six hours of sun; water the roots, not the leaves, in the morning."
RECIPE = "Knead the dough for ten minutes, then let it rise until doubled in size."


async def held_entry(store_id: str, file_id: str, **fields: Any) -> VectorStoreFileDocument:
    """A file's entry in a store as a worker leaves it mid-ingestion, written here: in
    progress, leased by no worker of this session (so none takes it)."""
    store = await VectorStoreDocument.get(store_id)
    assert store is not None
    lease = Lease(owner="elsewhere", expires_at=utcnow() + timedelta(hours=1))
    values = {"lease": lease, "attempt": 1, **fields}
    entry = VectorStoreFileDocument(
        project_id=store.project_id, vector_store_id=store_id, file_id=file_id, **values
    )
    return await entry.insert()


async def test_files_are_ingested_and_searchable(gql: GraphQLClient) -> None:
    light = await gql.upload("lighthouse.txt", LIGHTHOUSE.encode())
    garden = await gql.upload("garden.md", GARDEN.encode())
    store = await new_store(gql, name="notes", fileIds=[light["id"], garden["id"]])
    assert store["name"] == "notes"
    assert store["fileCounts"]["total"] == 2
    assert (await wait_for_store(gql, store["id"]))["status"] == "COMPLETED"
    # Read again: a store's document and its files' counts are read one after the other.
    done = (await gql(STORE, id=store["id"]))["vectorStore"]
    assert done["fileCounts"] == {
        "inProgress": 0,
        "completed": 2,
        "cancelled": 0,
        "failed": 0,
        "total": 2,
    }
    assert done["usageBytes"] == len(LIGHTHOUSE.encode()) + len(GARDEN.encode())
    files = await store_files(gql, store["id"])
    assert {file["id"] for file in files} == {light["id"], garden["id"]}
    assert files[0]["chunkingStrategy"] == {
        "type": "STATIC",
        "static": {"maxChunkSizeTokens": 800, "chunkOverlapTokens": 400},
    }
    hits = (await gql(SEARCH, id=store["id"], q="how often does the lamp turn"))[
        "searchVectorStore"
    ]
    assert hits[0]["fileId"] == light["id"]
    assert hits[0]["filename"] == "lighthouse.txt"
    assert "twelve seconds" in hits[0]["content"]
    assert 0 < hits[0]["score"] <= 1
    assert all(hit["fileId"] != light["id"] for hit in hits[1:])
    none = await gql(SEARCH, id=store["id"], q="zebra quantum saxophone")
    assert none["searchVectorStore"] == []


async def test_search_input_is_checked(gql: GraphQLClient) -> None:
    store = await new_store(gql)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"q": ""}, "query"),
        ({"q": "x", "max": 0}, "maxNumResults"),
        ({"q": "x", "max": 51}, "maxNumResults"),
        ({"q": "x", "options": {"scoreThreshold": 1.5}}, "scoreThreshold"),
        ({"q": "x", "filters": {"type": "eq", "key": "a"}}, "filters"),
    ]
    for variables, expected in cases:
        error = await gql.error(SEARCH, id=store["id"], **variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert expected in error["message"], error


async def test_filters_and_threshold(gql: GraphQLClient) -> None:
    first = await gql.upload("a.txt", RECIPE.encode())
    second = await gql.upload("b.txt", ("Sourdough: " + RECIPE).encode())
    store = await new_store(gql)
    await gql(ADD_FILES, id=store["id"], fileIds=[first["id"]], attributes={"year": 2023})
    await gql(ADD_FILES, id=store["id"], fileIds=[second["id"]], attributes={"year": 2025})
    await wait_for_store(gql, store["id"])
    recent = {"type": "gte", "key": "year", "value": 2024}
    hits = (await gql(SEARCH, id=store["id"], q="knead dough", filters=recent))["searchVectorStore"]
    assert [hit["fileId"] for hit in hits] == [second["id"]]
    assert hits[0]["attributes"] == {"year": 2025}
    strict = await gql(SEARCH, id=store["id"], q="knead dough", options={"scoreThreshold": 1})
    assert all(hit["score"] >= 1 for hit in strict["searchVectorStore"])


async def test_unreadable_files_fail_with_openai_codes(gql: GraphQLClient) -> None:
    binary = await gql.upload("tool.exe", b"MZ\x90\x00" + bytes(range(256)))
    broken = await gql.upload("report.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    store = await new_store(gql, fileIds=[binary["id"], broken["id"]])
    done = await wait_for_store(gql, store["id"])
    assert done["fileCounts"]["failed"] == 2
    errors = {file["id"]: file["lastError"] for file in await store_files(gql, store["id"])}
    assert errors[binary["id"]]["code"] == "UNSUPPORTED_FILE"
    assert errors[broken["id"]]["code"] == "INVALID_FILE"
    assert all(error["message"] for error in errors.values())
    failed = await store_files(gql, store["id"], "FAILED")
    assert len(failed) == 2


async def test_a_file_added_again_is_not_touched_by_its_removed_entrys_worker(
    gql: GraphQLClient,
) -> None:
    """A file removed from a store while a worker ingests it, then added again: the worker
    finds its entry gone and drops its attempt's chunks. Those are never the new entry's,
    whose attempts are numbered past the removed one's."""
    light = await gql.upload("lighthouse.txt", LIGHTHOUSE.encode())
    store = await new_store(gql, fileIds=[light["id"]])
    await wait_for_store(gql, store["id"])
    removed = await VectorStoreFileDocument.find_one({"vector_store_id": store["id"]})
    assert removed is not None
    remove = (
        "mutation($s: ID!, $f: ID!) { removeVectorStoreFile(vectorStoreId: $s, fileId: $f) { id } }"
    )
    await gql(remove, s=store["id"], f=light["id"])
    await gql(ADD_FILES, id=store["id"], fileIds=[light["id"]])
    await wait_for_store(gql, store["id"])
    added = await VectorStoreFileDocument.find_one({"vector_store_id": store["id"]})
    assert added is not None
    assert added.first_attempt >= removed.attempt
    await stores_db.drop_chunks(removed, "this")  # what the removed entry's worker does
    hits = await gql(SEARCH, id=store["id"], q="lighthouse lamp paraffin")
    assert [hit["fileId"] for hit in hits["searchVectorStore"]][:1] == [light["id"]]


async def test_remove_and_delete(gql: GraphQLClient) -> None:
    light = await gql.upload("lighthouse.txt", LIGHTHOUSE.encode())
    garden = await gql.upload("garden.txt", GARDEN.encode())
    store = await new_store(gql, fileIds=[light["id"], garden["id"]])
    await wait_for_store(gql, store["id"])
    removed = await gql(
        "mutation($s: ID!, $f: ID!) { removeVectorStoreFile(vectorStoreId: $s, fileId: $f) "
        "{ id deleted } }",
        s=store["id"],
        f=light["id"],
    )
    assert removed["removeVectorStoreFile"] == {"id": light["id"], "deleted": True}
    hits = await gql(SEARCH, id=store["id"], q="lighthouse lamp paraffin")
    assert hits["searchVectorStore"] == []
    after = await gql(f'{{ vectorStore(id: "{store["id"]}") {{ usageBytes }} }}')
    assert after["vectorStore"]["usageBytes"] == len(GARDEN.encode())
    # Deleting the file itself takes it out of every store.
    await gql("mutation($id: ID!) { deleteFile(id: $id) { id } }", id=garden["id"])
    assert await store_files(gql, store["id"]) == []
    assert await ChunkDocument.find({"vector_store_id": store["id"]}).count() == 0
    deleted = await gql(
        "mutation($id: ID!) { deleteVectorStore(id: $id) { id deleted } }", id=store["id"]
    )
    assert deleted["deleteVectorStore"]["deleted"] is True
    gone = await gql("query($id: ID!) { vectorStore(id: $id) { id } }", id=store["id"])
    assert gone["vectorStore"] is None


async def test_batch_counts_and_cancel(gql: GraphQLClient) -> None:
    uploaded = [
        await gql.upload(f"n{i}.txt", f"note number {i} {GARDEN}".encode()) for i in range(6)
    ]
    store = await new_store(gql)
    batch = (await gql(ADD_FILES, id=store["id"], fileIds=[f["id"] for f in uploaded]))[
        "addVectorStoreFiles"
    ]
    assert batch["fileCounts"]["total"] == 6
    cancelled = await gql(
        "mutation($id: ID!) { cancelVectorStoreFileBatch(id: $id) { id status "
        "fileCounts { inProgress completed cancelled total } } }",
        id=batch["id"],
    )
    counts = cancelled["cancelVectorStoreFileBatch"]["fileCounts"]
    assert cancelled["cancelVectorStoreFileBatch"]["status"] == "CANCELLED"
    assert counts["inProgress"] == 0
    assert counts["completed"] + counts["cancelled"] == 6
    done = await wait_for_store(gql, store["id"])
    assert done["fileCounts"]["completed"] == counts["completed"]  # nothing completes later


async def test_expired_store(gql: GraphQLClient) -> None:
    store = await new_store(gql, expiresAfter={"days": 1})
    assert store["expiresAt"] is not None
    past = utcnow() - timedelta(seconds=1)
    await VectorStoreDocument.get_pymongo_collection().update_one(
        {"_id": store["id"]}, {"$set": {"expires_at": past}}
    )
    deadline = asyncio.get_running_loop().time() + 30
    while (await wait_for_store(gql, store["id"]))["status"] != "EXPIRED":
        assert asyncio.get_running_loop().time() < deadline, "the store never expired"
        await asyncio.sleep(0.1)
    error = await gql.error(SEARCH, id=store["id"], q="anything")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "expired" in error["message"]


async def test_bad_input(gql: GraphQLClient) -> None:
    file = await gql.upload("a.txt", b"text")
    store = await new_store(gql)
    for fields, expected in [
        ({"fileIds": ["file-missing"]}, "NOT_FOUND"),
        ({"expiresAfter": {"days": 0}}, "BAD_USER_INPUT"),
        ({"chunkingStrategy": {"type": "STATIC"}}, "BAD_USER_INPUT"),
        (
            {"chunkingStrategy": {"type": "STATIC", "static": {"maxChunkSizeTokens": 99}}},
            "BAD_USER_INPUT",
        ),
        (
            {
                "chunkingStrategy": {
                    "type": "STATIC",
                    "static": {"maxChunkSizeTokens": 200, "chunkOverlapTokens": 101},
                }
            },
            "BAD_USER_INPUT",
        ),
        ({"fileIds": [file["id"]] * 501}, "BAD_USER_INPUT"),
    ]:
        error = await gql.error(
            "mutation($input: CreateVectorStoreInput) { createVectorStore(input: $input) { id } }",
            input=fields,
        )
        assert error["extensions"]["code"] == expected, (fields, error)
    too_many = await gql.error(ADD_FILES, id=store["id"], fileIds=[file["id"]] * 2001)
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"
    attributes = await gql.error(
        ADD_FILES, id=store["id"], fileIds=[file["id"]], attributes={f"k{i}": 1 for i in range(17)}
    )
    assert attributes["extensions"]["code"] == "BAD_USER_INPUT"
    assert await VectorStoreDocument.find_all().count() == 1


async def test_another_projects_stores_and_files(gql: GraphQLClient, other: ProjectClient) -> None:
    mine = await gql.upload("mine.txt", LIGHTHOUSE.encode())
    store = await new_store(gql, fileIds=[mine["id"]])
    theirs = await other.upload("theirs.txt", GARDEN.encode())
    seen = await other("query($id: ID!) { vectorStore(id: $id) { id } }", id=store["id"])
    assert seen["vectorStore"] is None
    assert (await other("{ vectorStores { nodes { id } } }"))["vectorStores"]["nodes"] == []
    for error in [
        await other.error(SEARCH, id=store["id"], q="lamp"),
        await other.error(ADD_FILES, id=store["id"], fileIds=[theirs["id"]]),
        await other.error(
            "mutation($id: ID!) { deleteVectorStore(id: $id) { id } }", id=store["id"]
        ),
        # Their store cannot take my file.
        await other.error(
            "mutation($input: CreateVectorStoreInput) { createVectorStore(input: $input) { id } }",
            input={"fileIds": [mine["id"]]},
        ),
    ]:
        assert error["extensions"]["code"] == "NOT_FOUND", error


BIG_TEXT = "\n\n".join(f"Paragraph {i}. {GARDEN} {RECIPE}" for i in range(20_000))


async def wait_until_claimed(store_id: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while not await VectorStoreFileDocument.find_one(
        {"vector_store_id": store_id, "lease": {"$ne": None}}
    ):
        assert asyncio.get_running_loop().time() < deadline, "ingestion never started"
        await asyncio.sleep(0.01)


async def wait_until_nothing_left(app: FastAPI, store_id: str) -> None:
    """Until the ingestion worker let go, and no chunk of the store is left."""
    deadline = asyncio.get_running_loop().time() + 120
    while (
        app.state.engine.ingestion.running
        or await ChunkDocument.find({"vector_store_id": store_id}).count()
    ):
        assert asyncio.get_running_loop().time() < deadline, "chunks of a deleted store remain"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("deleted", ["store", "file"])
async def test_deleting_while_ingesting_leaves_nothing(
    app: FastAPI, gql: GraphQLClient, deleted: str
) -> None:
    file = await gql.upload("big.txt", BIG_TEXT.encode())
    store = await new_store(gql, fileIds=[file["id"]])
    await wait_until_claimed(store["id"])
    if deleted == "store":
        await gql("mutation($id: ID!) { deleteVectorStore(id: $id) { id } }", id=store["id"])
    else:
        await gql("mutation($id: ID!) { deleteFile(id: $id) { id } }", id=file["id"])
    await wait_until_nothing_left(app, store["id"])
    assert await VectorStoreFileDocument.find({"vector_store_id": store["id"]}).count() == 0
    if deleted == "file":
        assert (await wait_for_store(gql, store["id"]))["fileCounts"]["total"] == 0


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pptx_bytes(text: str) -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = text
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


async def test_every_office_and_web_format_is_searchable(gql: GraphQLClient) -> None:
    """Uploaded, ingested by the workers and found, each by words only it contains."""
    made = {
        "report.pdf": pdf_bytes(["Quarterly turbines output rose sharply."]),
        "memo.docx": docx_bytes("The cafeteria reopens on Thursday."),
        "deck.pptx": pptx_bytes("Roadmap: kayaks before canoes"),
        "page.html": b"<html><script>var hidden = 1;</script><p>Visit the planetarium</p></html>",
        "data.csv": b"city,population\nReykjavik,139875\n",
        "notes.json": b'{"volcano": "Hekla", "erupted": 2000}',
        "script.py": b"def orbit_period(radius):\n    return radius ** 1.5\n",
    }
    uploaded = {name: (await gql.upload(name, data))["id"] for name, data in made.items()}
    store = await new_store(gql, fileIds=list(uploaded.values()))
    done = await wait_for_store(gql, store["id"])
    assert done["fileCounts"]["completed"] == len(made), await store_files(gql, store["id"])
    for name, query in [
        ("report.pdf", "turbines output"),
        ("memo.docx", "cafeteria Thursday"),
        ("deck.pptx", "kayaks canoes"),
        ("page.html", "planetarium"),
        ("data.csv", "Reykjavik population"),
        ("notes.json", "volcano Hekla"),
        ("script.py", "orbit period radius"),
    ]:
        hits = (await gql(SEARCH, id=store["id"], q=query))["searchVectorStore"]
        assert hits, f"nothing found for {query!r}"
        assert hits[0]["fileId"] == uploaded[name], (query, hits)
    hidden = await gql(SEARCH, id=store["id"], q="hidden var")
    assert hidden["searchVectorStore"] == []  # a page's scripts are not its text


async def test_file_counts_see_a_completing_file_exactly_once(gql: GraphQLClient) -> None:
    """Counts read while files complete: each file is in progress or completed, never in
    neither (a store read `completed` with its last file in no count) nor in both."""
    store = await new_store(gql)
    reads = 0
    for trial in range(100):
        document = await held_entry(store["id"], f"file-{trial}")
        completing = asyncio.create_task(stores_db.complete_file(document, usage_bytes=1))
        while not completing.done():
            counts = await stores_db.file_counts(store["id"])
            reads += 1
            assert (counts.completed, counts.total) in {(trial, trial + 1), (trial + 1, trial + 1)}
            await asyncio.sleep(0)
        assert await completing
    assert reads >= 100
    assert await stores_db.file_counts(store["id"]) == stores_db.FileCounts(completed=100)


async def test_edits_keep_what_ingestion_writes_meanwhile(gql: GraphQLClient) -> None:
    """Renaming a store, or changing a file's attributes, while files complete: each edit
    writes only what it changes, so no completion's usage, revision or status is written over
    with what the edit had read."""
    store = await new_store(gql)
    rename = (
        "mutation($id: ID!, $name: String) { updateVectorStore(id: $id, input: {name: $name}) "
        "{ id } }"
    )
    retag = (
        "mutation($s: ID!, $f: ID!, $a: JSON!) { updateVectorStoreFileAttributes("
        "vectorStoreId: $s, fileId: $f, attributes: $a) { id } }"
    )
    for trial in range(40):
        document = await held_entry(store["id"], f"file-{trial}")
        await asyncio.gather(
            stores_db.complete_file(document, usage_bytes=1),
            gql(rename, id=store["id"], name=f"name {trial}"),
            gql(retag, s=store["id"], f=document.file_id, a={"trial": trial}),
        )
        stored = await VectorStoreDocument.get(store["id"])
        assert stored is not None
        assert stored.name == f"name {trial}"
        assert stored.usage_bytes == trial + 1
        edited = await VectorStoreFileDocument.get(document.id)
        assert edited is not None
        assert edited.attributes == {"trial": trial}
        assert (edited.status, edited.lease) == ("completed", None)


async def test_the_same_files_added_at_once_are_added_once(gql: GraphQLClient) -> None:
    """Several requests adding the same files to a store at the same moment: each succeeds,
    and each file is in the store once."""
    ids = [(await gql.upload(f"note{i}.txt", GARDEN.encode()))["id"] for i in range(3)]
    for _ in range(10):
        store = await new_store(gql)
        batches = await asyncio.gather(
            *(gql(ADD_FILES, id=store["id"], fileIds=ids) for _ in range(4))
        )
        added = [batch["addVectorStoreFiles"]["fileCounts"]["total"] for batch in batches]
        assert sum(added) == len(ids)  # each file counted in the batch that added it
        counted = (await gql(STORE, id=store["id"]))["vectorStore"]["fileCounts"]
        assert counted["total"] == len(ids)


async def test_a_batch_read_while_it_is_cancelled_never_reads_completed(
    gql: GraphQLClient,
) -> None:
    """Cancelling marks the batch, then its files: a read between the two, or one that reads
    the batch before and its files after, still says IN_PROGRESS or CANCELLED."""
    store = await new_store(gql)
    project_id = (await VectorStoreDocument.get(store["id"])).project_id  # type: ignore[union-attr]
    read = "query($id: ID!) { vectorStoreFileBatch(id: $id) { status fileCounts { inProgress } } }"
    reads = 0
    for trial in range(60):
        batch = VectorStoreFileBatchDocument(project_id=project_id, vector_store_id=store["id"])
        await batch.insert()
        for index in range(2):
            await held_entry(store["id"], f"file-{trial}-{index}", batch_id=batch.id)
        cancelling = asyncio.create_task(stores_db.cancel_batch(batch))
        while not cancelling.done():
            found = (await gql(read, id=batch.id))["vectorStoreFileBatch"]
            reads += 1
            assert found["status"] != "COMPLETED", found
            assert found["status"] == "CANCELLED" or found["fileCounts"]["inProgress"] == 2
        await cancelling
        assert (await gql(read, id=batch.id))["vectorStoreFileBatch"]["status"] == "CANCELLED"
    assert reads >= 60  # at least one read while each cancellation was under way


async def test_a_file_that_stopped_its_workers_too_often_ends_failed(gql: GraphQLClient) -> None:
    """Counted from the entry's first attempt: MAX_ATTEMPTS claims whose workers all died end
    the file `failed`; fewer leave it for the next claim."""
    store = await new_store(gql)
    later = utcnow() + timedelta(hours=2)  # when the entries' leases have run out
    first = 1_764_000_000_000_000  # where add_files starts an entry's numbers
    entries = {
        claims: await held_entry(
            store["id"], f"file-claimed-{claims}", first_attempt=first, attempt=first + claims
        )
        for claims in (stores_db.MAX_ATTEMPTS - 1, stores_db.MAX_ATTEMPTS)
    }
    await stores_db.give_up_stale(later)
    tired = await VectorStoreFileDocument.get(entries[stores_db.MAX_ATTEMPTS].id)
    assert tired is not None
    assert tired.status == "failed"
    assert tired.last_error is not None
    assert tired.last_error.code == "server_error"
    again = await VectorStoreFileDocument.get(entries[stores_db.MAX_ATTEMPTS - 1].id)
    assert again is not None
    assert again.status == "in_progress"
