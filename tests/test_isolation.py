"""Cross-project isolation: every operation, given another project's ids, reads and writes
exactly as it would with an unknown id, and leaves the other project's objects untouched.
The same within a project for client tokens: another subject's objects, and assistants not
granted, read like unknown ids; administrative and project-wide operations are FORBIDDEN.

To cover a new domain (runs, run steps, files, vector stores, subscriptions…), add its objects
to `make_objects` and its operations to CASES: `$id` is the other project's object of `kind`.
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from models.ids import new_id
from tests.graphql import GraphQLClient, ProjectClient
from tests.runs import wait_for
from tests.tokens import as_client, mint
from tests.ws import Live, SubscriptionError, connect, subscribe

MODEL = "threadline/scripted"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # which of the other project's objects `$id` is
    query: str


CASES = [
    Case("node", "assistant", "query($id: ID!) { node(id: $id) { id } }"),
    Case("node-thread", "thread", "query($id: ID!) { node(id: $id) { id } }"),
    Case("node-message", "message", "query($id: ID!) { node(id: $id) { id } }"),
    Case("assistant", "assistant", "query($id: ID!) { assistant(id: $id) { id name } }"),
    Case(
        "thread", "thread", "query($id: ID!) { thread(id: $id) { id messages { nodes { id } } } }"
    ),
    Case("message", "message", "query($id: ID!) { message(id: $id) { id text } }"),
    Case(
        "updateAssistant",
        "assistant",
        'mutation($id: ID!) { updateAssistant(id: $id, input: {name: "x"}) { id } }',
    ),
    Case("deleteAssistant", "assistant", "mutation($id: ID!) { deleteAssistant(id: $id) { id } }"),
    Case(
        "updateThread",
        "thread",
        'mutation($id: ID!) { updateThread(id: $id, input: {metadata: {a: "b"}}) { id } }',
    ),
    Case("deleteThread", "thread", "mutation($id: ID!) { deleteThread(id: $id) { id } }"),
    Case(
        "createMessage",
        "thread",
        'mutation($id: ID!) { createMessage(threadId: $id, input: {content: "hi"}) { id } }',
    ),
    Case(
        "updateMessage",
        "message",
        'mutation($id: ID!) { updateMessage(id: $id, input: {metadata: {a: "b"}}) { id } }',
    ),
    Case("deleteMessage", "message", "mutation($id: ID!) { deleteMessage(id: $id) { id } }"),
    Case("node-run", "run", "query($id: ID!) { node(id: $id) { id } }"),
    Case("node-step", "step", "query($id: ID!) { node(id: $id) { id } }"),
    Case("run", "run", "query($id: ID!) { run(id: $id) { id steps { nodes { id } } } }"),
    Case("runStep", "step", "query($id: ID!) { runStep(id: $id) { id } }"),
    Case(
        "updateRun",
        "run",
        'mutation($id: ID!) { updateRun(id: $id, input: {metadata: {a: "b"}}) { id } }',
    ),
    Case("cancelRun", "run", "mutation($id: ID!) { cancelRun(runId: $id) { id } }"),
    Case(
        "submitToolOutputs",
        "run",
        'mutation($id: ID!) { submitToolOutputs(runId: $id, toolOutputs: [{toolCallId: "call_x", '
        'output: "x"}]) { id } }',
    ),
    Case(
        "createRun-on-their-thread",
        "thread",
        'mutation($id: ID!) { createRun(threadId: $id, input: {assistantId: "asst_none"}) { id } }',
    ),
    Case(
        "createThreadAndRun-with-their-assistant",
        "assistant",
        "mutation($id: ID!) { createThreadAndRun(input: {assistantId: $id}) { id } }",
    ),
    Case("node-file", "file", "query($id: ID!) { node(id: $id) { id } }"),
    Case("file", "file", "query($id: ID!) { file(id: $id) { id filename } }"),
    Case("deleteFile", "file", "mutation($id: ID!) { deleteFile(id: $id) { id } }"),
    Case(
        "createVectorStore-with-their-file",
        "file",
        "mutation($id: ID!) { createVectorStore(input: {fileIds: [$id]}) { id } }",
    ),
    Case(
        "attachment-of-their-file",
        "file",
        'mutation($id: ID!) { createThread(input: {messages: [{content: "x", '
        "attachments: [{fileId: $id, tools: [FILE_SEARCH]}]}]}) { id } }",
    ),
    Case(
        "image-of-their-file",
        "file",
        "mutation($id: ID!) { createThread(input: {messages: [{contentParts: "
        "[{type: IMAGE_FILE, imageFile: {fileId: $id}}]}]}) { id } }",
    ),
    Case(
        "code-interpreter-resource-of-their-file",
        "file",
        f'mutation($id: ID!) {{ createAssistant(input: {{model: "{MODEL}", '
        "toolResources: {codeInterpreter: {fileIds: [$id]}}}) { id } }",
    ),
    Case(
        "file-search-resource-of-their-store",
        "vector_store",
        "mutation($id: ID!) { createThread(input: "
        "{toolResources: {fileSearch: {vectorStoreIds: [$id]}}}) { id } }",
    ),
    Case("node-vector-store", "vector_store", "query($id: ID!) { node(id: $id) { id } }"),
    Case(
        "vectorStore",
        "vector_store",
        "query($id: ID!) { vectorStore(id: $id) { id name files { nodes { id } } } }",
    ),
    Case(
        "updateVectorStore",
        "vector_store",
        'mutation($id: ID!) { updateVectorStore(id: $id, input: {name: "x"}) { id } }',
    ),
    Case(
        "deleteVectorStore",
        "vector_store",
        "mutation($id: ID!) { deleteVectorStore(id: $id) { id } }",
    ),
    Case(
        "searchVectorStore",
        "vector_store",
        'query($id: ID!) { searchVectorStore(id: $id, query: "theirs") { fileId content } }',
    ),
    Case(
        "addVectorStoreFiles",
        "vector_store",
        'mutation($id: ID!) { addVectorStoreFiles(vectorStoreId: $id, fileIds: ["file-x"]) '
        "{ id } }",
    ),
    Case(
        "vectorStoreFile",
        "vector_store",
        'query($id: ID!) { vectorStoreFile(vectorStoreId: $id, fileId: "file-x") { id } }',
    ),
    Case(
        "removeVectorStoreFile",
        "vector_store",
        'mutation($id: ID!) { removeVectorStoreFile(vectorStoreId: $id, fileId: "file-x") { id } }',
    ),
    Case(
        "vectorStoreFileBatch",
        "batch",
        "query($id: ID!) { vectorStoreFileBatch(id: $id) { id files { nodes { id } } } }",
    ),
    Case(
        "cancelVectorStoreFileBatch",
        "batch",
        "mutation($id: ID!) { cancelVectorStoreFileBatch(id: $id) { id } }",
    ),
]
# Connections given another project's cursor: only the caller's own objects come back.
CONNECTIONS = [
    "query($c: String!) { assistants(after: $c) { nodes { id } } }",
    "query($c: String!) { assistants(before: $c, last: 5) { nodes { id } } }",
    "query($t: ID!, $c: String!) { thread(id: $t) { messages(after: $c) { nodes { id } } } }",
]
SNAPSHOT = """query($a: ID!, $t: ID!, $m: ID!, $r: ID!, $f: ID!, $v: ID!, $b: ID!) {
  assistant(id: $a) { id name metadata }
  thread(id: $t) { id metadata messages { nodes { id text metadata } } runs { nodes { id } } }
  message(id: $m) { id text }
  run(id: $r) { id status metadata steps { nodes { id status } } }
  file(id: $f) { id filename bytes }
  vectorStore(id: $v) { id name metadata files { nodes { id status } } }
  vectorStoreFileBatch(id: $b) { id status } }"""


async def make_objects(client: GraphQLClient, label: str) -> dict[str, str]:
    assistant = await client(
        f'mutation {{ createAssistant(input: {{model: "{MODEL}", name: "{label}"}}) {{ id }} }}'
    )
    thread = await client(
        f'mutation {{ createThread(input: {{messages: [{{content: "{label}"}}]}}) '
        "{ id messages { edges { cursor node { id } } } } }"
    )
    edge = thread["createThread"]["messages"]["edges"][0]
    listed = await client("{ assistants { edges { cursor } } }")
    run = await client(
        "mutation($t: ID!, $a: ID!) { createRun(threadId: $t, input: {assistantId: $a}) { id } }",
        t=thread["createThread"]["id"],
        a=assistant["createAssistant"]["id"],
    )
    run_id = run["createRun"]["id"]
    done = await wait_for(client, run_id)
    assert done["status"] == "COMPLETED"
    steps = await client("query($r: ID!) { run(id: $r) { steps { nodes { id } } } }", r=run_id)
    file = await client.upload(f"{label}.txt", f"{label} knows the secret".encode())
    store = await client(
        "mutation($f: ID!) { createVectorStore(input: {fileIds: [$f]}) { id } }", f=file["id"]
    )
    store_id = store["createVectorStore"]["id"]
    batch = await client(
        "mutation($v: ID!, $f: ID!) { addVectorStoreFiles(vectorStoreId: $v, fileIds: [$f]) "
        "{ id } }",
        v=store_id,
        f=file["id"],
    )
    return {
        "file": file["id"],
        "vector_store": store_id,
        "batch": batch["addVectorStoreFiles"]["id"],
        "run": run_id,
        "step": steps["run"]["steps"]["nodes"][0]["id"],
        "assistant": assistant["createAssistant"]["id"],
        "thread": thread["createThread"]["id"],
        "message": edge["node"]["id"],
        "message_cursor": edge["cursor"],
        "assistant_cursor": listed["assistants"]["edges"][0]["cursor"],
    }


def unknown_like(object_id: str) -> str:
    """An id of the same kind and shape that no project has."""
    prefix = re.match(r"[a-z]+", object_id)
    assert prefix is not None
    return new_id(prefix.group())


def masked(body: dict[str, Any], object_id: str) -> str:
    return str(body).replace(object_id, "<id>")


async def snapshot(client: GraphQLClient, ids: dict[str, str]) -> dict[str, Any]:
    return await client(
        SNAPSHOT,
        a=ids["assistant"],
        t=ids["thread"],
        m=ids["message"],
        r=ids["run"],
        f=ids["file"],
        v=ids["vector_store"],
        b=ids["batch"],
    )


@pytest.fixture
async def theirs(other: ProjectClient) -> dict[str, str]:
    return await make_objects(other, "theirs")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_another_projects_id_reads_like_an_unknown_id(
    case: Case, gql: GraphQLClient, other: ProjectClient, theirs: dict[str, str]
) -> None:
    await make_objects(gql, "mine")
    before = await snapshot(other, theirs)
    foreign_id = theirs[case.kind]
    unknown_id = unknown_like(foreign_id)

    foreign = await gql.execute(case.query, id=foreign_id)
    unknown = await gql.execute(case.query, id=unknown_id)

    assert masked(foreign, foreign_id) == masked(unknown, unknown_id)
    assert "theirs" not in str(foreign)
    if foreign.get("errors"):
        assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    else:
        assert next(iter(foreign["data"].values())) is None
    assert await snapshot(other, theirs) == before


@pytest.mark.parametrize("query", CONNECTIONS)
async def test_connections_list_only_the_callers_objects(
    query: str, gql: GraphQLClient, other: ProjectClient, theirs: dict[str, str]
) -> None:
    mine = await make_objects(gql, "mine")
    for cursor in (theirs["assistant_cursor"], theirs["message_cursor"]):
        body = await gql.execute(query, c=cursor, t=mine["thread"])
        # A cursor of another order (a message's, for assistants) is refused as such.
        for error in body.get("errors", []):
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert not set(theirs.values()) & set(re.findall(r"[a-z]+_[A-Za-z0-9]+", str(body)))
        assert "theirs" not in str(body)


async def test_lists_are_per_project(
    gql: GraphQLClient, other: ProjectClient, theirs: dict[str, str]
) -> None:
    mine = await make_objects(gql, "mine")
    for client, ids in ((gql, mine), (other, theirs)):
        listed = await client("{ assistants(first: 100) { nodes { id } } }")
        assert listed["assistants"]["nodes"] == [{"id": ids["assistant"]}]


async def drain(stream: AsyncIterator[dict[str, Any]]) -> None:
    async for event in stream:
        raise AssertionError(f"streamed another project's event: {event}")


SUBSCRIPTIONS = {
    "run": "subscription($id: ID!) { runEvents(runId: $id) { sequence } }",
    "thread": "subscription($id: ID!) { threadEvents(threadId: $id) { sequence } }",
}


@pytest.mark.parametrize("kind", SUBSCRIPTIONS)
async def test_subscriptions_to_another_projects_objects_stream_nothing(
    kind: str, live: Live, gql: GraphQLClient, theirs: dict[str, str]
) -> None:
    answers = []
    async with connect(live.ws_url, payload=live.payload) as socket:
        for object_id in (theirs[kind], unknown_like(theirs[kind])):
            with pytest.raises(SubscriptionError) as refused:
                await drain(subscribe(socket, SUBSCRIPTIONS[kind], id=object_id))
            answers.append(masked({"errors": refused.value.errors}, object_id))
    assert answers[0] == answers[1]
    assert "NOT_FOUND" in answers[0]


# The subject dimension: within one project, a client token of one end user (Bob) against
# another's (Alice's) thread, messages, runs and steps, an assistant it was not granted, and
# everything administrative or project-wide.
ALICE, BOB = "user-alice", "user-bob"
# What a chat frontend may use; any other root field is FORBIDDEN to a client token.
CHAT_FIELDS = {
    "node",
    "assistant",
    "thread",
    "threads",
    "message",
    "run",
    "runStep",
    "createThread",
    "createThreadAndRun",
    "createMessage",
    "createRun",
    "cancelRun",
    "submitToolOutputs",
}
# Chat operations whose input points at the project's files: FORBIDDEN to a client token too.
REFUSED_INPUTS = {
    "attachment-of-their-file",
    "image-of-their-file",
    "file-search-resource-of-their-store",
}


def root_field(query: str) -> str:
    match = re.search(r"\{\s*(\w+)", query)
    assert match is not None
    return match.group(1)


@pytest.fixture
async def alices(app: FastAPI, gql: GraphQLClient) -> dict[str, str]:
    """The project's objects, with Alice's thread (and its message, run and step) in place of
    the project key's."""
    ids = await make_objects(gql, "theirs")
    async with as_client(app, await mint(gql, ALICE, [ids["assistant"]])) as alice:
        thread = await alice(
            'mutation { createThread(input: {messages: [{content: "theirs"}]}) '
            "{ id messages { edges { cursor node { id } } } } }"
        )
        thread_id = thread["createThread"]["id"]
        run = await alice(
            "mutation($t: ID!, $a: ID!) { createRun(threadId: $t, input: {assistantId: $a}) "
            "{ id } }",
            t=thread_id,
            a=ids["assistant"],
        )
        run_id = run["createRun"]["id"]
        assert (await wait_for(alice, run_id))["status"] == "COMPLETED"
        steps = await alice("query($r: ID!) { run(id: $r) { steps { nodes { id } } } }", r=run_id)
        listed = await alice("{ threads { edges { cursor } } }")
    edge = thread["createThread"]["messages"]["edges"][0]
    return {
        **ids,
        "thread": thread_id,
        "message": edge["node"]["id"],
        "message_cursor": edge["cursor"],
        "thread_cursor": listed["threads"]["edges"][0]["cursor"],
        "run": run_id,
        "step": steps["run"]["steps"]["nodes"][0]["id"],
    }


@pytest.fixture
async def bob(app: FastAPI, gql: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """Bob's client token, granted an assistant of his own."""
    assistant = await gql(f'mutation {{ createAssistant(input: {{model: "{MODEL}"}}) {{ id }} }}')
    token = await mint(gql, BOB, [assistant["createAssistant"]["id"]])
    async with as_client(app, token) as client:
        yield client


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_another_subjects_id_reads_like_an_unknown_id(
    case: Case, gql: GraphQLClient, alices: dict[str, str], bob: GraphQLClient
) -> None:
    before = await snapshot(gql, alices)
    foreign_id = alices[case.kind]
    unknown_id = unknown_like(foreign_id)

    foreign = await bob.execute(case.query, id=foreign_id)
    unknown = await bob.execute(case.query, id=unknown_id)

    assert masked(foreign, foreign_id) == masked(unknown, unknown_id)
    assert "theirs" not in str(foreign)
    if root_field(case.query) not in CHAT_FIELDS or case.name in REFUSED_INPUTS:
        assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN", foreign
    elif foreign.get("errors"):
        assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND", foreign
    else:
        assert next(iter(foreign["data"].values())) is None
    assert await snapshot(gql, alices) == before


async def test_another_subjects_threads_are_not_listed(
    gql: GraphQLClient, alices: dict[str, str], bob: GraphQLClient
) -> None:
    mine = (await bob("mutation { createThread { id } }"))["createThread"]["id"]
    for query, variables in (
        ("{ threads { nodes { id } } }", {}),
        ("query($o: String) { threads(owner: $o) { nodes { id } } }", {"o": ALICE}),
        (
            "query($c: String) { threads(after: $c) { nodes { id } } }",
            {"c": alices["thread_cursor"]},
        ),
        (
            "query($c: String) { threads(before: $c, last: 5) { nodes { id } } }",
            {"c": alices["thread_cursor"]},
        ),
    ):
        body = await bob(query, **variables)
        assert alices["thread"] not in str(body), query
        assert set(re.findall(r"thread_[A-Za-z0-9]+", str(body))) <= {mine}, query


@pytest.mark.parametrize("kind", SUBSCRIPTIONS)
async def test_subscriptions_to_another_subjects_objects_stream_nothing(
    kind: str, live: Live, alices: dict[str, str], bob: GraphQLClient
) -> None:
    answers = []
    payload = {"authorization": bob.http.headers["authorization"]}
    async with connect(live.ws_url, payload=payload) as socket:
        for object_id in (alices[kind], unknown_like(alices[kind])):
            with pytest.raises(SubscriptionError) as refused:
                await drain(subscribe(socket, SUBSCRIPTIONS[kind], id=object_id))
            answers.append(masked({"errors": refused.value.errors}, object_id))
    assert answers[0] == answers[1]
    assert "NOT_FOUND" in answers[0]
