"""Keys over HTTP: who may call, what each key may touch, and what is kept of a key."""

import asyncio
import stat
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from app.auth import Authenticator
from app.keys import ADMIN_KEY_FILE, DEV_KEY_FILE
from app.settings import Settings
from models import api_key
from models.api_key import ApiKeyDocument, digest
from models.errors import Unauthenticated
from tests.commands import commands_sent
from tests.graphql import GraphQLClient, ProjectClient, bearer

ASSISTANTS = "{ assistants { nodes { id } } }"
CREATE_PROJECT = 'mutation { createProject(name: "p") { id name createdAt } }'
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id projectId revokedAt } }"
LIST_KEYS = """query($p: ID!) { apiKeys(projectId: $p) {
  nodes { id name projectId redactedKey revokedAt } } }"""


async def code_of(http: httpx.AsyncClient, query: str = ASSISTANTS, **headers: str) -> str:
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    body = response.json()
    assert body["data"] is None or body["data"].get("assistants") is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer tl-proj-nope",
        "tl-proj-x",
        "Bearer " + "x" * 300,
    ],
)
async def test_missing_or_bad_keys_are_unauthenticated(
    anonymous_http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert await code_of(anonymous_http, **headers) == "UNAUTHENTICATED"


async def test_unauthenticated_callers_learn_nothing_about_the_schema(
    anonymous_http: httpx.AsyncClient,
) -> None:
    for query in ("{ __schema { types { name } } }", "{ nope }", "{ assistant(id: 1 }"):
        response = await anonymous_http.post("/graphql", json={"query": query})
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED", error
        assert "nope" not in error["message"]


async def test_admin_key_on_project_data_is_forbidden(admin: GraphQLClient) -> None:
    for query in (ASSISTANTS, '{ node(id: "asst_x") { id } }', "mutation { createThread { id } }"):
        error = await admin.error(query)
        assert error["extensions"]["code"] == "FORBIDDEN", error


async def test_project_key_on_admin_operations_is_forbidden(
    gql: GraphQLClient, other: ProjectClient
) -> None:
    for query, variables in (
        (CREATE_PROJECT, {}),
        ("{ projects { nodes { id } } }", {}),
        (LIST_KEYS, {"p": other.project_id}),
        ("mutation($p: ID!) { createApiKey(projectId: $p) { key } }", {"p": other.project_id}),
        (REVOKE, {"id": other.key_id}),
    ):
        error = await gql.error(query, **variables)
        assert error["extensions"]["code"] == "FORBIDDEN", (query, error)
    # Nothing happened: the other key still works.
    assert (await other(ASSISTANTS))["assistants"]["nodes"] == []


async def test_admin_creates_lists_and_revokes_keys(
    admin: GraphQLClient, app: object, anonymous_http: httpx.AsyncClient
) -> None:
    project = (await admin(CREATE_PROJECT))["createProject"]
    assert project["id"].startswith("proj_")
    assert project["name"] == "p"
    created = (
        await admin(
            'mutation($p: ID!) { createApiKey(projectId: $p, name: "ci") '
            "{ id key name projectId createdAt } }",
            p=project["id"],
        )
    )["createApiKey"]
    assert created["key"].startswith("tl-proj-")
    assert created["id"].startswith("key_")
    assert created["projectId"] == project["id"]
    ok = await anonymous_http.post(
        "/graphql", json={"query": ASSISTANTS}, headers=bearer(created["key"])
    )
    assert ok.json()["data"] == {"assistants": {"nodes": []}}

    listed = (await admin(LIST_KEYS, p=project["id"]))["apiKeys"]["nodes"]
    assert listed == [
        {
            "id": created["id"],
            "name": "ci",
            "projectId": project["id"],
            "redactedKey": "tl-proj-…" + created["key"][-4:],
            "revokedAt": None,
        }
    ]
    projects = (await admin("{ projects(first: 100) { nodes { id } } }"))["projects"]["nodes"]
    assert {"id": project["id"]} in projects

    # The answer is the key as it now is: revoked, and when.
    answer = (await admin(REVOKE, id=created["id"]))["revokeApiKey"]
    assert (answer["id"], answer["projectId"]) == (created["id"], project["id"])
    assert answer["revokedAt"] is not None
    revoked = await anonymous_http.post(
        "/graphql", json={"query": ASSISTANTS}, headers=bearer(created["key"])
    )
    assert revoked.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Revoking again is harmless and keeps the first time; the listing keeps the key.
    assert (await admin(REVOKE, id=created["id"]))["revokeApiKey"] == answer
    listed = (await admin(LIST_KEYS, p=project["id"]))["apiKeys"]["nodes"][0]
    assert listed["revokedAt"] == answer["revokedAt"]


async def test_admin_errors_are_coded(admin: GraphQLClient) -> None:
    for query, code in (
        ('mutation { createApiKey(projectId: "proj_nope") { key } }', "NOT_FOUND"),
        ('mutation { revokeApiKey(id: "key_nope") { id } }', "NOT_FOUND"),
        ('{ apiKeys(projectId: "asst_1") { nodes { id } } }', "NOT_FOUND"),
        ('mutation { createProject(name: "") { id } }', "BAD_USER_INPUT"),
    ):
        assert (await admin.error(query))["extensions"]["code"] == code, query


async def test_only_a_digest_of_a_key_is_stored_and_no_secret_is_logged(
    admin: GraphQLClient, anonymous_http: httpx.AsyncClient
) -> None:
    project_id = (await admin(CREATE_PROJECT))["createProject"]["id"]
    with capture_logs() as logs:
        created = (
            await admin(
                "mutation($p: ID!) { createApiKey(projectId: $p) { id key } }", p=project_id
            )
        )["createApiKey"]
        await anonymous_http.post(
            "/graphql", json={"query": ASSISTANTS}, headers=bearer(created["key"])
        )
        await anonymous_http.post(
            "/graphql", json={"query": "{ broken"}, headers=bearer(created["key"])
        )
    stored = await ApiKeyDocument.get_pymongo_collection().find_one({"_id": created["id"]})
    assert stored is not None
    assert created["key"] not in str(stored)
    assert stored["key_hash"] == digest(created["key"])
    assert created["key"] not in str(logs)


def test_generated_keys_are_kept_readable_by_their_owner_only(
    app: object, settings: Settings
) -> None:
    for name in (ADMIN_KEY_FILE, DEV_KEY_FILE):
        mode = (Path(settings.state_dir) / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600, name


async def test_a_key_revoked_elsewhere_stops_working_within_the_cache_time(
    app: FastAPI, other: ProjectClient
) -> None:
    """Keys found are remembered for a few seconds: a revocation written by another process
    (here, straight to the database) reaches a server within that time; one made through the
    server itself (`forget`, as `revokeApiKey` does) at once."""
    tokens = app.state.authenticator.client_tokens
    remembering = Authenticator("another-admin-key", tokens, key_cache_seconds=60)
    brief = Authenticator("another-admin-key", tokens, key_cache_seconds=0.2)
    uncached = Authenticator("another-admin-key", tokens)
    header = f"Bearer {other.key}"
    for authenticator in (remembering, brief, uncached):
        assert (await authenticator.authenticate(header)).key_id == other.key_id
    await api_key.revoke(other.key_id)
    assert (await remembering.authenticate(header)).key_id == other.key_id
    with pytest.raises(Unauthenticated):
        await uncached.authenticate(header)
    deadline = time.monotonic() + 10
    while True:
        try:
            await brief.authenticate(header)
        except Unauthenticated:
            break
        assert time.monotonic() < deadline, "the revocation never reached the cache"
        await asyncio.sleep(0.05)
    remembering.forget(other.key_id)
    with pytest.raises(Unauthenticated):
        await remembering.authenticate(header)


async def test_a_keys_connections_share_one_revocation_check(
    app: FastAPI, admin: GraphQLClient, other: ProjectClient
) -> None:
    """An open websocket re-checks its key while streaming (app/websockets.py). A key's
    connections share the last answer: a thousand of them make one read per period."""
    here: Authenticator = app.state.authenticator
    elsewhere = Authenticator("another-admin-key", here.client_tokens)  # another process
    principal = await here.authenticate(f"Bearer {other.key}")
    for authenticator in (here, elsewhere):
        with commands_sent() as sent:
            for _ in range(50):
                assert await authenticator.still_valid(principal, within=60)
        assert [(s.name, s.collection) for s in sent] == [("find", "api_keys")]
    # Connections timed alike find the answer too old at once: they wait for one read.
    at_once = Authenticator("a-third-admin-key", here.client_tokens)
    with commands_sent() as sent:
        answers = await asyncio.gather(
            *(at_once.still_valid(principal, within=60) for _ in range(50))
        )
    assert answers == [True] * 50
    assert [(s.name, s.collection) for s in sent] == [("find", "api_keys")]

    await admin(REVOKE, id=other.key_id)
    # Revoked through this process: known here at once.
    assert not await here.still_valid(principal, within=60)
    # Through another: there, the shared answer holds until it is older than `within`.
    assert await elsewhere.still_valid(principal, within=60)
    assert not await elsewhere.still_valid(principal, within=0)
    assert not await elsewhere.still_valid(principal, within=60)
