"""`POST /v1/admin/import`: a team's OpenAI export, as OpenAI's API returned it, imported with
its ids and `created_at`, then read back through the official SDK (assistants) and GraphQL
(threads and messages, until `/v1/threads` is served)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from app.cli import main
from engine.catalog import SCRIPTED_MODEL
from models.project import DEFAULT_PROJECT_ID
from models.thread import threads
from services.imports import MAX_OBJECTS
from tests.graphql import GraphQLClient, ProjectClient, bearer
from tests.runs import function_tool, new_assistant, start_run, wait_for

ASSISTANT_ID = "asst_abc123XYZdef456ghi789jk"
TUTOR_ID = "asst_0tutorQ8vbN2kLmPz"
THREAD_ID = "thread_abc123Kd9sLq2WmZx"
T0 = 1_699_012_949  # 2023-11-03, in the past as every export is
RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
FUNCTION = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "strict": False,
}


def assistant(assistant_id: str, created_at: int, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": assistant_id,
        "object": "assistant",
        "created_at": created_at,
        "name": name,
        "description": None,
        "model": "gpt-4o",
        "instructions": "You are a helpful assistant.",
        "tools": [],
        "tool_resources": {},
        "metadata": {},
        "top_p": 1.0,
        "temperature": 1.0,
        "response_format": "auto",
        **fields,
    }


def message(
    message_id: str, created_at: int, role: str, text: str, **fields: Any
) -> dict[str, Any]:
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": None,
        "thread_id": THREAD_ID,
        "run_id": None,
        "role": role,
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "attachments": [],
        "metadata": {},
        **fields,
    }


def listed(data: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI's list response, as `GET /v1/…` returns it."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"],
        "last_id": data[-1]["id"],
        "has_more": False,
    }


# The reply shares its question's second; its id sorts before the question's, so only the
# export's order (newest first, OpenAI's default) can put it after.
QUESTION_ID = "msg_zQuestion4Lk2Vb9"
GONE_PNG, GONE_CSV = "file-GonePng", "file-GoneCsv12345"
REPLY_ID = "msg_AReply7Tq1Xc3"
CITED_ID = "msg_cited5Rt8Yu2"
REPLY_TEXT = "The warranty lasts two years.【4:0†manual.pdf】"
EXPORT: dict[str, Any] = {
    "assistants": listed(
        [
            assistant(
                ASSISTANT_ID,
                T0 - 100,
                "Support",
                description="Answers from the manual.",
                instructions="Cite the manual.",
                tools=[
                    {"type": "code_interpreter"},
                    {
                        "type": "file_search",
                        "file_search": {"ranking_options": RANKING},
                    },
                    {"type": "function", "function": FUNCTION},
                ],
                tool_resources={
                    "code_interpreter": {"file_ids": [GONE_CSV]},
                    "file_search": {"vector_store_ids": ["vs_abc123"]},
                },
                metadata={"team": "support"},
                temperature=0.2,
                response_format={"type": "json_object"},
            ),
            assistant(TUTOR_ID, T0 - 200, "Tutor"),
        ]
    ),
    # As `GET /v1/threads/{id}` returns it: one object.
    "threads": {
        "id": THREAD_ID,
        "object": "thread",
        "created_at": T0,
        "metadata": {"user": "u-42"},
        "tool_resources": {},
    },
    "messages": listed(
        [
            message(
                CITED_ID,
                T0 + 30,
                "assistant",
                REPLY_TEXT,
                assistant_id=ASSISTANT_ID,
                run_id="run_abc123",
                content=[
                    {
                        "type": "text",
                        "text": {
                            "value": REPLY_TEXT,
                            "annotations": [
                                {
                                    "type": "file_citation",
                                    "text": "【4:0†manual.pdf】",
                                    "start_index": 29,
                                    "end_index": 45,
                                    "file_citation": {"file_id": "file-Manual987"},
                                }
                            ],
                        },
                    }
                ],
            ),
            message("msg_img2Wq8Er", T0 + 20, "user", "And this one?", attachments=[])
            | {
                "content": [
                    {"type": "text", "text": {"value": "And this one?", "annotations": []}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "image_file", "image_file": {"file_id": GONE_PNG, "detail": "low"}},
                ]
            },
            message(REPLY_ID, T0, "assistant", "Hello! How can I help?", assistant_id=ASSISTANT_ID),
            message(
                QUESTION_ID,
                T0,
                "user",
                "What does the warranty cover?",
                attachments=[{"file_id": "file-GonePdf", "tools": [{"type": "file_search"}]}],
                metadata={"source": "web"},
            ),
        ]
    ),
}
THREAD = """query($id: ID!) { thread(id: $id) {
  id createdAt lastActivityAt metadata
  messages(order: ASC) { nodes {
    id createdAt role text assistantId runId metadata attachments { fileId tools }
    content { __typename
      ... on TextContent { text { value annotations {
        ... on FileCitationAnnotation { text startIndex endIndex fileId } } } }
      ... on ImageUrlContent { imageUrl { url } } } } } } }"""


def seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.fixture
async def admin_http(rest_url: str, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rest_url, headers=bearer(admin_key)) as http:
        yield http


async def imported(
    http: httpx.AsyncClient, export: dict[str, Any], project_id: str = DEFAULT_PROJECT_ID
) -> dict[str, Any]:
    answer = await http.post("/admin/import", params={"project_id": project_id}, json=export)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def message_count(thread_id: str, project_id: str = DEFAULT_PROJECT_ID) -> int:
    return (await threads.get(project_id, thread_id)).message_count


async def test_an_openai_export_reads_back_with_its_ids_and_times(
    admin_http: httpx.AsyncClient, openai_client: AsyncOpenAI, gql: GraphQLClient
) -> None:
    newer = await openai_client.beta.assistants.create(model=SCRIPTED_MODEL, name="new")
    report = await imported(admin_http, EXPORT)
    assert report["object"] == "import"
    assert report["assistants"] == {"imported": 2, "skipped": 0, "refused": 0}
    assert report["threads"] == {"imported": 1, "skipped": 0, "refused": 0}
    assert report["messages"] == {"imported": 4, "skipped": 0, "refused": 0}
    assert report["refused"] == []
    assert report["ignored_fields"] == {}
    dropped = {(d["object"], d["id"], d["field"], d["reference"]) for d in report["dropped"]}
    assert dropped == {
        ("assistant", ASSISTANT_ID, "tool_resources.code_interpreter.file_ids", GONE_CSV),
        ("assistant", ASSISTANT_ID, "tool_resources.file_search.vector_store_ids", "vs_abc123"),
        ("thread.message", QUESTION_ID, "attachments", "file-GonePdf"),
        ("thread.message", "msg_img2Wq8Er", "content", GONE_PNG),
    }

    support = await openai_client.beta.assistants.retrieve(ASSISTANT_ID)
    source = EXPORT["assistants"]["data"][0]
    assert (support.id, support.created_at, support.name) == (ASSISTANT_ID, T0 - 100, "Support")
    assert (support.description, support.instructions) == (
        "Answers from the manual.",
        "Cite the manual.",
    )
    assert (support.model, support.temperature, support.metadata) == (
        "gpt-4o",
        0.2,
        {"team": "support"},
    )
    assert [tool.model_dump(exclude_none=True) for tool in support.tools] == source["tools"]
    assert support.response_format.type == "json_object"  # type: ignore[union-attr]
    listing = [a.id async for a in await openai_client.beta.assistants.list(limit=2)]
    assert listing == [newer.id, ASSISTANT_ID, TUTOR_ID]
    older = await openai_client.beta.assistants.list(after=ASSISTANT_ID)
    assert [a.id for a in older.data] == [TUTOR_ID]

    thread = (await gql(THREAD, id=THREAD_ID))["thread"]
    assert (seconds(thread["createdAt"]), thread["metadata"]) == (T0, {"user": "u-42"})
    assert seconds(thread["lastActivityAt"]) == T0 + 30
    nodes = thread["messages"]["nodes"]
    assert [n["id"] for n in nodes] == [QUESTION_ID, REPLY_ID, "msg_img2Wq8Er", CITED_ID]
    assert [seconds(n["createdAt"]) for n in nodes] == [T0, T0, T0 + 20, T0 + 30]
    assert [n["role"] for n in nodes] == ["USER", "ASSISTANT", "USER", "ASSISTANT"]
    question, _, image, cited = nodes
    assert (question["metadata"], question["attachments"]) == ({"source": "web"}, [])
    assert [part["__typename"] for part in image["content"]] == ["TextContent", "ImageUrlContent"]
    assert image["content"][1]["imageUrl"]["url"] == "https://example.com/a.png"
    assert (cited["text"], cited["assistantId"], cited["runId"]) == (
        REPLY_TEXT,
        ASSISTANT_ID,
        "run_abc123",
    )
    assert cited["content"][0]["text"]["annotations"] == [
        {"text": "【4:0†manual.pdf】", "startIndex": 29, "endIndex": 45, "fileId": "file-Manual987"}
    ]
    assert await message_count(THREAD_ID) == 4

    # Among threads made here later, the imported one sorts by its own time.
    fresh = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    listed_threads = await gql("{ threads(order: ASC) { nodes { id } } }")
    assert [t["id"] for t in listed_threads["threads"]["nodes"]] == [THREAD_ID, fresh]


async def test_running_it_again_skips_everything(
    admin_http: httpx.AsyncClient, openai_client: AsyncOpenAI, gql: GraphQLClient
) -> None:
    await imported(admin_http, EXPORT)
    await openai_client.beta.assistants.update(ASSISTANT_ID, name="Renamed here")
    again = await imported(admin_http, EXPORT)
    assert again["assistants"] == {"imported": 0, "skipped": 2, "refused": 0}
    assert again["threads"] == {"imported": 0, "skipped": 1, "refused": 0}
    assert again["messages"] == {"imported": 0, "skipped": 4, "refused": 0}
    assert again["dropped"] == []
    assert (await openai_client.beta.assistants.retrieve(ASSISTANT_ID)).name == "Renamed here"
    assert await message_count(THREAD_ID) == 4


async def test_messages_can_follow_their_thread_in_a_later_import(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    """A thread longer than one request: its messages come after, and are counted."""
    first = await imported(admin_http, {"threads": EXPORT["threads"]})
    assert first["threads"]["imported"] == 1
    assert await message_count(THREAD_ID) == 0
    # One list response per page (or per thread) is as good as one.
    pages = EXPORT["messages"]["data"]
    later = await imported(admin_http, {"messages": [listed(pages[:2]), listed(pages[2:])]})
    assert later["messages"] == {"imported": 4, "skipped": 0, "refused": 0}
    assert await message_count(THREAD_ID) == 4
    thread = (await gql(THREAD, id=THREAD_ID))["thread"]
    assert seconds(thread["lastActivityAt"]) == T0 + 30


async def test_older_pages_imported_later_take_their_place_by_time(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    """An export paged newest first, one request a page: the thread still lists in time order,
    and a message added here afterwards comes last."""
    await imported(admin_http, {"threads": EXPORT["threads"]})
    pages = EXPORT["messages"]["data"]  # newest first
    await imported(admin_http, {"messages": [listed(pages[:2])]})
    await imported(admin_http, {"messages": [listed(pages[2:])]})
    added = await gql(
        'mutation($id: ID!) { createMessage(threadId: $id, input: {content: "later"}) { id } }',
        id=THREAD_ID,
    )
    nodes = (await gql(THREAD, id=THREAD_ID))["thread"]["messages"]["nodes"]
    new_id = added["createMessage"]["id"]
    assert [n["id"] for n in nodes] == [QUESTION_ID, REPLY_ID, "msg_img2Wq8Er", CITED_ID, new_id]
    assert await message_count(THREAD_ID) == 5


async def test_attachments_of_files_the_project_holds_are_kept(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    uploaded = await gql.upload_response("data.csv", b"a,b\n1,2\n")
    file_id = uploaded.json()["data"]["uploadFile"]["id"]
    attached = message(
        "msg_withFile1", T0, "user", "Plot this.", attachments=[{"file_id": file_id, "tools": []}]
    )
    attached["attachments"][0]["tools"] = [{"type": "code_interpreter"}]
    report = await imported(admin_http, {"threads": EXPORT["threads"], "messages": [attached]})
    assert (report["messages"]["imported"], report["dropped"]) == (1, [])
    thread = await gql(
        """query($id: ID!) { thread(id: $id) {
          toolResources { codeInterpreter { fileIds } }
          messages { nodes { attachments { fileId tools } } } } }""",
        id=THREAD_ID,
    )
    assert thread["thread"]["toolResources"]["codeInterpreter"]["fileIds"] == [file_id]
    assert thread["thread"]["messages"]["nodes"][0]["attachments"] == [
        {"fileId": file_id, "tools": ["CODE_INTERPRETER"]}
    ]


async def test_another_projects_ids_are_refused_and_left_alone(
    admin_http: httpx.AsyncClient,
    openai_client: AsyncOpenAI,
    other_openai: AsyncOpenAI,
    other: ProjectClient,
) -> None:
    theirs = await other_openai.beta.assistants.create(model=SCRIPTED_MODEL, name="theirs")
    their_thread = (await other("mutation { createThread { id } }"))["createThread"]["id"]
    export = {
        "assistants": [assistant(theirs.id, T0, "taken over")],
        "threads": [{"id": their_thread, "object": "thread", "created_at": T0, "metadata": {}}],
        "messages": [message("msg_intoTheirs1", T0, "user", "hi", thread_id=their_thread)],
    }
    answer = await admin_http.post(
        "/admin/import", params={"project_id": DEFAULT_PROJECT_ID}, json=export
    )
    report = answer.json()
    assert other.project_id not in answer.text
    assert report["assistants"] == {"imported": 0, "skipped": 0, "refused": 1}
    assert report["threads"] == {"imported": 0, "skipped": 0, "refused": 1}
    assert report["messages"] == {"imported": 0, "skipped": 0, "refused": 1}
    reasons = {(r["object"], r["id"]): r["reason"] for r in report["refused"]}
    assert reasons[("assistant", theirs.id)] == "The id is already used outside this project."
    assert reasons[("thread", their_thread)] == "The id is already used outside this project."
    assert "is not in this project" in reasons[("thread.message", "msg_intoTheirs1")]

    assert (await other_openai.beta.assistants.retrieve(theirs.id)).name == "theirs"
    with pytest.raises(openai.NotFoundError):
        await openai_client.beta.assistants.retrieve(theirs.id)
    assert await message_count(their_thread, other.project_id) == 0
    messages = await other(
        "query($id: ID!) { thread(id: $id) { messages { nodes { id } } } }", id=their_thread
    )
    assert messages["thread"]["messages"]["nodes"] == []


async def test_a_message_for_an_unknown_thread_is_refused(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    orphan = message("msg_orphan1", T0, "user", "hello?", thread_id="thread_nowhere1")
    report = await imported(admin_http, {"threads": EXPORT["threads"], "messages": [orphan]})
    assert report["threads"]["imported"] == 1
    assert report["messages"] == {"imported": 0, "skipped": 0, "refused": 1}
    assert report["refused"] == [
        {
            "object": "thread.message",
            "id": "msg_orphan1",
            "reason": "Its thread thread_nowhere1 is not in this project (neither imported "
            "nor existing).",
        }
    ]
    assert (await gql('{ message(id: "msg_orphan1") { id } }'))["message"] is None


async def test_only_the_admin_key_imports(
    rest_url: str, dev_key: str, other: ProjectClient, gql: GraphQLClient
) -> None:
    async with httpx.AsyncClient(base_url=rest_url) as http:
        for headers in (bearer(dev_key), bearer(other.key)):
            answer = await http.post(
                "/admin/import",
                params={"project_id": DEFAULT_PROJECT_ID},
                json=EXPORT,
                headers=headers,
            )
            assert answer.status_code == 403
            assert answer.json()["error"]["message"] == "Only the admin key may call this route."
        anonymous = await http.post(
            "/admin/import", params={"project_id": DEFAULT_PROJECT_ID}, json=EXPORT
        )
        assert anonymous.status_code == 401
    assert (await gql(f'{{ thread(id: "{THREAD_ID}") {{ id }} }}'))["thread"] is None


async def test_bad_imports_are_refused_whole(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    async def refused(export: Any, project_id: str = DEFAULT_PROJECT_ID) -> dict[str, Any]:
        answer = await admin_http.post(
            "/admin/import", params={"project_id": project_id}, json=export
        )
        assert answer.status_code in (400, 404), answer.text
        error: dict[str, Any] = answer.json()["error"]
        return error

    bad_id = {"threads": EXPORT["threads"], "assistants": [assistant("assistant_x", T0, "x")]}
    assert (await refused(bad_id))["param"] == "assistants[0].id"
    twice = {"messages": [message("msg_a1", T0, "user", "a"), message("msg_a1", T0, "user", "b")]}
    assert (await refused(twice))["param"] == "messages[1].id"
    future = {"threads": [{"id": "thread_later1", "created_at": 4_000_000_000}]}
    assert (await refused(future))["param"] == "threads[0].created_at"
    misplaced = {"assistants": EXPORT["threads"]}
    assert (await refused(misplaced))["param"] == "assistants[0].object"
    too_long = {"assistants": [assistant(ASSISTANT_ID, T0, "x" * 300)]}
    assert (await refused(too_long))["param"] == "assistants[0].name"
    unknown_kind: dict[str, Any] = {"runs": []}
    assert (await refused(unknown_kind))["param"] == "runs"
    many = [message(f"msg_m{index}", T0, "user", "m") for index in range(MAX_OBJECTS + 1)]
    too_many = await refused({"messages": listed(many)})
    assert too_many["message"].startswith(f"At most {MAX_OBJECTS} objects per import, got 1001")
    unknown_project = await refused(EXPORT, "proj_nowhere")
    assert unknown_project["message"] == "No project found with id 'proj_nowhere'."
    # Nothing of the valid parts was written.
    assert (await gql(f'{{ thread(id: "{THREAD_ID}") {{ id }} }}'))["thread"] is None


async def test_unknown_fields_are_named_not_kept(
    admin_http: httpx.AsyncClient, openai_client: AsyncOpenAI
) -> None:
    legacy = assistant(TUTOR_ID, T0, "Tutor", file_ids=["file-Old1"])
    report = await imported(admin_http, {"assistants": [legacy]})
    assert report["ignored_fields"] == {"assistants": ["file_ids"]}
    assert (await openai_client.beta.assistants.retrieve(TUTOR_ID)).created_at == T0


async def test_the_command_posts_an_export_file(
    rest_url: str,
    admin_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    openai_client: AsyncOpenAI,
) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"assistants": EXPORT["assistants"]}))
    monkeypatch.setenv("THREADLINE_ADMIN_KEY", admin_key)
    server = rest_url.removesuffix("/v1")
    arguments = ["import-openai", "--url", server, "--project", DEFAULT_PROJECT_ID, str(export)]
    await asyncio.to_thread(main, arguments)
    report = json.loads(capsys.readouterr().out)
    assert report["assistants"]["imported"] == 2
    assert (await openai_client.beta.assistants.retrieve(TUTOR_ID)).created_at == T0 - 200
    monkeypatch.setenv("THREADLINE_ADMIN_KEY", "tl-admin-wrong")
    with pytest.raises(SystemExit) as refused:
        await asyncio.to_thread(main, arguments)
    assert str(refused.value).startswith("threadline import-openai: 401: ")


async def test_messages_wait_for_a_threads_active_run(
    admin_http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    helper = await new_assistant(gql, tools=[function_tool("get_weather")])
    run = await start_run(gql, helper, '/call get_weather {"city": "Oslo"}')
    await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    late = message("msg_late1", T0, "user", "and now?", thread_id=run["threadId"])
    report = await imported(admin_http, {"messages": [late]})
    assert report["messages"] == {"imported": 0, "skipped": 0, "refused": 1}
    assert f"has an active run ({run['id']})" in report["refused"][0]["reason"]
    assert await message_count(run["threadId"]) == 1
