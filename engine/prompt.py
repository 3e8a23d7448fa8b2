"""A run's prompt: instructions, as much of the thread as fits, then the run's own turns."""

import json
from typing import Any

from engine import tokens
from engine.encodings import TokenizerName
from models.history import messages_by_id, newest_first
from models.message import MessageDocument
from models.run import RunDocument
from models.run_step import steps_of


class PromptTooLarge(Exception):
    """Not even the newest message fits the prompt budget."""


async def build_prompt(
    run: RunDocument, context_tokens: int, tokenizer: TokenizerName = tokens.DEFAULT
) -> list[dict[str, Any]]:
    system = [{"role": "system", "content": run.instructions}] if run.instructions else []
    own = await _run_turns(run)
    budget = min(context_tokens, run.max_prompt_tokens or context_tokens)
    used = tokens.count_messages(system + own, tokenizer)
    keep = run.truncation_strategy.last_messages
    history: list[dict[str, Any]] = []
    async for message in newest_first(run.project_id, run.thread_id, run.id):
        if keep is not None and len(history) >= keep:
            break
        chat = as_chat(message)
        cost = tokens.count_message(chat, tokenizer)
        if used + cost > budget:
            break  # `auto`: the oldest messages that do not fit are dropped
        history.append(chat)
        used += cost
    if not history and not own:
        raise PromptTooLarge(f"the newest message does not fit in {budget} prompt tokens")
    return [*system, *reversed(history), *own]


def as_chat(message: MessageDocument) -> dict[str, Any]:
    """Text for the model; images are named, since not every endpoint takes them."""
    parts = []
    for part in message.content:
        if part.text:
            parts.append(part.text.value)
        elif part.image_file:
            parts.append(f"[image {part.image_file.file_id}]")
        elif part.image_url:
            parts.append(f"[image {part.image_url.url}]")
        elif part.refusal:
            parts.append(part.refusal)
    return {"role": message.role, "content": "\n".join(parts)}


async def _run_turns(run: RunDocument) -> list[dict[str, Any]]:
    """What the run itself said and did so far: tool calls with their outputs, answers."""
    steps = await steps_of(run.id, run.project_id)
    ids = [
        s.step_details.message_creation.message_id for s in steps if s.step_details.message_creation
    ]
    written = await messages_by_id(run.project_id, ids) if ids else {}
    turns: list[dict[str, Any]] = []
    for step in steps:
        details = step.step_details
        if details.message_creation and step.status == "completed":
            message = written.get(details.message_creation.message_id)
            if message is not None:
                turns.append(as_chat(message))
        calls = [call for call in details.tool_calls if call.function]
        if calls and all(call.function and call.function.output is not None for call in calls):
            turns.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {
                                "name": c.function.name,
                                "arguments": c.function.arguments,
                            },
                        }
                        for c in calls
                        if c.function
                    ],
                }
            )
            turns.extend(
                {"role": "tool", "tool_call_id": c.id, "content": c.function.output}
                for c in calls
                if c.function
            )
    return turns


def chat_tools(run: RunDocument) -> list[dict[str, Any]]:
    """The run's function tools in the chat-completions shape."""
    found = []
    for tool in run.tools:
        if tool.type == "function" and tool.function:
            function: dict[str, Any] = {"name": tool.function.name}
            if tool.function.description:
                function["description"] = tool.function.description
            function["parameters"] = tool.function.parameters or {
                "type": "object",
                "properties": {},
            }
            if tool.function.strict is not None:
                function["strict"] = tool.function.strict
            found.append({"type": "function", "function": function})
    return found


def chat_tool_choice(run: RunDocument) -> str | dict[str, Any] | None:
    """The run's `tool_choice` for the endpoint, which sees only the function tools.

    None (left out) when no function tool is sent: OpenAI refuses a `tool_choice` without
    `tools`. A forced built-in tool (`file_search`, `code_interpreter`) forbids every function
    this turn, so the functions get "none"; Threadline does not execute built-in tools yet, so
    the model answers without any tool rather than being forced to call some function."""
    if not chat_tools(run):
        return None
    choice = run.tool_choice
    if choice.type == "function":
        return {"type": "function", "function": {"name": choice.function_name}}
    if choice.type in ("file_search", "code_interpreter"):
        return "none"
    return choice.type


def chat_response_format(run: RunDocument) -> dict[str, Any] | None:
    form = run.response_format
    if form is None or form.type in ("auto", "text"):
        return None
    if form.type == "json_object" or form.json_schema is None:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": json.loads(
            form.json_schema.model_dump_json(by_alias=True, exclude_none=True)
        ),
    }
