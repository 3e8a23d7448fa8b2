"""Client tokens: minted by a project key for one end user, used as a browser would — what
they open, what they refuse (expired, tampered, another project's, another subject's, an
assistant not granted, administration), over HTTP and websockets."""

import asyncio
import base64
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from app.client_tokens import AUDIENCE, ISSUER, ClientTokens
from app.keys import TOKEN_SECRET_FILE, read_secret, token_secret
from app.settings import Settings
from models.errors import Unauthenticated
from tests.apps import app_with
from tests.graphql import GraphQLClient, ProjectClient, bearer
from tests.runs import CANCEL, SUBMIT, function_tool, new_assistant, wait_for
from tests.servers import InProcessServer
from tests.test_websockets import closed_with
from tests.tokens import MINT, as_client, mint
from tests.ws import LEGACY_WS, TRANSPORT_WS, connect, subscribe

ALICE, BOB = "user-alice", "user-bob"
THREAD = "mutation($input: CreateThreadInput) { createThread(input: $input) { id owner } }"
MESSAGE = """mutation($t: ID!, $text: String!) {
  createMessage(threadId: $t, input: {content: $text}) { id } }"""
RUN = """mutation($t: ID!, $a: ID!) {
  createRun(threadId: $t, input: {assistantId: $a}) { id status } }"""
THREAD_AND_RUN = """mutation($input: CreateThreadAndRunInput!) {
  createThreadAndRun(input: $input) { id threadId status } }"""
READ = """query($t: ID!, $r: ID!, $a: ID!) {
  thread(id: $t) { id owner messages(order: ASC) { nodes { id role text } }
    runs { nodes { id assistant { id name } steps { nodes { id } } } } }
  run(id: $r) { id status thread { id } }
  assistant(id: $a) { id name } }"""
LIST = "{ threads { nodes { id owner } } }"


def code(body: dict[str, Any]) -> str:
    value: str = body["errors"][0]["extensions"]["code"]
    return value


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


@pytest.fixture
async def assistant(gql: GraphQLClient) -> str:
    return await new_assistant(gql, name="helper", tools=[function_tool("get_time")])


async def test_a_project_key_mints_a_signed_short_lived_token(
    gql: GraphQLClient, assistant: str
) -> None:
    data = await gql(MINT, input={"subject": ALICE, "assistantIds": [assistant, assistant]})
    minted = data["createClientToken"]
    assert minted["subject"] == ALICE
    assert minted["assistantIds"] == [assistant]
    expires = datetime.fromisoformat(minted["expiresAt"]).timestamp()
    assert 900 - 5 <= expires - time.time() <= 900  # 15 minutes by default
    header = jwt.get_unverified_header(minted["token"])
    assert header["alg"] == "HS256"
    claims = claims_of(minted["token"])
    assert claims["sub"] == ALICE
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == ISSUER
    assert claims["project"] == "proj_default"
    assert claims["assistants"] == [assistant]
    assert claims["exp"] == int(expires)
    day = await gql(MINT, input={"subject": ALICE, "assistantIds": [], "ttlSeconds": 86400})
    assert day["createClientToken"]["token"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ttlSeconds": 0}, "BAD_USER_INPUT"),
        ({"ttlSeconds": 86401}, "BAD_USER_INPUT"),
        ({"subject": "  "}, "BAD_USER_INPUT"),
        ({"subject": "x" * 257}, "BAD_USER_INPUT"),
        ({"assistantIds": [f"asst_{i}" for i in range(33)]}, "BAD_USER_INPUT"),
        ({"assistantIds": ["asst_unknown"]}, "NOT_FOUND"),
    ],
)
async def test_minting_checks_its_input(
    gql: GraphQLClient, assistant: str, fields: dict[str, Any], expected: str
) -> None:
    body = await gql.execute(MINT, input={"subject": ALICE, "assistantIds": [assistant], **fields})
    assert code(body) == expected, body


async def test_a_client_token_chats_in_its_subjects_threads(
    app: FastAPI, gql: GraphQLClient, assistant: str
) -> None:
    # The backend's own threads: one for another user, one for nobody in particular.
    bobs = (await gql(THREAD, input={"owner": BOB}))["createThread"]
    await gql(THREAD)
    async with as_client(app, await mint(gql, ALICE, [assistant])) as alice:
        thread = (await alice(THREAD, input={"metadata": {"topic": "tea"}}))["createThread"]
        assert thread["owner"] == ALICE
        await alice(MESSAGE, t=thread["id"], text="hello")
        run = (await alice(RUN, t=thread["id"], a=assistant))["createRun"]
        assert (await wait_for(alice, run["id"]))["status"] == "COMPLETED"
        seen = await alice(READ, t=thread["id"], r=run["id"], a=assistant)
        made = (await alice(THREAD_AND_RUN, input={"assistantId": assistant, "thread": {}}))[
            "createThreadAndRun"
        ]
        listed = await alice(LIST)
        nodes = await alice("query($id: ID!) { a: node(id: $id) { id } }", id=thread["id"])
    assert [m["role"] for m in seen["thread"]["messages"]["nodes"]] == ["USER", "ASSISTANT"]
    assert seen["thread"]["messages"]["nodes"][1]["text"] == "You said: hello"
    [listed_run] = seen["thread"]["runs"]["nodes"]
    assert listed_run["assistant"] == {"id": assistant, "name": "helper"}
    assert listed_run["steps"]["nodes"]
    assert seen["run"]["thread"] == {"id": thread["id"]}
    assert seen["assistant"] == {"id": assistant, "name": "helper"}
    assert nodes["a"] == {"id": thread["id"]}
    # Its own threads only, newest first; the backend's stay out of it.
    assert listed["threads"]["nodes"] == [
        {"id": made["threadId"], "owner": ALICE},
        {"id": thread["id"], "owner": ALICE},
    ]
    assert bobs["id"] not in str(listed)
    # The backend sees whose each one is.
    owned = await gql("query($o: String) { threads(owner: $o) { nodes { id } } }", o=ALICE)
    assert [node["id"] for node in owned["threads"]["nodes"]] == [made["threadId"], thread["id"]]


async def test_a_browser_runs_client_side_tools_and_cancels(
    app: FastAPI, gql: GraphQLClient, assistant: str
) -> None:
    async with as_client(app, await mint(gql, ALICE, [assistant])) as alice:
        thread = {"messages": [{"content": "/call get_time {}"}]}
        run = (await alice(THREAD_AND_RUN, input={"assistantId": assistant, "thread": thread}))[
            "createThreadAndRun"
        ]
        waiting = await wait_for(alice, run["id"], {"REQUIRES_ACTION"})
        [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
        await alice(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "9"}])
        assert (await wait_for(alice, run["id"]))["status"] == "COMPLETED"
        await alice(MESSAGE, t=run["threadId"], text="/call get_time {}")
        again = (await alice(RUN, t=run["threadId"], a=assistant))["createRun"]
        await wait_for(alice, again["id"], {"REQUIRES_ACTION"})
        cancelled = await alice(CANCEL, runId=again["id"])
    assert cancelled["cancelRun"]["status"] == "CANCELLED"


async def test_an_assistant_not_granted_reads_like_an_unknown_one(
    app: FastAPI, gql: GraphQLClient, assistant: str
) -> None:
    secret = await new_assistant(gql, name="secret", tools=[function_tool("get_time")])
    unknown = "asst_" + "0" * 24
    async with as_client(app, await mint(gql, ALICE, [assistant])) as alice:
        thread = (await alice(THREAD))["createThread"]["id"]
        answers = []
        for assistant_id in (secret, unknown):
            answers.append(
                [
                    await alice.execute(
                        "query($a: ID!) { assistant(id: $a) { id } }", a=assistant_id
                    ),
                    await alice.execute(RUN, t=thread, a=assistant_id),
                    await alice.execute(
                        THREAD_AND_RUN, input={"assistantId": assistant_id, "thread": {}}
                    ),
                ]
            )
        # The backend runs the other assistant on Alice's thread: she sees the run, not whose.
        await gql(MESSAGE, t=thread, text="/call get_time {}")
        run = (await gql(RUN, t=thread, a=secret))["createRun"]
        waiting = await wait_for(alice, run["id"], {"REQUIRES_ACTION"})
        [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
        seen = await alice("query($r: ID!) { run(id: $r) { id assistant { id } } }", r=run["id"])
        submitted = await alice.execute(
            SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "9"}]
        )
        cancelled = await alice.execute(CANCEL, runId=run["id"])
    assert str(answers[0]).replace(secret, "<id>") == str(answers[1]).replace(unknown, "<id>")
    assert answers[0][0]["data"] == {"assistant": None}
    assert code(answers[0][1]) == code(answers[0][2]) == "NOT_FOUND"
    assert seen["run"] == {"id": run["id"], "assistant": None}
    assert code(submitted) == code(cancelled) == "NOT_FOUND"
    assert (await wait_for(gql, run["id"], {"REQUIRES_ACTION"}))["status"] == "REQUIRES_ACTION"


async def test_an_expired_token_is_refused(
    app: FastAPI, gql: GraphQLClient, assistant: str
) -> None:
    token = await mint(gql, ALICE, [assistant], ttlSeconds=2)  # at least 1 s from now
    expires = claims_of(token)["exp"]
    async with as_client(app, token) as alice:
        before = await alice.execute(LIST)
        while time.time() < expires:  # the clock passing its expiry, no longer
            await asyncio.sleep(0.02)
        after = await alice.execute(LIST)
    assert "errors" not in before, before
    assert code(after) == "UNAUTHENTICATED"
    assert "expired" in after["errors"][0]["message"]


def _sign(claims: dict[str, Any], secret: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


async def test_tampered_and_forged_tokens_are_unauthenticated(
    app: FastAPI, gql: GraphQLClient, assistant: str, settings: Settings
) -> None:
    token = await mint(gql, ALICE, [assistant])
    header, payload, signature = token.split(".")
    claims = claims_of(token)
    secret = read_secret(Path(settings.state_dir) / TOKEN_SECRET_FILE)

    def encoded(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    none_header = encoded({"alg": "none", "typ": "JWT"})
    changed = "AA" if signature[:2] != "AA" else "BB"
    forged = {
        "another subject": ".".join([header, encoded({**claims, "sub": BOB}), signature]),
        "more assistants": ".".join(
            [header, encoded({**claims, "assistants": [assistant, "asst_x"]}), signature]
        ),
        "signature changed": f"{header}.{payload}.{changed}{signature[2:]}",
        "alg none": f"{none_header}.{payload}.",
        "another secret": _sign(claims, "another-secret-" + "x" * 40),
        "HS512 with the secret": _sign(claims, secret, "HS512"),
        "another audience": _sign({**claims, "aud": "someone-else"}, secret),
        "another issuer": _sign({**claims, "iss": "someone-else"}, secret),
        "no expiry": _sign({k: v for k, v in claims.items() if k != "exp"}, secret),
        "assistants not a list": _sign({**claims, "assistants": assistant}, secret),
        "expired": _sign({**claims, "exp": int(time.time()) - 1}, secret),
        "not yet issued": _sign({**claims, "iat": int(time.time()) + 600}, secret),
    }
    async with as_client(app, token) as genuine:
        assert "errors" not in await genuine.execute(LIST)
    for name, value in forged.items():
        async with as_client(app, value) as client:
            body = await client.execute(LIST)
        assert code(body) == "UNAUTHENTICATED", name


async def test_another_projects_token_sees_nothing_of_this_project(
    app: FastAPI, gql: GraphQLClient, other: ProjectClient, assistant: str
) -> None:
    theirs = await new_assistant(other, name="theirs")
    # The same subject name in both projects: still two different end users.
    thread = (await gql(THREAD, input={"owner": ALICE}))["createThread"]["id"]
    minted = await gql.execute(MINT, input={"subject": ALICE, "assistantIds": [theirs]})
    assert code(minted) == "NOT_FOUND"
    async with as_client(app, await mint(other, ALICE, [theirs])) as elsewhere:
        listed = await elsewhere(LIST)
        read = await elsewhere("query($t: ID!) { thread(id: $t) { id } }", t=thread)
        wrote = await elsewhere.execute(MESSAGE, t=thread, text="hi")
        ran = await elsewhere.execute(RUN, t=thread, a=theirs)
        granted_elsewhere = await elsewhere.execute(
            "query($a: ID!) { assistant(id: $a) { id } }", a=assistant
        )
    assert listed["threads"]["nodes"] == []
    assert read == {"thread": None}
    assert code(wrote) == code(ran) == "NOT_FOUND"
    assert granted_elsewhere["data"] == {"assistant": None}


ADMINISTRATION = [
    'mutation { createClientToken(input: {subject: "x", assistantIds: []}) { token } }',
    "{ projects { nodes { id } } }",
    'mutation { createProject(name: "x") { id } }',
    'mutation { createApiKey(projectId: "proj_default") { key } }',
    'mutation { revokeApiKey(id: "key_x") { id } }',
    'mutation { updateProject(id: "proj_default", input: {name: "x"}) { id } }',
    '{ apiKeys(projectId: "proj_default") { nodes { id } } }',
    "{ assistants { nodes { id } } }",
    "{ files { nodes { id } } }",
    "{ vectorStores { nodes { id } } }",
    'mutation { createAssistant(input: {model: "threadline/scripted"}) { id } }',
    'mutation { createVectorStore(input: {name: "x"}) { id } }',
    # Allowed fields do not carry a forbidden one past the check, through a fragment either.
    "query { threads { nodes { id } } ...F } fragment F on Query { files { nodes { id } } }",
    "query { __typename ... on Query { assistants { nodes { id } } } }",
]
# Every operation of the document counts, whichever one is named to run.
TWO_OPERATIONS = "query A { threads { nodes { id } } } query B { files { nodes { id } } }"


async def test_a_client_token_cannot_administer(
    app: FastAPI, gql: GraphQLClient, admin: GraphQLClient, assistant: str
) -> None:
    async with as_client(app, await mint(gql, ALICE, [assistant])) as alice:
        minting = await alice.execute(MINT, input={"subject": BOB, "assistantIds": [assistant]})
        refused = [await alice.execute(query) for query in ADMINISTRATION]
        named = await alice.http.post(
            "/graphql", json={"query": TWO_OPERATIONS, "operationName": "A"}
        )
    assert code(named.json()) == "FORBIDDEN"
    assert code(minting) == "FORBIDDEN"
    for query, body in zip(ADMINISTRATION, refused, strict=True):
        assert code(body) == "FORBIDDEN", (query, body)
        assert body.get("data") is None, query
    # The admin key is for projects and keys: it mints none either.
    by_admin = await admin.execute(MINT, input={"subject": BOB, "assistantIds": []})
    assert code(by_admin) == "FORBIDDEN"
    assert (await gql("{ assistants { nodes { name } } }"))["assistants"]["nodes"] == [
        {"name": "helper"}
    ]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (THREAD, {"input": {"owner": BOB}}),
        (THREAD, {"input": {"toolResources": {"fileSearch": {"vectorStoreIds": ["vs_x"]}}}}),
        (
            THREAD,
            {"input": {"messages": [{"content": "x", "attachments": [{"fileId": "file-x"}]}]}},
        ),
        (
            THREAD,
            {
                "input": {
                    "messages": [
                        {
                            "contentParts": [
                                {"type": "IMAGE_FILE", "imageFile": {"fileId": "file-x"}}
                            ]
                        }
                    ]
                }
            },
        ),
        (THREAD_AND_RUN, {"input": {"assistantId": "$a", "model": "gpt-4o"}}),
        (THREAD_AND_RUN, {"input": {"assistantId": "$a", "instructions": "obey me"}}),
        (THREAD_AND_RUN, {"input": {"assistantId": "$a", "tools": [{"type": "CODE_INTERPRETER"}]}}),
        (THREAD_AND_RUN, {"input": {"assistantId": "$a", "thread": {"owner": BOB}}}),
        (
            'mutation($t: ID!) { createMessage(threadId: $t, input: {content: "x", '
            'attachments: [{fileId: "file-x"}]}) { id } }',
            {"t": "$t"},
        ),
    ],
)
async def test_what_a_client_token_may_not_set(
    app: FastAPI, gql: GraphQLClient, assistant: str, query: str, variables: dict[str, Any]
) -> None:
    async with as_client(app, await mint(gql, ALICE, [assistant])) as alice:
        thread = (await alice(THREAD))["createThread"]["id"]
        given = json.loads(json.dumps(variables).replace('"$a"', json.dumps(assistant)))
        given = json.loads(json.dumps(given).replace('"$t"', json.dumps(thread)))
        body = await alice.execute(query, **given)
        listed = await alice(LIST)
    assert code(body) == "FORBIDDEN", body
    assert [node["id"] for node in listed["threads"]["nodes"]] == [thread]  # nothing made


async def test_a_client_token_downloads_only_what_runs_made_in_its_threads(
    app: FastAPI, gql: GraphQLClient
) -> None:
    """Project files read as unknown ids; a chart code_interpreter drew in the subject's own
    thread downloads (so the page can show it), and another subject's reads as unknown."""
    file = await gql.upload("notes.txt", b"project notes")
    coder = await new_assistant(gql, tools=[{"type": "CODE_INTERPRETER"}])
    chart = "/python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])"
    async with as_client(app, await mint(gql, ALICE, [coder])) as alice:
        project_file = await alice.http.get(f"/files/{file['id']}/content")
        node = await alice("query($f: ID!) { node(id: $f) { id } }", f=file["id"])
        thread = (await alice(THREAD))["createThread"]["id"]
        await alice(MESSAGE, t=thread, text=chart)
        run = (await alice(RUN, t=thread, a=coder))["createRun"]
        assert (await wait_for(alice, run["id"], timeout=60))["status"] == "COMPLETED"
        answer = await alice(
            """query($t: ID!) { thread(id: $t) { messages(order: DESC, first: 1) { nodes {
              content { ... on ImageFileContent { imageFile { fileId } } } } } } }""",
            t=thread,
        )
        (image,) = [
            part["imageFile"]["fileId"]
            for part in answer["thread"]["messages"]["nodes"][0]["content"]
            if part
        ]
        drawn = await alice.http.get(f"/files/{image}/content")
    async with as_client(app, await mint(gql, BOB, [coder])) as bob:
        not_bobs = await bob.http.get(f"/files/{image}/content")
    assert project_file.status_code == 404
    assert project_file.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert node == {"node": None}
    assert drawn.status_code == 200
    assert drawn.content.startswith(b"\x89PNG")
    assert not_bobs.status_code == 404
    assert (await gql.http.get(f"/files/{image}/content")).status_code == 200  # the backend's


async def test_rate_limits_count_per_subject(
    app: FastAPI, dev_key: str, gql: GraphQLClient, assistant: str
) -> None:
    first, second = await mint(gql, ALICE, [assistant]), await mint(gql, ALICE, [assistant])
    bob = await mint(gql, BOB, [assistant])
    async with app_with(app, dev_key, client_rate_limit="3/minute") as client:

        async def ask(token: str) -> dict[str, Any]:
            response = await client.http.post(
                "/graphql", json={"query": LIST}, headers=bearer(token)
            )
            body: dict[str, Any] = response.json()
            return body

        served = [await ask(first), await ask(second), await ask(first)]
        limited = await ask(second)  # Alice's fourth, whichever token she uses
        bobs = await ask(bob)
        backend = await client.execute(LIST)  # the project key has its own budget
    assert all("errors" not in body for body in served), served
    assert code(limited) == "RATE_LIMITED"
    assert "subject" in limited["errors"][0]["message"]
    assert "errors" not in bobs
    assert "errors" not in backend


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_an_expiring_token_closes_its_websocket(
    app: FastAPI, server: InProcessServer, gql: GraphQLClient, assistant: str, protocol: str
) -> None:
    thread = {"owner": ALICE, "messages": [{"content": "hi"}]}
    run = (await gql(THREAD_AND_RUN, input={"assistantId": assistant, "thread": thread}))[
        "createThreadAndRun"
    ]
    await wait_for(gql, run["id"])
    token = await mint(gql, ALICE, [assistant], ttlSeconds=4)  # at least 3 s from now
    expires = claims_of(token)["exp"]
    payload = {"authorization": f"Bearer {token}"}
    async with connect(server.ws_url, protocol, payload=payload) as socket:
        # Its own run's events: the whole history, then the end.
        query = "subscription($r: ID!) { runEvents(runId: $r) { event } }"
        events = [event async for event in subscribe(socket, query, r=run["id"])]
        assert events[-1]["runEvents"]["event"] == "thread.run.completed"
        # A thread with nothing happening: only the expiry ends it.
        query = "subscription($t: ID!) { threadEvents(threadId: $t, afterSequence: 99) { event } }"
        await socket.send(
            json.dumps(
                {
                    "type": "start" if protocol == LEGACY_WS else "subscribe",
                    "id": "idle",
                    "payload": {"query": query, "variables": {"t": run["threadId"]}},
                }
            )
        )
        assert await closed_with(socket) == 4403
    assert time.time() >= expires


async def test_the_token_secret_is_kept_readable_by_its_owner_only(
    app: FastAPI, settings: Settings, anonymous_http: httpx.AsyncClient
) -> None:
    path = Path(settings.state_dir) / TOKEN_SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(read_secret(path)) >= 32


def test_a_set_token_secret_is_used_and_never_written(tmp_path: Path) -> None:
    secret = "s" * 40
    settings = Settings(state_dir=tmp_path, token_secret=secret)
    assert token_secret(settings) == secret
    assert not (tmp_path / TOKEN_SECRET_FILE).exists()
    # The secret a token was signed with is the one that verifies it.
    token, _ = ClientTokens(secret).mint("proj_x", ALICE, [])
    assert ClientTokens(token_secret(settings)).verify(token).subject == ALICE
    with pytest.raises(Unauthenticated):
        ClientTokens("t" * 40).verify(token)
