"""What a process carries: none of the tokenizers (~110 MB for both), the file parsers (~25
MB), file search's numpy (~12 MB) or the openai SDK (~14 MB: only configured endpoints use
it) at start; a process with workers loads the tokenizer its first run uses, and only that."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import environment

# A real app, started by its lifespan, asked what it has loaded; with workers, again after a
# run on the built-in model (cl100k_base's) completed, created over GraphQL.
REPORT = """
import asyncio, json, sys
import httpx
from asgi_lifespan import LifespanManager
from app.keys import DEV_KEY_FILE, read_secret
from app.main import create_app
from app.settings import Settings
from engine import tokens

RUN = '''mutation($input: CreateThreadAndRunInput!) { createThreadAndRun(input: $input) { id } }'''
ASSISTANT = '''mutation { createAssistant(input: {model: "threadline/scripted"}) { id } }'''
STATUS = '''query($id: ID!) { run(id: $id) { status } }'''

# Loaded by the first use: file parsers, file search's numpy, the SDK for endpoints.
LIBRARIES = ("docx", "pptx", "pypdf", "numpy", "openai")

def loaded() -> dict[str, object]:
    return {
        "tokenizers": sorted(tokens._loaded),
        "libraries": [name for name in LIBRARIES if name in sys.modules],
    }

async def main() -> None:
    settings = Settings()
    app = create_app(settings)
    report = {}
    async with LifespanManager(app):
        report["started"] = loaded()
        if settings.workers:
            key = read_secret(settings.state_dir / DEV_KEY_FILE)
            transport = httpx.ASGITransport(app=app)
            headers = {"authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://app", headers=headers
            ) as http:
                async def gql(query, **variables):
                    body = {"query": query, "variables": variables}
                    return (await http.post("/graphql", json=body)).json()["data"]
                assistant = (await gql(ASSISTANT))["createAssistant"]["id"]
                thread = {"messages": [{"content": "Hello"}]}
                run = await gql(RUN, input={"assistantId": assistant, "thread": thread})
                run_id = run["createThreadAndRun"]["id"]
                while (await gql(STATUS, id=run_id))["run"]["status"] != "COMPLETED":
                    await asyncio.sleep(0.05)
            report["after a run"] = loaded()
    print(json.dumps(report))

asyncio.run(asyncio.wait_for(main(), 90))
"""
NOTHING: dict[str, list[str]] = {"tokenizers": [], "libraries": []}


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        (0, {"started": NOTHING}),
        (
            1,
            {"started": NOTHING, "after a run": {"tokenizers": ["cl100k_base"], "libraries": []}},
        ),
    ],
)
def test_what_a_process_loads(
    mongodb_uri: str, tmp_path: Path, workers: int, expected: dict[str, object]
) -> None:
    # A database of its own: its first start makes the dev key the script reads.
    env = environment(mongodb_uri, f"threadline_footprint_{workers}", tmp_path, workers=workers)
    result = subprocess.run(
        [sys.executable, "-c", REPORT], env=env, capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout.decode().strip().splitlines()[-1]) == expected
