"""The models file (THREADLINE_MODELS): each name reaches its own endpoint with its own key,
unknown names are refused, a bad file stops the start, reasoningEffort is passed through,
and token counts use the model's tokenizer.

The end-to-end tests run a second app over the session's database with a models file that
names two real OpenAI-compatible test servers; the session app's workers are paused meanwhile,
so that this app's workers (and its catalog) execute the runs.
"""

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from engine import tokens
from engine.catalog import SCRIPTED_MODEL, Catalog
from engine.models_file import ModelsFileError, load
from models.errors import BadUserInput
from tests.conftest import BASE_URL, clean_database
from tests.graphql import GraphQLClient, bearer
from tests.openai_server import OpenAICompatibleServer, Script
from tests.runs import CREATE_RUN, CREATE_THREAD, new_assistant, start_run, wait_for

KEYS = {"THREADLINE_TEST_KEY_A": "sk-a-5d1f0c", "THREADLINE_TEST_KEY_B": "sk-b-93e7aa"}
# o200k_base and cl100k_base count this differently (13 and 17 tokens).
TEXT = "Ça va très bien, merci! 日本語のテキスト"


def models_toml(a: str, b: str) -> str:
    return f"""
[[models]]
match = ["gpt-4o*", "o3*"]
base_url = "{a}"
api_key_env = "THREADLINE_TEST_KEY_A"
context_tokens = 64000

[[models]]
match = "llama*"
base_url = "{b}"
api_key_env = "THREADLINE_TEST_KEY_B"
tokenizer = "cl100k_base"
"""


@dataclass
class TwoEndpoints:
    gql: GraphQLClient
    a: OpenAICompatibleServer  # gpt-4o*, o3*
    b: OpenAICompatibleServer  # llama*


@pytest.fixture
async def two_endpoints(
    app: FastAPI, dev_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TwoEndpoints]:
    for name, key in KEYS.items():
        monkeypatch.setenv(name, key)
    # Neither reports usage: the run's usage is then counted here, with the model's tokenizer.
    async with (
        OpenAICompatibleServer(Script(text="Bonjour de A", usage=None)) as a,
        OpenAICompatibleServer(Script(text="Bonjour de B", usage=None)) as b,
    ):
        path = tmp_path / "models.toml"
        path.write_text(models_toml(a.base_url, b.base_url))
        session: Settings = app.state.settings
        application = create_app(
            session.model_copy(update={"models": path, "openai_base_url": None})
        )
        # The session app's lifespan made the database, keys and Beanie; share them.
        application.state.authenticator = app.state.authenticator
        application.state.dev_key = app.state.dev_key
        session_workers = app.state.engine.workers
        await session_workers.stop(0)
        application.state.engine.start()
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url=BASE_URL, headers=bearer(dev_key)
            ) as http:
                yield TwoEndpoints(GraphQLClient(http), a, b)
        finally:
            await application.state.engine.stop()
            session_workers.start()
            await clean_database(app, dev_key)


async def answered(gql: GraphQLClient, model: str, **options: Any) -> dict[str, Any]:
    """A run of a new assistant on `model` over a one-message thread, once it has ended."""
    assistant = await new_assistant(gql, model=model)
    run = await start_run(gql, assistant, TEXT, **options)
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    return done


# --- Each model name reaches its own endpoint ------------------------------------------


async def test_each_model_reaches_its_endpoint_with_its_key(two_endpoints: TwoEndpoints) -> None:
    setup = two_endpoints
    await answered(setup.gql, "gpt-4o-mini")
    await answered(setup.gql, "llama3.1:8b")
    await answered(setup.gql, "o3")
    assert [r.body["model"] for r in setup.a.requests] == ["gpt-4o-mini", "o3"]
    assert [r.body["model"] for r in setup.b.requests] == ["llama3.1:8b"]
    for request in setup.a.requests:
        assert request.headers["authorization"] == "Bearer sk-a-5d1f0c"
    assert setup.b.requests[0].headers["authorization"] == "Bearer sk-b-93e7aa"
    # reasoningEffort unset: not sent at all.
    assert setup.b.requests[0].body == {
        "model": "llama3.1:8b",
        "messages": [{"role": "user", "content": TEXT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_the_first_matching_entry_wins_and_the_single_endpoint_catches_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        models_toml("http://a.test/v1", "http://b.test/v1")
        + '\n[[models]]\nmatch = "gpt-4o-mini"\nbase_url = "http://never.test/v1"\n'
    )
    catalog = Catalog.from_settings(
        Settings(
            models=path, openai_base_url="http://catch-all.test/v1", model_context_tokens=32768
        ),
        environ=KEYS,
    )
    served = {m: catalog.find(m) for m in ("gpt-4o-mini", "llama3", "mistral", SCRIPTED_MODEL)}
    first, second, catch_all = catalog.endpoints[0], catalog.endpoints[1], catalog.endpoints[3]
    assert [s.provider if s else None for s in served.values()] == [
        first.provider,
        second.provider,
        catch_all.provider,
        catalog.scripted.provider,
    ]
    # An entry's context window, else THREADLINE_MODEL_CONTEXT_TOKENS; the built-in's own.
    assert [s.context_tokens if s else None for s in served.values()] == [
        64000,
        32768,
        32768,
        16384,
    ]


# --- Unknown names are refused -----------------------------------------------------------


async def test_an_unknown_model_is_bad_user_input(two_endpoints: TwoEndpoints) -> None:
    gql = two_endpoints.gql
    error = await gql.error('mutation { createAssistant(input: { model: "claude-3" }) { id } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        "input.model: 'claude-3' is not served here: 'threadline/scripted' is, "
        "and names matching 'gpt-4o*', 'o3*', 'llama*'."
    )
    assistant = await new_assistant(gql, model="gpt-4o")
    update = await gql.error(
        'mutation($id: ID!) { updateAssistant(id: $id, input: { model: "claude-3" }) { id } }',
        id=assistant,
    )
    assert update["extensions"]["code"] == "BAD_USER_INPUT"
    thread = (await gql(CREATE_THREAD, input={}))["createThread"]["id"]
    run = await gql.error(
        CREATE_RUN, threadId=thread, input={"assistantId": assistant, "model": "claude-3"}
    )
    assert run["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'claude-3' is not served here" in run["message"]
    both = await gql.error(
        "mutation($input: CreateThreadAndRunInput!) { createThreadAndRun(input: $input) { id } }",
        input={"assistantId": assistant, "model": "claude-3"},
    )
    assert both["extensions"]["code"] == "BAD_USER_INPUT"
    runs = await gql("query($id: ID!) { thread(id: $id) { runs { nodes { id } } } }", id=thread)
    assert runs["thread"]["runs"]["nodes"] == []
    assert not two_endpoints.a.requests


def test_without_any_endpoint_only_the_built_in_is_served() -> None:
    catalog = Catalog()
    catalog.ensure_served(SCRIPTED_MODEL)
    with pytest.raises(BadUserInput, match="'gpt-4o' is not served here: only 'threadline/"):
        catalog.ensure_served("gpt-4o")


# --- A bad file stops the start ----------------------------------------------------------

BAD_FILES = [
    (
        'models = [{ match = "gpt*" }]',
        r"models\[0\] \(match 'gpt\*'\): base_url: Field required",
    ),
    (
        '[[models]]\nmatch = "a*"\nbase_url = "http://a.test"\n'
        '[[models]]\nmatch = ["b*"]\nbase_url = "ftp://b.test"',
        r"models\[1\] \(match 'b\*'\): base_url: Value error, must be an http:// or https:// URL",
    ),
    (
        '[[models]]\nmatch = "a*"\nbase_url = "http://a.test"\ntokenizer = "p50k_base"',
        r"models\[0\] \(match 'a\*'\): tokenizer: Input should be 'cl100k_base' or 'o200k_base'",
    ),
    (
        '[[models]]\nmatch = []\nbase_url = "http://a.test"',
        r"models\[0\]: match: Value should have at least 1 item",
    ),
    (
        '[[models]]\nmatch = "a*"\nbase_url = "http://a.test"\napi_key_env = "NOT_SET_ANYWHERE"',
        r"models\[0\] \(match 'a\*'\): api_key_env: the environment variable NOT_SET_ANYWHERE "
        "is not set",
    ),
    ('[[models]\nmatch = "a*"', r"not valid TOML: .*line 1"),
    ("", r"models: Field required"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_a_bad_file_stops_the_start_naming_the_file_and_the_entry(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "models.toml"
    path.write_text(content)
    with pytest.raises(ModelsFileError, match=f"^{re.escape(str(path))}: {message}"):
        create_app(Settings(models=path, state_dir=tmp_path))


def test_a_key_written_into_the_file_is_refused_and_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    for field in ("api_key", "api_key_env"):
        path.write_text(
            f'[[models]]\nmatch = "a*"\nbase_url = "http://a.test"\n{field} = "sk-1234"'
        )
        with pytest.raises(ModelsFileError) as raised:
            load(path, environ={})
        assert f"models[0] (match 'a*'): {field}: " in str(raised.value)
        assert "sk-1234" not in str(raised.value)


def test_the_command_exits_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - match: llama*\n    base_url: localhost:11434\n")
    environment = os.environ | {
        "THREADLINE_MODELS": str(path),
        "THREADLINE_STATE_DIR": str(tmp_path),
    }
    threadline = Path(sys.executable).with_name("threadline")
    finished = subprocess.run(
        [threadline, "run"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert finished.stderr == (
        f"threadline: THREADLINE_MODELS: {path}: models[0] (match 'llama*'): base_url: "
        "Value error, must be an http:// or https:// URL\n"
    )


def test_yaml_and_toml_files_read_alike(tmp_path: Path) -> None:
    toml = tmp_path / "models.toml"
    toml.write_text(models_toml("http://a.test/v1", "http://b.test/v1"))
    yaml = tmp_path / "models.yml"
    yaml.write_text(
        "models:\n"
        '  - match: ["gpt-4o*", "o3*"]\n'
        "    base_url: http://a.test/v1\n"
        "    api_key_env: THREADLINE_TEST_KEY_A\n"
        "    context_tokens: 64000\n"
        "  - match: llama*\n"
        "    base_url: http://b.test/v1\n"
        "    api_key_env: THREADLINE_TEST_KEY_B\n"
        "    tokenizer: cl100k_base\n"
    )
    assert load(yaml, KEYS) == load(toml, KEYS)


# --- reasoningEffort ---------------------------------------------------------------------

RUN_EFFORT = "query($id: ID!) { run(id: $id) { reasoningEffort assistant { reasoningEffort } } }"


async def test_reasoning_effort_reaches_the_request_body(two_endpoints: TwoEndpoints) -> None:
    gql, a = two_endpoints.gql, two_endpoints.a
    assistant = await new_assistant(gql, model="o3-mini", reasoningEffort="HIGH")
    inherited = await start_run(gql, assistant, "Think.")
    await wait_for(gql, inherited["id"])
    overridden = await start_run(gql, assistant, "Think less.", reasoningEffort="MINIMAL")
    await wait_for(gql, overridden["id"])
    assert [r.body.get("reasoning_effort") for r in a.requests] == ["high", "minimal"]
    assert a.requests[0].body == {
        "model": "o3-mini",
        "messages": [{"role": "user", "content": "Think."}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "reasoning_effort": "high",
    }
    runs = [(await gql(RUN_EFFORT, id=run["id"]))["run"] for run in (inherited, overridden)]
    assert runs == [
        {"reasoningEffort": "HIGH", "assistant": {"reasoningEffort": "HIGH"}},
        {"reasoningEffort": "MINIMAL", "assistant": {"reasoningEffort": "HIGH"}},
    ]
    cleared = await gql(
        "mutation($id: ID!) { updateAssistant(id: $id, input: { reasoningEffort: null }) "
        "{ reasoningEffort } }",
        id=assistant,
    )
    assert cleared["updateAssistant"] == {"reasoningEffort": None}


# --- Tokenizers --------------------------------------------------------------------------


def test_each_family_gets_its_own_tokenizer() -> None:
    o200k = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-nano", "o1", "o3-mini", "o4-mini", "gpt-5"]
    o200k.append("openai/gpt-4o")  # behind a router's prefix
    cl100k = ["gpt-4", "gpt-4-turbo", "gpt-3.5-turbo", "llama3.1:8b", SCRIPTED_MODEL]
    assert {model: tokens.for_model(model) for model in o200k} == dict.fromkeys(o200k, "o200k_base")
    assert {model: tokens.for_model(model) for model in cl100k} == dict.fromkeys(
        cl100k, "cl100k_base"
    )


# bpe-openai's package still opens its data with a deprecated importlib.resources call.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_o200k_is_openais_own_offline() -> None:
    """Cross-checked against bpe-openai's own tokenizer, GitHub's independent Rust one."""
    import bpe_openai  # type: ignore[import-untyped]  # only here: the app reads its data file

    reference = bpe_openai.get_encoding("o200k_base")
    for text in (TEXT, "hello world", "def f(x):\n    return x ** 2  # 12345", "naïve café"):
        assert tokens.encoding("o200k_base").encode(text) == reference.encode(text)
    assert tokens.count(TEXT, "o200k_base") == 13
    assert tokens.count(TEXT) == tokens.count(TEXT, "cl100k_base") == 17


async def test_usage_is_counted_with_the_models_tokenizer(two_endpoints: TwoEndpoints) -> None:
    """Neither endpoint reports usage: gpt-4o's run is counted with o200k_base, the llama
    entry's with the cl100k_base its entry names."""
    setup = two_endpoints
    gpt = await answered(setup.gql, "gpt-4o")
    llama = await answered(setup.gql, "llama3")
    sent = setup.a.requests[0].body["messages"]
    assert sent == setup.b.requests[0].body["messages"] == [{"role": "user", "content": TEXT}]
    assert tokens.count_messages(sent, "o200k_base") == 19  # 3 + 13 + 3
    assert tokens.count_messages(sent, "cl100k_base") == 23  # 3 + 17 + 3
    # The answer is counted as it streams, a word at a time: "Bonjour ", "de ", "A".
    streamed = [tokens.count(word, "o200k_base") for word in ("Bonjour ", "de ", "A")]
    assert streamed == [2, 2, 1]
    assert gpt["usage"] == {"promptTokens": 19, "completionTokens": 5, "totalTokens": 24}
    assert llama["usage"] == {"promptTokens": 23, "completionTokens": 5, "totalTokens": 28}
