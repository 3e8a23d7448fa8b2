"""What run tests share: GraphQL documents, an assistant, and waiting for a status."""

import asyncio
from typing import Any

from engine.catalog import SCRIPTED_MODEL
from tests.graphql import GraphQLClient

RUN_FIELDS = """
  id status threadId assistantId model instructions
  lastError { code message } incompleteDetails { reason }
  usage { promptTokens completionTokens totalTokens }
  requiredAction { type submitToolOutputs { toolCalls { id function { name arguments } } } }
  startedAt completedAt cancelledAt failedAt expiresAt
"""
RUN = f"query($id: ID!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}"
CREATE_ASSISTANT = (
    "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { id } }"
)
CREATE_THREAD = "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }"
CREATE_RUN = f"""mutation($threadId: ID!, $input: CreateRunInput!) {{
  createRun(threadId: $threadId, input: $input) {{ {RUN_FIELDS} }} }}"""
CREATE_THREAD_AND_RUN = f"""mutation($input: CreateThreadAndRunInput!) {{
  createThreadAndRun(input: $input) {{ {RUN_FIELDS} }} }}"""
SUBMIT = f"""mutation($runId: ID!, $outputs: [ToolOutputInput!]!) {{
  submitToolOutputs(runId: $runId, toolOutputs: $outputs) {{ {RUN_FIELDS} }} }}"""
CANCEL = f"mutation($runId: ID!) {{ cancelRun(runId: $runId) {{ {RUN_FIELDS} }} }}"
MESSAGES = """query($id: ID!) { thread(id: $id) { messages(order: ASC, first: 100) {
  nodes { id role status text runId incompleteDetails { reason } } } } }"""
STEPS = """query($id: ID!) { run(id: $id) { steps { nodes { id type status usage { totalTokens }
  stepDetails { __typename
    ... on MessageCreationDetails { messageCreation { messageId } }
    ... on ToolCallsDetails { toolCalls { ... on FunctionToolCall {
      id function { name arguments output } } } } } } } } }"""
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "INCOMPLETE", "EXPIRED"}


def function_tool(name: str) -> dict[str, Any]:
    return {"type": "FUNCTION", "function": {"name": name}}


async def new_assistant(gql: GraphQLClient, **fields: Any) -> str:
    data = await gql(CREATE_ASSISTANT, input={"model": SCRIPTED_MODEL, **fields})
    return str(data["createAssistant"]["id"])


async def start_run(
    gql: GraphQLClient, assistant_id: str, text: str, **options: Any
) -> dict[str, Any]:
    """A new thread with one user message, and a run on it."""
    thread = {"messages": [{"content": text}]}
    data = await gql(
        CREATE_THREAD_AND_RUN, input={"assistantId": assistant_id, "thread": thread, **options}
    )
    run: dict[str, Any] = data["createThreadAndRun"]
    return run


async def wait_for(
    gql: GraphQLClient, run_id: str, statuses: set[str] = ENDED, timeout: float = 20
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        run: dict[str, Any] = (await gql(RUN, id=run_id))["run"]
        if run["status"] in statuses:
            return run
        assert loop.time() < deadline, f"run stayed {run['status']}: {run}"
        await asyncio.sleep(0.03)


async def thread_messages(gql: GraphQLClient, thread_id: str) -> list[dict[str, Any]]:
    data = await gql(MESSAGES, id=thread_id)
    nodes: list[dict[str, Any]] = data["thread"]["messages"]["nodes"]
    return nodes


async def wait_until_streaming(gql: GraphQLClient, run_id: str, timeout: float = 60) -> None:
    """Until the run has written its first step (its model is streaming)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (await gql(STEPS, id=run_id))["run"]["steps"]["nodes"]:
        assert loop.time() < deadline, f"run {run_id} never started streaming"
        await asyncio.sleep(0.02)
