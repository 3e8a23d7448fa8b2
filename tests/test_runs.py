"""Runs over real HTTP, executed by the app's real workers on the real database."""

import asyncio
import json

import pytest

from models.thread import ThreadDocument
from tests.graphql import GraphQLClient
from tests.runs import (
    CREATE_RUN,
    CREATE_THREAD,
    CREATE_THREAD_AND_RUN,
    STEPS,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
)

COUNT_THREADS = "{ assistants { nodes { id } } }"


async def test_a_run_answers_and_records_its_step_and_usage(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, instructions="Be brief.")
    run = await start_run(gql, assistant, "hello there")
    assert run["status"] == "QUEUED"
    assert run["instructions"] == "Be brief."
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    assert done["startedAt"]
    assert done["completedAt"]
    messages = await thread_messages(gql, run["threadId"])
    assert [(m["role"], m["text"]) for m in messages] == [
        ("USER", "hello there"),
        ("ASSISTANT", "You said: hello there"),
    ]
    assert messages[1]["runId"] == run["id"]
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [(s["type"], s["status"]) for s in steps] == [("MESSAGE_CREATION", "COMPLETED")]
    assert steps[0]["stepDetails"]["messageCreation"]["messageId"] == messages[1]["id"]
    usage = done["usage"]
    assert usage["completionTokens"] == 5  # "You said: hello there" in cl100k_base
    assert usage["promptTokens"] > 5
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
    assert steps[0]["usage"]["totalTokens"] == usage["totalTokens"]


async def test_fail_directive_fails_the_run_with_server_error(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "/fail")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "FAILED"
    assert done["lastError"]["code"] == "SERVER_ERROR"
    assert done["failedAt"]


async def test_max_completion_tokens_ends_incomplete(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "/tokens 300", maxCompletionTokens=256)
    done = await wait_for(gql, run["id"])
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] == {"reason": "max_completion_tokens"}
    assert done["usage"]["completionTokens"] == 256
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["status"] == "INCOMPLETE"
    assert answer["incompleteDetails"] == {"reason": "max_tokens"}
    assert answer["text"].count("hello") == 256


async def test_exactly_the_budget_completes(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "/tokens 256", maxCompletionTokens=256)
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    assert done["usage"]["completionTokens"] == 256


async def test_one_active_run_per_thread_under_concurrent_creates(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    thread = await gql(CREATE_THREAD, input={"messages": [{"content": "/slow 50\nhi"}]})
    thread_id = thread["createThread"]["id"]
    bodies = await asyncio.gather(
        *(
            gql.execute(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
            for _ in range(8)
        )
    )
    created = [b["data"]["createRun"] for b in bodies if b.get("data")]
    codes = [b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")]
    assert len(created) == 1
    assert codes == ["CONFLICT"] * 7
    runs = await gql(
        "query($id: ID!) { thread(id: $id) { runs { nodes { id } } activeRun { id } } }",
        id=thread_id,
    )
    assert [r["id"] for r in runs["thread"]["runs"]["nodes"]] == [created[0]["id"]]
    assert runs["thread"]["activeRun"]["id"] == created[0]["id"]
    await wait_for(gql, created[0]["id"])
    again = await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
    assert again["createRun"]["status"] == "QUEUED"  # the thread is free once the run ended


async def test_create_message_while_a_run_is_active_conflicts(gql: GraphQLClient) -> None:
    words = " ".join(f"w{i}" for i in range(60))  # ~6 s: active through every request below
    run = await start_run(gql, await new_assistant(gql), f"/slow 100\n{words}")
    error = await gql.error(
        'mutation($id: ID!) { createMessage(threadId: $id, input: {content: "x"}) { id } }',
        id=run["threadId"],
    )
    assert error["extensions"]["code"] == "CONFLICT"
    document = (await gql.upload("doc.md", b"# A document"))["id"]
    attachments = [{"fileId": document, "tools": ["FILE_SEARCH", "CODE_INTERPRETER"]}]
    error = await gql.error(
        """mutation($id: ID!, $attachments: [AttachmentInput!]) { createMessage(threadId: $id,
          input: {content: "x", attachments: $attachments}) { id } }""",
        id=run["threadId"],
        attachments=attachments,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    extra = {"content": "x", "attachments": attachments}
    second = {"assistantId": run["assistantId"], "additionalMessages": [extra]}
    error = await gql.error(CREATE_RUN, threadId=run["threadId"], input=second)
    assert error["extensions"]["code"] == "CONFLICT"
    await wait_for(gql, run["id"])
    assert len(await thread_messages(gql, run["threadId"])) == 2
    # the refused message's files joined nothing: no store was made, no file was added
    thread = await gql(
        """query($id: ID!) { thread(id: $id) { toolResources {
          fileSearch { vectorStoreIds } codeInterpreter { fileIds } } } }""",
        id=run["threadId"],
    )
    assert thread["thread"]["toolResources"] in (
        None,
        {"fileSearch": None, "codeInterpreter": None},
    )


async def test_create_thread_and_run_writes_nothing_when_the_run_is_bad(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    before = await gql("{ assistants { nodes { id } } }")
    error = await gql.error(
        CREATE_THREAD_AND_RUN,
        input={
            "assistantId": assistant,
            "thread": {"messages": [{"content": "hi"}]},
            "maxPromptTokens": 255,
        },
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "maxPromptTokens" in error["message"]
    assert await ThreadDocument.count() == 0
    assert await gql("{ assistants { nodes { id } } }") == before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"topP": -0.1}, "topP"),
        ({"maxCompletionTokens": 255}, "maxCompletionTokens"),
        ({"truncationStrategy": {"type": "LAST_MESSAGES"}}, "lastMessages"),
        ({"truncationStrategy": {"type": "LAST_MESSAGES", "lastMessages": 0}}, "lastMessages"),
        ({"toolChoice": {"type": "FUNCTION"}}, "function"),
        ({"model": "x" * 257}, "model"),
        ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"additionalMessages": [{"content": ""}]}, "additionalMessages[0]"),
    ],
)
async def test_bad_run_options_are_rejected_and_nothing_is_written(
    gql: GraphQLClient, options: dict[str, object], field: str
) -> None:
    assistant = await new_assistant(gql)
    thread_id = (await gql(CREATE_THREAD, input={"messages": [{"content": "hi"}]}))["createThread"][
        "id"
    ]
    error = await gql.error(
        CREATE_RUN, threadId=thread_id, input={"assistantId": assistant, **options}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert field in error["message"]
    runs = await gql("query($id: ID!) { thread(id: $id) { runs { nodes { id } } } }", id=thread_id)
    assert runs["thread"]["runs"]["nodes"] == []
    assert len(await thread_messages(gql, thread_id)) == 1


async def test_unknown_thread_and_assistant_are_not_found(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    error = await gql.error(CREATE_RUN, threadId="thread_nope", input={"assistantId": assistant})
    assert error["extensions"]["code"] == "NOT_FOUND"
    thread_id = (await gql(CREATE_THREAD))["createThread"]["id"]
    error = await gql.error(CREATE_RUN, threadId=thread_id, input={"assistantId": "asst_nope"})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await gql('query { run(id: "run_nope") { id } runStep(id: "step_x") { id } }')) == {
        "run": None,
        "runStep": None,
    }


async def test_update_run_changes_metadata_only(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "hi", metadata={"a": "1"})
    await wait_for(gql, run["id"])
    updated = await gql(
        'mutation($id: ID!) { updateRun(id: $id, input: {metadata: {b: "2"}}) '
        "{ status metadata } }",
        id=run["id"],
    )
    assert updated["updateRun"] == {"status": "COMPLETED", "metadata": {"b": "2"}}


async def test_node_finds_runs_and_steps(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "hi")
    await wait_for(gql, run["id"])
    step_id = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"][0]["id"]
    for object_id, kind in ((run["id"], "Run"), (step_id, "RunStep")):
        found = await gql("query($id: ID!) { node(id: $id) { __typename id } }", id=object_id)
        assert found["node"] == {"__typename": kind, "id": object_id}


async def test_json_object_response_format_answers_json(gql: GraphQLClient) -> None:
    run = await start_run(
        gql, await new_assistant(gql), "hello", responseFormat={"type": "JSON_OBJECT"}
    )
    await wait_for(gql, run["id"])
    answer = (await thread_messages(gql, run["threadId"]))[-1]["text"]
    assert json.loads(answer) == {"answer": "You said: hello"}


async def test_json_schema_response_format_answers_a_matching_object(gql: GraphQLClient) -> None:
    schema = {
        "type": "object",
        "properties": {"reply": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["reply", "count"],
    }
    form = {"type": "JSON_SCHEMA", "jsonSchema": {"name": "reply", "schema": schema}}
    run = await start_run(gql, await new_assistant(gql), "hi", responseFormat=form)
    await wait_for(gql, run["id"])
    answer = json.loads((await thread_messages(gql, run["threadId"]))[-1]["text"])
    assert answer == {"reply": "You said: hi", "count": 0}
