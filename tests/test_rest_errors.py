"""What every `/v1` route shares: who may call, OpenAI's error body for everything refused,
and the headers OpenAI's SDKs send."""

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from engine.catalog import SCRIPTED_MODEL
from tests.graphql import GraphQLClient

MINT = (
    "mutation($s: String!) { createClientToken(input: {subject: $s, assistantIds: []}) { token } }"
)


def _error(answer: httpx.Response) -> dict[str, object]:
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error, dict)
    return error


async def test_only_project_keys(rest_url: str, admin_key: str, gql: GraphQLClient) -> None:
    async with AsyncOpenAI(base_url=rest_url, api_key=admin_key, max_retries=0) as admin:
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await admin.beta.assistants.list()
    assert "project key" in refused.value.message
    token = (await gql(MINT, s="alice"))["createClientToken"]["token"]
    async with AsyncOpenAI(base_url=rest_url, api_key=token, max_retries=0) as browser:
        with pytest.raises(openai.PermissionDeniedError) as client_token:
            await browser.beta.assistants.list()
    assert "GraphQL" in client_token.value.message


async def test_errors_are_openais(rest_url: str, dev_key: str) -> None:
    headers = {"authorization": f"Bearer {dev_key}"}
    async with httpx.AsyncClient(base_url=rest_url, headers=headers) as http:
        unknown = await http.get("/nothing/here")
        assert unknown.status_code == 404
        assert "Unknown request URL" in str(_error(unknown)["message"])
        not_json = await http.post(
            "/assistants", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 400
        assert "not valid JSON" in str(_error(not_json)["message"])
        not_object = await http.post("/assistants", json=["model"])
        assert not_object.status_code == 400
        huge = await http.post("/assistants", json={"model": "x" * 5_000_000})
        assert huge.status_code == 413
        assert _error(huge)["type"] == "invalid_request_error"
        wrong_type = await http.post("/assistants", json={"model": SCRIPTED_MODEL, "tools": "all"})
        assert wrong_type.status_code == 400
        assert _error(wrong_type)["param"] == "tools"
        bad_limit = await http.get("/assistants", params={"limit": "many"})
        assert bad_limit.status_code == 400
        assert _error(bad_limit)["param"] == "limit"


async def test_openai_headers_are_accepted(rest_url: str, dev_key: str) -> None:
    headers = {
        "authorization": f"Bearer {dev_key}",
        "OpenAI-Beta": "assistants=v2",
        "OpenAI-Organization": "org-123",
        "OpenAI-Project": "proj_abc",
        "X-Stainless-Lang": "python",
    }
    async with httpx.AsyncClient(base_url=rest_url, headers=headers) as http:
        answer = await http.get("/assistants")
    assert answer.status_code == 200
    assert answer.json()["object"] == "list"
