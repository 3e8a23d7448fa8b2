"""A run's prompt: instructions, as much of the thread as fits, then the run's own turns."""

import json
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from engine import tokens
from engine.encodings import TokenizerName
from engine.files import tool as file_search
from engine.sandbox import tool as code_tool
from models.history import messages_by_id, newest_first, oldest_first
from models.message import MessageDocument
from models.run import RunDocument, ToolCall
from models.run_step import steps_of

# `auto` truncation drops the middle of a long thread (OpenAI: "messages in the middle of the
# thread will be dropped"): it keeps the thread's first messages, which often set the task,
# up to HEAD_MESSAGES of them within half the room, then as many of the newest as fit.
HEAD_MESSAGES = 4


class PromptTooLarge(Exception):
    """The instructions, the run's own turns and the thread's newest message do not fit."""


class _Room:
    """What is left of the prompt budget as messages are taken."""

    def __init__(self, tokens_left: int, tokenizer: TokenizerName) -> None:
        self.left = tokens_left
        self.tokenizer = tokenizer

    def take(self, message: MessageDocument) -> dict[str, Any] | None:
        """The message in the chat shape, its cost taken, when it fits; else None."""
        chat = as_chat(message)
        cost = tokens.count_message(chat, self.tokenizer)
        if cost > self.left:
            return None
        self.left -= cost
        return chat


async def build_prompt(
    run: RunDocument, budget: int, tokenizer: TokenizerName = tokens.DEFAULT
) -> list[dict[str, Any]]:
    """The prompt within `budget` tokens. The instructions, the run's own turns and the
    thread's newest message always go in (PromptTooLarge when they do not fit); the rest of
    the thread as the run's truncation strategy says."""
    system = [{"role": "system", "content": run.instructions}] if run.instructions else []
    own = await _run_turns(run)
    room = _Room(budget - tokens.count_messages(system + own, tokenizer), tokenizer)
    if room.left < 0:
        raise PromptTooLarge(f"the run's own turns do not fit in {budget} prompt tokens")
    return [*system, *await _thread(run, room), *own]


async def _thread(run: RunDocument, room: _Room) -> list[dict[str, Any]]:
    """The thread's messages that fit `room`, in order: its newest, then (for `auto`) its
    first few, then the newest back until the room is full or the first few are reached."""
    keep = run.truncation_strategy.last_messages
    head: list[dict[str, Any]] = []
    head_ids: set[str] = set()
    tail: list[dict[str, Any]] = []
    async with aclosing(newest_first(run.project_id, run.thread_id, run.id)) as newer:
        async for message in newer:
            if message.id in head_ids or (keep is not None and len(tail) >= keep):
                break  # the whole thread is in, or the newest n are
            chat = room.take(message)
            if chat is None and not tail:
                raise PromptTooLarge(f"the newest message does not fit in {room.left} tokens")
            if chat is None:
                break  # the oldest of these that do not fit are dropped
            tail.append(chat)
            if len(tail) == 1 and keep is None:
                head, head_ids = await _head(run, message.id, room)
    return [*head, *reversed(tail)]


async def _head(
    run: RunDocument, newest_id: str, room: _Room
) -> tuple[list[dict[str, Any]], set[str]]:
    """The thread's first messages that fit in half the room, in order."""
    share = _Room(room.left // 2, room.tokenizer)
    head: list[dict[str, Any]] = []
    ids: set[str] = set()
    for message in await oldest_first(run.project_id, run.thread_id, run.id, HEAD_MESSAGES):
        chat = None if message.id == newest_id else share.take(message)
        if chat is None:
            break
        head.append(chat)
        ids.add(message.id)
    room.left -= room.left // 2 - share.left
    return head, ids


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
    searches = 0  # the `call` number of file_search citation markers
    for step in steps:
        details = step.step_details
        if details.message_creation and step.status == "completed":
            message = written.get(details.message_creation.message_id)
            if message is not None:
                turns.append(as_chat(message))
        answered: list[tuple[ToolCall, str, str]] = []  # call, arguments, output
        for call in details.tool_calls:
            if call.file_search is not None:
                arguments = json.dumps({"query": call.file_search.query})
                answered.append((call, arguments, file_search.output(searches, call)))
                searches += 1
            elif call.code_interpreter is not None and step.status == "completed":
                arguments = json.dumps({"code": call.code_interpreter.input})
                answered.append((call, arguments, code_tool.output(call)))
            elif call.function and call.function.output is not None:
                answered.append((call, call.function.arguments, call.function.output))
        if answered and len(answered) == len(details.tool_calls):
            turns.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": _name(call), "arguments": arguments},
                        }
                        for call, arguments, _ in answered
                    ],
                }
            )
            turns.extend(
                {"role": "tool", "tool_call_id": call.id, "content": output}
                for call, _, output in answered
            )
    return turns


def _name(call: ToolCall) -> str:
    if call.type == "code_interpreter":
        return code_tool.NAME
    return call.function.name if call.function else file_search.NAME


@dataclass(frozen=True)
class Progress:
    """What the run did in earlier turns, read from its prompt."""

    tool_outputs: int  # answered tool calls (a forced tool_choice holds for the first turn)
    searches: int  # file_search calls
    code_runs: int = 0  # code_interpreter calls

    @classmethod
    def of(cls, messages: list[dict[str, Any]]) -> "Progress":
        calls = [call["function"]["name"] for m in messages for call in m.get("tool_calls") or []]
        return cls(
            sum(1 for m in messages if m["role"] == "tool"),
            calls.count(file_search.NAME),
            calls.count(code_tool.NAME),
        )


FIRST_TURN = Progress(0, 0)


def chat_tools(
    run: RunDocument, progress: Progress = FIRST_TURN, code_files: list[str] | None = None
) -> list[dict[str, Any]]:
    """The run's function tools in the chat-completions shape, and the built-in tools as
    functions while the run used each fewer than its maximum (a model that keeps searching,
    or running code, stops). `code_files`: the names code_interpreter finds in /mnt/data."""
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
    if file_search.offered(run) and progress.searches < file_search.MAX_SEARCHES:
        found.append(file_search.chat_tool())
    if code_tool.offered(run) and progress.code_runs < code_tool.MAX_CALLS:
        found.append(code_tool.chat_tool(code_files or []))
    return found


def chat_tool_choice(
    run: RunDocument, progress: Progress = FIRST_TURN
) -> str | dict[str, Any] | None:
    """The run's `tool_choice` for the endpoint, which sees built-in tools as functions.

    None (left out) when no tool is sent: OpenAI refuses a `tool_choice` without `tools`.
    A forced tool is forced in the run's first turn only (then "auto"), or a run that
    calls a built-in tool itself would never stop. A forced built-in tool forces its
    function; one the run does not have forbids every function this turn ("none")."""
    if not chat_tools(run, progress):
        return None
    choice = run.tool_choice
    if progress.tool_outputs and choice.type in ("function", "file_search", "code_interpreter"):
        return "auto"
    if choice.type == "function":
        return {"type": "function", "function": {"name": choice.function_name}}
    builtin = {"file_search": file_search, "code_interpreter": code_tool}.get(choice.type)
    if builtin is not None:
        offered = builtin.offered(run)
        return {"type": "function", "function": {"name": builtin.NAME}} if offered else "none"
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
