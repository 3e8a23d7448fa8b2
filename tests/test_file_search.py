"""file_search in runs: the built-in model's /search, with a tool_calls step and citations."""

import json
from typing import Any

from tests.graphql import GraphQLClient, ProjectClient
from tests.openai_server import Script, Scripted, ToolCall
from tests.runs import CREATE_RUN, CREATE_THREAD, new_assistant, start_run, wait_for
from tests.vector_stores import new_store, wait_for_store

MANUAL = (
    "Boiler manual.\n\n"
    "Reset the boiler by holding the red button for five seconds.\n\n"
    "The pressure gauge should read between one and two bar."
)
SEARCH_STEPS = """query($id: ID!) { run(id: $id) { steps(order: ASC) { nodes { type status
  stepDetails { ... on ToolCallsDetails { toolCalls { __typename
    ... on FileSearchToolCall { id fileSearch { rankingOptions { ranker scoreThreshold }
      results { fileId fileName score content } } } } } } } } } }"""
ANSWER = """query($id: ID!) { thread(id: $id) { messages(order: ASC) { nodes { role text
  content { ... on TextContent { text { value annotations {
    ... on FileCitationAnnotation { text startIndex endIndex fileId } } } } } } } } }"""
FILE_SEARCH = {"type": "FILE_SEARCH"}
MODEL = "gpt-test"  # any name but the built-in one goes to the test endpoint


async def answer_of(gql: GraphQLClient, thread_id: str) -> dict[str, Any]:
    nodes = (await gql(ANSWER, id=thread_id))["thread"]["messages"]["nodes"]
    assistant: dict[str, Any] = nodes[-1]
    assert assistant["role"] == "ASSISTANT"
    return assistant


def check_citations(answer: dict[str, Any], file_id: str) -> None:
    text = answer["content"][0]["text"]
    assert text["annotations"], f"no citation in {text['value']!r}"
    for annotation in text["annotations"]:
        start, end = annotation["startIndex"], annotation["endIndex"]
        assert text["value"][start:end] == annotation["text"]
        assert annotation["text"][0] == "【"
        assert annotation["text"][-1] == "】"
        assert annotation["fileId"] == file_id


async def test_search_with_the_assistants_store(gql: GraphQLClient) -> None:
    manual = await gql.upload("boiler.md", MANUAL.encode())
    store = await new_store(gql, fileIds=[manual["id"]])
    await wait_for_store(gql, store["id"])
    assistant = await new_assistant(
        gql, tools=[FILE_SEARCH], toolResources={"fileSearch": {"vectorStoreIds": [store["id"]]}}
    )
    run = await start_run(gql, assistant, "/search how do I reset the boiler")
    ended = await wait_for(gql, run["id"])
    assert ended["status"] == "COMPLETED", ended
    steps = (await gql(SEARCH_STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [(s["type"], s["status"]) for s in steps] == [
        ("TOOL_CALLS", "COMPLETED"),
        ("MESSAGE_CREATION", "COMPLETED"),
    ]
    (call,) = steps[0]["stepDetails"]["toolCalls"]
    assert call["__typename"] == "FileSearchToolCall"
    results = call["fileSearch"]["results"]
    assert results[0]["fileId"] == manual["id"]
    assert results[0]["fileName"] == "boiler.md"
    assert "red button" in results[0]["content"]
    assert call["fileSearch"]["rankingOptions"] == {"ranker": "AUTO", "scoreThreshold": 0.0}
    answer = await answer_of(gql, run["threadId"])
    assert "red button" in answer["text"]
    check_citations(answer, manual["id"])


async def test_attachments_make_the_threads_store(gql: GraphQLClient) -> None:
    manual = await gql.upload("boiler.txt", MANUAL.encode())
    assistant = await new_assistant(gql, tools=[FILE_SEARCH])
    message = {
        "content": "/search pressure gauge bar",
        "attachments": [{"fileId": manual["id"], "tools": ["FILE_SEARCH"]}],
    }
    thread = (await gql(CREATE_THREAD, input={"messages": [message]}))["createThread"]
    stores = await gql(
        "query($id: ID!) { thread(id: $id) { toolResources { fileSearch { vectorStoreIds } } } }",
        id=thread["id"],
    )
    (store_id,) = stores["thread"]["toolResources"]["fileSearch"]["vectorStoreIds"]
    store = await gql(
        "query($id: ID!) { vectorStore(id: $id) { expiresAfter { anchor days } } }", id=store_id
    )
    assert store["vectorStore"]["expiresAfter"] == {"anchor": "last_active_at", "days": 7}
    # The run waits for the store's ingestion before it searches.
    run = (await gql(CREATE_RUN, threadId=thread["id"], input={"assistantId": assistant}))[
        "createRun"
    ]
    ended = await wait_for(gql, run["id"], timeout=60)
    assert ended["status"] == "COMPLETED", ended
    answer = await answer_of(gql, thread["id"])
    assert "between one and two bar" in answer["text"]
    check_citations(answer, manual["id"])


async def test_without_the_tool_nothing_is_searched(gql: GraphQLClient) -> None:
    """As with /call and no functions: a model offered no tool cannot call one."""
    assistant = await new_assistant(gql)
    run = await start_run(gql, assistant, "/search anything")
    ended = await wait_for(gql, run["id"])
    assert ended["status"] == "COMPLETED"
    steps = (await gql(SEARCH_STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [step["type"] for step in steps] == ["MESSAGE_CREATION"]


async def test_unknown_or_foreign_file_ids_are_not_found(
    gql: GraphQLClient, other: ProjectClient
) -> None:
    theirs = await other.upload("theirs.txt", b"secret")
    thread = (await gql(CREATE_THREAD, input={}))["createThread"]
    for file_id in ("file-unknown", theirs["id"]):
        for variables in [
            {"content": "hi", "attachments": [{"fileId": file_id, "tools": ["FILE_SEARCH"]}]},
            {"contentParts": [{"type": "IMAGE_FILE", "imageFile": {"fileId": file_id}}]},
        ]:
            error = await gql.error(
                "mutation($t: ID!, $input: CreateMessageInput!) "
                "{ createMessage(threadId: $t, input: $input) { id } }",
                t=thread["id"],
                input=variables,
            )
            assert error["extensions"]["code"] == "NOT_FOUND", error
        resources = {"codeInterpreter": {"fileIds": [file_id]}}
        error = await gql.error(
            "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }",
            input={"toolResources": resources},
        )
        assert error["extensions"]["code"] == "NOT_FOUND"
        error = await gql.error(
            "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { id } }",
            input={"model": "threadline/scripted", "toolResources": resources},
        )
        assert error["extensions"]["code"] == "NOT_FOUND"
    their_store = await new_store(other)
    error = await gql.error(
        "mutation($id: ID!, $input: UpdateThreadInput!) { updateThread(id: $id, input: $input) "
        "{ id } }",
        id=thread["id"],
        input={"toolResources": {"fileSearch": {"vectorStoreIds": [their_store["id"]]}}},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_an_openai_compatible_model_searches_and_cites(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    manual = await gql.upload("boiler.md", MANUAL.encode())
    store = await new_store(gql, fileIds=[manual["id"]])
    await wait_for_store(gql, store["id"])
    answer = "Hold the red button for five seconds【0:0†boiler.md】, then check it【0:7†x】."
    server = endpoint(
        Script(
            tool_calls=[ToolCall("file_search", json.dumps({"query": "reset the boiler"}))],
            after_tools=Script(text=answer),
        )
    )
    assistant = await new_assistant(
        gql,
        model=MODEL,
        tools=[{"type": "FILE_SEARCH", "fileSearch": {"maxNumResults": 3}}],
        toolResources={"fileSearch": {"vectorStoreIds": [store["id"]]}},
    )
    run = await start_run(gql, assistant, "How do I reset my boiler?")
    ended = await wait_for(gql, run["id"])
    assert ended["status"] == "COMPLETED", ended
    # The run did not stop for outputs: Threadline searched and asked the model again.
    first, second = (request.body for request in server.requests)
    assert [tool["function"]["name"] for tool in first["tools"]] == ["file_search"]
    assistant_turn, tool_turn = second["messages"][-2:]
    assert assistant_turn["tool_calls"][0]["function"]["name"] == "file_search"
    assert tool_turn["role"] == "tool"
    assert "【0:0†boiler.md】" in tool_turn["content"]
    assert "red button" in tool_turn["content"]
    message = await answer_of(gql, run["threadId"])
    assert message["text"] == answer
    (citation,) = message["content"][0]["text"]["annotations"]  # 【0:7†x】 names no result
    assert citation["text"] == "【0:0†boiler.md】"
    assert answer[citation["startIndex"] : citation["endIndex"]] == citation["text"]
    assert citation["fileId"] == manual["id"]
    steps = (await gql(SEARCH_STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    results = steps[0]["stepDetails"]["toolCalls"][0]["fileSearch"]["results"]
    assert len(results) == 1
    assert results[0]["fileId"] == manual["id"]
