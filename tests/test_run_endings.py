"""What a run tells about itself as it ends, as OpenAI's runs do: usage only once it ended, no
expiry after it, and a completion budget spent by earlier turns ends it `incomplete`."""

import json

from tests.graphql import GraphQLClient
from tests.runs import (
    STEPS,
    SUBMIT,
    function_tool,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
)


async def test_usage_is_null_until_the_run_ends_and_expiry_goes_with_it(
    gql: GraphQLClient,
) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("f")])
    run = await start_run(gql, assistant, "/call f {}")
    assert run["usage"] is None
    assert run["expiresAt"] is not None
    waiting = await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    assert waiting["usage"] is None  # a turn was spent, but the run has not ended
    assert waiting["expiresAt"] is not None
    [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
    await gql(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "1"}])
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    assert done["expiresAt"] is None
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    turns = sum(step["usage"]["totalTokens"] for step in steps)
    assert done["usage"]["totalTokens"] == turns  # both turns, counted once each
    assert done["usage"]["completionTokens"] > 0


async def test_a_budget_spent_by_tool_calls_ends_the_run_incomplete(gql: GraphQLClient) -> None:
    """The tool-call turn writes more than maxCompletionTokens: the next turn has nothing left,
    so the run ends INCOMPLETE rather than asking the model for 0 tokens (which fails)."""
    assistant = await new_assistant(gql, tools=[function_tool("f")])
    arguments = json.dumps({"text": " ".join(f"word{i}" for i in range(300))})
    run = await start_run(gql, assistant, f"/call f {arguments}", maxCompletionTokens=256)
    waiting = await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
    await gql(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "1"}])
    done = await wait_for(gql, run["id"])
    assert done["status"] == "INCOMPLETE", done
    assert done["incompleteDetails"] == {"reason": "max_completion_tokens"}
    assert done["usage"]["completionTokens"] > 256
    # No answer was asked for: the thread holds the question alone.
    assert [m["role"] for m in await thread_messages(gql, run["threadId"])] == ["USER"]
