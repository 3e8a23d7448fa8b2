"""Fuzzing the live schema over real HTTP (schemathesis' GraphQL support, hypothesis-graphql
underneath): no generated request gets a 5xx or an INTERNAL_SERVER_ERROR, and every error
is coded. A real `threadline run` serves it, on the session's database server."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes

from app.keys import ADMIN_KEY_FILE, DEV_KEY_FILE, read_secret
from app.processes import free_port
from tests.graphql import bearer
from tests.servers import wait_until_serving

THREADLINE = Path(sys.executable).parent / "threadline"
# Modest, so the suite stays fast; raise it locally with THREADLINE_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("THREADLINE_FUZZ_EXAMPLES", "15"))
ADMIN_OPERATIONS = {"projects", "apiKeys", "createProject", "createApiKey", "revokeApiKey"}
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,70}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=600),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(NAMES, inner, max_size=18),
    max_leaves=30,
)


def json_node(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (the `JSON` scalar's inputs: metadata, parameters…)."""
    if isinstance(value, dict):
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=json_node(item))
                for key, item in value.items()
            ]
        )
    if isinstance(value, list):
        return nodes.List([json_node(item) for item in value])
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return nodes.String(value)


schemathesis.graphql.scalar("JSON", JSON_VALUES.map(json_node))
# A file comes only as a multipart request's part: a literal in the query is a client's mistake.
schemathesis.graphql.scalar(
    "Upload", (st.text(max_size=20).map(nodes.String) | st.just(nodes.Null))
)


class Live:
    def __init__(self, url: str, state: Path) -> None:
        self.url = url
        self.dev_key = read_secret(state / DEV_KEY_FILE)
        self.admin_key = read_secret(state / ADMIN_KEY_FILE)


@pytest.fixture(scope="module")
def live(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    state = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = os.environ | {
        "THREADLINE_PORT": str(port),
        "THREADLINE_MONGODB_URI": mongodb_uri,
        "THREADLINE_DATABASE_NAME": "threadline_fuzz",
        "THREADLINE_STATE_DIR": str(state),
        "THREADLINE_LOG_LEVEL": "WARNING",
        "THREADLINE_RATE_LIMIT": "",
        # The fuzzer sends malformed keys too: a 429 would read as a wrong answer.
        "THREADLINE_AUTH_FAILURE_LIMIT": "",
        "THREADLINE_MAX_CONCURRENT_PER_KEY": "0",
    }
    log = state / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(THREADLINE), "run"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_serving(url, server, log)
        yield Live(url, state)
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert "graphql_unexpected_error" not in log.read_text(), log.read_text()


def fuzz(live: Live, key: str, names: set[str] | None) -> int:
    schema = schemathesis.graphql.from_url(live.url, headers=bearer(key))
    checked = 0
    for result in schema.get_all_operations():
        # A part of the schema schemathesis cannot fuzz fails the test rather than hide.
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        if names is not None and operation.label.split(".")[-1] not in names:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=bearer(key))
            assert response.status_code < 500, (case.body, response.text)
            for error in response.json().get("errors") or []:
                code = (error.get("extensions") or {}).get("code")
                assert code not in (None, "INTERNAL_SERVER_ERROR"), (case.body, error)

        check()
        checked += 1
    return checked


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fuzzing_with_a_project_key_finds_no_server_error(live: Live) -> None:
    assert fuzz(live, live.dev_key, None) >= 19


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fuzzing_the_admin_operations_finds_no_server_error(live: Live) -> None:
    assert fuzz(live, live.admin_key, ADMIN_OPERATIONS) == len(ADMIN_OPERATIONS)
