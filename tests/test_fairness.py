"""Fairness (issue 12): operations in flight per key, across GraphQL and /v1, given back on
every exit; a key's resolvers taking turns; bad keys from one address throttled without
touching good keys.

An operation is held open for real, not by a test-only resolver: a `/v1/files` upload whose
body is still arriving holds its key's slot (the route reads the form after the caller is
admitted), for exactly as long as the test keeps the rest of the body back."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI

from app.fairness import InFlight, Turns
from tests.apps import serving
from tests.graphql import GraphQLClient, ProjectClient, bearer
from tests.servers import until

QUERY = {"query": "{ assistants { nodes { id } } }"}
BOUNDARY = "fairness-boundary"


@pytest.fixture(autouse=True)
def _cleaned_after(gql: GraphQLClient) -> None:
    """`gql` empties the database after each test."""


def operations(app: FastAPI) -> InFlight:
    counts: InFlight = app.state.fairness.operations
    return counts


class HeldUpload:
    """`POST /v1/files` whose body stops half-way until `release()`."""

    def __init__(self, base_url: str, key: str) -> None:
        self.released = asyncio.Event()
        part = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
            f"assistants\r\n--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="held.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        )
        self.head = part.encode() + b"the first half, "
        self.tail = f"then the rest\r\n--{BOUNDARY}--\r\n".encode()
        headers = {
            **bearer(key),
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
            "content-length": str(len(self.head) + len(self.tail)),
        }
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)
        self.task = asyncio.create_task(self.http.post("/v1/files", content=self.body()))

    async def body(self) -> AsyncIterator[bytes]:
        yield self.head
        await self.released.wait()
        yield self.tail

    async def release(self) -> httpx.Response:
        self.released.set()
        return await self.task

    async def abandon(self) -> None:
        """The client goes away mid-body."""
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        await self.http.aclose()


async def test_a_key_at_its_limit_is_refused_on_both_faces_until_one_ends(
    app: FastAPI, dev_key: str, other: ProjectClient
) -> None:
    async with serving(app, max_concurrent_per_key=1) as (changed, server):
        held = HeldUpload(server.base_url, dev_key)
        await until(lambda: operations(changed).total() == 1)
        async with AsyncOpenAI(
            base_url=f"{server.base_url}/v1", api_key=dev_key, max_retries=0
        ) as sdk:
            with pytest.raises(openai.RateLimitError) as refused:
                await sdk.files.list()
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                graphql = (await http.post("/graphql", json=QUERY, headers=bearer(dev_key))).json()
                # Another project's key has its own slots.
                others = await http.post("/graphql", json=QUERY, headers=bearer(other.key))
            uploaded = await held.release()
            await held.http.aclose()
            assert operations(changed).total() == 0
            assert [f.id for f in (await sdk.files.list()).data] == [uploaded.json()["id"]]
    assert refused.value.response.headers["retry-after"] == "1"
    assert refused.value.code == "rate_limit_exceeded"
    assert "THREADLINE_MAX_CONCURRENT_PER_KEY" in refused.value.message
    error = graphql["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": 1}
    assert "at most 1" in error["message"]
    assert others.json()["data"] == {"assistants": {"nodes": []}}
    assert uploaded.status_code == 200, uploaded.text


async def test_a_client_that_goes_away_gives_its_slot_back(app: FastAPI, dev_key: str) -> None:
    async with serving(app, max_concurrent_per_key=1) as (changed, server):
        held = HeldUpload(server.base_url, dev_key)
        await until(lambda: operations(changed).total() == 1)
        await held.abandon()
        await until(lambda: operations(changed).total() == 0)
        async with AsyncOpenAI(
            base_url=f"{server.base_url}/v1", api_key=dev_key, max_retries=0
        ) as sdk:
            assert (await sdk.files.list()).data == []


async def test_graphql_gives_its_slot_back_on_errors_and_timeouts(
    app: FastAPI, dev_key: str
) -> None:
    async with (
        serving(app, max_concurrent_per_key=1, operation_timeout_seconds=1e-6) as (changed, server),
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key)) as http,
    ):
        timed_out = (await http.post("/graphql", json=QUERY)).json()
        assert operations(changed).total() == 0
    async with (
        serving(app, max_concurrent_per_key=1) as (changed, server),
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key)) as http,
    ):
        missing = {"query": 'mutation { deleteThread(id: "thread_nope") { id } }'}
        failed = (await http.post("/graphql", json=missing)).json()
        assert operations(changed).total() == 0
        async with AsyncOpenAI(
            base_url=f"{server.base_url}/v1", api_key=dev_key, max_retries=0
        ) as sdk:
            with pytest.raises(openai.NotFoundError):
                await sdk.files.retrieve("file-nope")
            assert operations(changed).total() == 0
            assert (await sdk.files.list()).data == []  # the one slot is free
    assert timed_out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "took longer than" in timed_out["errors"][0]["message"]
    assert failed["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_graphql_operation_holds_its_keys_slot(app: FastAPI, dev_key: str) -> None:
    """Real slow work: a GraphQL upload of 48 MB takes a while to store, and while it does,
    the key's one slot is taken (the /v1 request is refused) and given back after."""
    content = b"x" * (48 * 1024 * 1024)  # stored in ~0.8 s here: a wide margin
    async with (
        serving(app, max_concurrent_per_key=1) as (changed, server),
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key), timeout=60) as http,
        AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=dev_key, max_retries=0) as sdk,
    ):
        upload = asyncio.create_task(GraphQLClient(http).upload_response("big.txt", content))
        await until(lambda: operations(changed).total() == 1)
        with pytest.raises(openai.RateLimitError):
            await sdk.files.list()
        answer = (await upload).json()
        assert operations(changed).total() == 0
        assert [f.id for f in (await sdk.files.list()).data] == [answer["data"]["uploadFile"]["id"]]


async def test_bad_keys_from_one_address_are_throttled_but_good_keys_still_work(
    app: FastAPI, dev_key: str
) -> None:
    async with (
        serving(app, auth_failure_limit="3/minute") as (_, server),
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        bad = bearer("tl-proj-not-a-key")
        codes = []
        for _ in range(4):
            body = (await http.post("/graphql", json=QUERY, headers=bad)).json()
            codes.append(body["errors"][0]["extensions"]["code"])
        good = (await http.post("/graphql", json=QUERY, headers=bearer(dev_key))).json()
        missing = (await http.post("/graphql", json=QUERY)).json()
        download = await http.get("/files/file-nope/content", headers=bad)
        own_download = await http.get("/files/file-nope/content", headers=bearer(dev_key))
    assert codes == ["UNAUTHENTICATED"] * 3 + ["RATE_LIMITED"]
    assert 1 <= body["errors"][0]["extensions"]["retryAfterSeconds"] <= 60
    assert "failed authentications from this address" in body["errors"][0]["message"]
    assert good["data"] == {"assistants": {"nodes": []}}
    # No key at all guesses nothing: it is not counted, and still told what is missing.
    assert missing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The file download route counts the same bad keys.
    assert download.status_code == 429
    assert own_download.status_code == 404


async def test_bad_keys_over_v1_are_throttled_but_good_keys_still_work(
    app: FastAPI, dev_key: str
) -> None:
    async with (
        serving(app, auth_failure_limit="2/minute") as (_, server),
        AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="sk-wrong", max_retries=0) as wrong,
        AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=dev_key, max_retries=0) as right,
    ):
        for _ in range(2):
            with pytest.raises(openai.AuthenticationError):
                await wrong.files.list()
        with pytest.raises(openai.RateLimitError) as throttled:
            await wrong.files.list()
        assert (await right.files.list()).data == []
    assert "failed authentications from this address" in throttled.value.message
    assert int(throttled.value.response.headers["retry-after"]) >= 1


MINT = "mutation($input: CreateClientTokenInput!) { createClientToken(input: $input) { token } }"
CREATE_THREAD = "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }"
NESTED = {"query": "{ threads { nodes { id messages { nodes { id } } } } }"}


async def test_turns_go_round_the_waiting_projects() -> None:
    """One turn; project a queues three resolvers, then b one: b is served second, not last."""
    turns = Turns(1)
    served: list[str] = []

    async def resolver(project: str) -> None:
        await turns.take(project)
        served.append(project)

    await turns.take("holder")
    queued = []
    for project in ("a", "a", "a", "b"):
        queued.append(asyncio.create_task(resolver(project)))
        await asyncio.sleep(0)  # each queued in this order
    assert list(turns.waiting) == ["a", "b"]
    assert not served
    for _ in range(4):
        turns.give_back()
        await asyncio.sleep(0)
    await asyncio.gather(*queued)
    assert served == ["a", "b", "a", "a"]
    turns.give_back()
    assert (turns.held, turns.waiting) == (0, {})


async def test_a_turn_waited_for_and_cancelled_is_never_held() -> None:
    turns = Turns(1)
    await turns.take("a")
    waiter = asyncio.create_task(turns.take("b"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert turns.waiting == {}
    granted = asyncio.create_task(turns.take("c"))
    await asyncio.sleep(0)
    turns.give_back()
    granted.cancel()  # cancelled after the turn was handed to it: it passes it on
    with pytest.raises(asyncio.CancelledError):
        await granted
    assert (turns.held, turns.waiting) == (0, {})
    unlimited = Turns(0)
    await unlimited.take("a")
    assert unlimited.held == 0


async def test_resolvers_wait_for_a_turn_and_every_project_gets_one(
    app: FastAPI, dev_key: str, gql: GraphQLClient, other: ProjectClient
) -> None:
    """With one turn, held here (as a long read would hold it), the nested reads of a project
    key's query, of an end user's and of another project's all wait, while root fields (bounded
    by the operations in flight) are served; the turn given back, each is served in turn."""
    minted = await gql(MINT, input={"subject": "someone", "assistantIds": []})
    token = minted["createClientToken"]["token"]
    await gql(CREATE_THREAD, input={"owner": "someone"})
    await other(CREATE_THREAD)
    async with (
        serving(app, max_resolvers=1) as (changed, server),
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key)) as mine,
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(token)) as end_user,
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(other.key)) as theirs,
    ):
        turns: Turns = changed.state.fairness.resolvers
        await turns.take("holder")
        waiting = [
            asyncio.create_task(http.post("/graphql", json=NESTED))
            for http in (mine, end_user, theirs)
        ]
        await until(lambda: sum(len(queue) for queue in turns.waiting.values()) == 3)
        assert len(turns.waiting) == 2  # the dev project (a key and an end user), the other
        roots = (await mine.post("/graphql", json=QUERY)).json()
        assert not any(task.done() for task in waiting)  # no nested read starts without a turn
        turns.give_back()
        answers = [(await task).json()["data"]["threads"]["nodes"] for task in waiting]
        assert (turns.held, turns.waiting) == (0, {})
    assert roots["data"] == {"assistants": {"nodes": []}}
    assert [[thread["messages"] for thread in nodes] for nodes in answers] == [[{"nodes": []}]] * 3


async def test_a_query_that_waits_too_long_for_a_turn_times_out_and_leaves_nothing(
    app: FastAPI, dev_key: str, gql: GraphQLClient
) -> None:
    await gql(CREATE_THREAD)
    async with (
        serving(app, max_resolvers=1, operation_timeout_seconds=0.5) as (changed, server),
        httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key)) as http,
    ):
        turns: Turns = changed.state.fairness.resolvers
        await turns.take("holder")
        timed_out = (await http.post("/graphql", json=NESTED)).json()
        assert (turns.held, turns.waiting) == (1, {})  # only the test's own turn
        assert operations(changed).total() == 0
        turns.give_back()
        served = (await http.post("/graphql", json=NESTED)).json()
    assert timed_out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "took longer than" in timed_out["errors"][0]["message"]
    assert served["data"]["threads"]["nodes"][0]["messages"] == {"nodes": []}


async def test_nested_reads_in_one_turn_answer_what_unbounded_ones_do(
    app: FastAPI, dev_key: str, gql: GraphQLClient
) -> None:
    """A fan-out (threads, each with messages and runs, each run with its thread) through a
    single turn: every resolver gets it in turn, and nothing waits on itself."""
    create = "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }"
    for number in range(5):
        messages = [{"content": f"thread {number}, message {index}"} for index in range(3)]
        await gql(create, input={"messages": messages})
    query = {
        "query": """{ threads(first: 10) { nodes { id
            messages { nodes { id content { ... on TextContent { text { value } } } } }
            runs { nodes { id thread { id } } } activeRun { id } } } }"""
    }
    answers = []
    for limit in (0, 1):
        async with (
            serving(app, max_resolvers=limit) as (changed, server),
            httpx.AsyncClient(base_url=server.base_url, headers=bearer(dev_key)) as http,
        ):
            answers.append((await http.post("/graphql", json=query)).json())
            turns: Turns = changed.state.fairness.resolvers
            assert (turns.held, turns.waiting) == (0, {})
    unbounded, one_turn = answers
    assert "errors" not in one_turn
    assert len(one_turn["data"]["threads"]["nodes"]) == 5
    assert one_turn["data"] == unbounded["data"]


async def test_a_turn_whose_waiter_was_cancelled_is_passed_to_the_next() -> None:
    """Cancelled while queued, and a turn given back before the waiter has left the queue."""
    turns = Turns(1)
    await turns.take("a")
    leaving = asyncio.create_task(turns.take("b"))
    staying = asyncio.create_task(turns.take("c"))
    await asyncio.sleep(0)
    leaving.cancel()
    turns.give_back()  # before `leaving` runs again: its turn is skipped
    await staying
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert (turns.held, turns.waiting) == (1, {})
