"""A run's prompt: instructions, as much of the thread as fits, then the run's own turns."""

import base64
import json
import math
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from engine import tokens
from engine.encodings import TokenizerName
from engine.files import tool as file_search
from engine.sandbox import tool as code_tool
from models import file_storage
from models.file import IMAGE_TYPES, FileDocument, find_live
from models.history import (
    PromptMessage,
    history_mark,
    messages_by_id,
    newest_first,
    oldest_first,
)
from models.history_window import Mark
from models.message import ImageDetail
from models.pagination import twice
from models.run import RunDocument, ToolCall
from models.run_step import steps_of

# `auto` truncation drops the middle of a long thread (OpenAI: "messages in the middle of the
# thread will be dropped"): it keeps the thread's first messages, which often set the task,
# up to HEAD_MESSAGES of them within half the room, then as many of the newest as fit.
HEAD_MESSAGES = 4
# OpenAI's limits on images: 20 MB each, 50 MB in one request. An image past them is named in
# text instead, which also bounds how much of a long thread's images one prompt holds.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_PROMPT_IMAGE_BYTES = 50 * 1024 * 1024
_IMAGES = ("image_file", "image_url")


class PromptTooLarge(Exception):
    """The instructions, the run's own turns and the thread's newest message do not fit."""


class _Room:
    """What is left of the prompt budget as messages are taken: tokens, and image bytes."""

    def __init__(self, tokens_left: int, tokenizer: TokenizerName) -> None:
        self.left = tokens_left
        self.tokenizer = tokenizer
        self.image_bytes = MAX_PROMPT_IMAGE_BYTES

    async def take(self, message: PromptMessage) -> dict[str, Any] | None:
        """The message in the chat shape, its cost taken, when it fits; else None. Its image
        files are read only once it fits (sizing it reads their headers)."""
        draft = await _draft(message, self.image_bytes)
        cost = _cost(message, draft.chat, self.tokenizer)
        if cost > self.left:
            return None
        self.left -= cost
        self.image_bytes -= draft.image_bytes
        return await draft.filled()


def _cost(message: PromptMessage, chat: dict[str, Any], tokenizer: TokenizerName) -> int:
    """`chat`'s tokens. A finished message of text alone keeps its count: its text no longer
    changes (an update changes metadata only), and the next run on the thread may take the
    same message from what the process remembers. Images are counted each time: how they are
    sent can change."""
    if message.status == "in_progress" or any(part.type in _IMAGES for part in message.content):
        return tokens.count_message(chat, tokenizer)
    cost = message.token_counts.get(tokenizer)
    if cost is None:
        cost = message.token_counts[tokenizer] = tokens.count_message(chat, tokenizer)
    return cost


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, Any]]
    tokens: int  # as `tokens.count_messages` counts them: each was counted as it was taken


async def build_prompt(
    run: RunDocument,
    budget: int,
    tokenizer: TokenizerName = tokens.DEFAULT,
    own_turns: bool = True,
) -> Prompt:
    """The prompt within `budget` tokens. The instructions, the run's own turns and the
    thread's newest message always go in (PromptTooLarge when they do not fit); the rest of
    the thread as the run's truncation strategy says. `own_turns` False: the caller knows the
    run has none yet (nothing to read)."""
    system = [{"role": "system", "content": run.instructions}] if run.instructions else []
    own = await _run_turns(run) if own_turns else []
    room = _Room(budget - tokens.count_messages(system + own, tokenizer), tokenizer)
    if room.left < 0:
        raise PromptTooLarge(f"the run's own turns do not fit in {budget} prompt tokens")
    thread = await _thread(run, room)
    return Prompt([*system, *thread, *own], budget - room.left)


async def _thread(run: RunDocument, room: _Room) -> list[dict[str, Any]]:
    """The thread's messages that fit `room`, in order: its newest, then (for `auto`) its
    first few, then the newest back until the room is full or the first few are reached."""
    keep = run.truncation_strategy.last_messages
    mark = await history_mark(run.project_id, run.thread_id)
    head: list[dict[str, Any]] = []
    head_ids: set[str] = set()
    tail: list[dict[str, Any]] = []
    reach = _Reach(room, keep)
    newer = newest_first(run.project_id, run.thread_id, run.id, mark, reach.next_width)
    async with aclosing(newer) as messages:
        async for message in messages:
            if message.id in head_ids or (keep is not None and len(tail) >= keep):
                break  # the whole thread is in, or the newest n are
            left = room.left
            chat = await room.take(message)
            if chat is None and not tail:
                raise PromptTooLarge(f"the newest message does not fit in {room.left} tokens")
            if chat is None:
                break  # the oldest of these that do not fit are dropped
            tail.append(chat)
            reach.took(left - room.left)
            if len(tail) == 1 and keep is None and mark.top > 1:  # one is its own head
                head, head_ids = await _head(run, message.id, room, mark)
    return [*head, *reversed(tail)]


class _Reach:
    """How far back the room reaches: the width of the next range of the thread to read, as
    many as fit at what the messages taken so far cost on average, and the one after them
    (the first that does not fit ends the prompt). A long thread is read in about as many
    messages as fit, where doubling ranges read up to twice that; when older ones are
    smaller and more fit, in a range more. A range that gave nothing (deleted messages, or
    the run's own) is followed by one at least twice as wide, so holes cost few reads."""

    SMALLEST = 8  # near the room's end: a few more, not one at a time

    def __init__(self, room: _Room, keep: int | None) -> None:
        self.room = room
        self.keep = keep
        self.taken = 0
        self.tokens = 0
        self.taken_by_last_range = 0

    def took(self, tokens: int) -> None:
        self.taken += 1
        self.tokens += tokens

    def next_width(self, last: int) -> int:
        if not self.taken:
            return twice(last)
        fit = math.ceil(self.room.left * self.taken / max(1, self.tokens)) + 1
        if self.keep is not None:
            fit = min(fit, self.keep - self.taken)
        if self.taken == self.taken_by_last_range:
            fit = max(fit, twice(last))
        self.taken_by_last_range = self.taken
        return max(self.SMALLEST, fit)


async def _head(
    run: RunDocument, newest_id: str, room: _Room, mark: Mark
) -> tuple[list[dict[str, Any]], set[str]]:
    """The thread's first messages that fit in half the room, in order."""
    share = _Room(room.left // 2, room.tokenizer)
    share.image_bytes = room.image_bytes
    head: list[dict[str, Any]] = []
    ids: set[str] = set()
    first = await oldest_first(run.project_id, run.thread_id, run.id, HEAD_MESSAGES, mark)
    for message in first:
        chat = None if message.id == newest_id else await share.take(message)
        if chat is None:
            break
        head.append(chat)
        ids.add(message.id)
    room.left -= room.left // 2 - share.left
    room.image_bytes = share.image_bytes
    return head, ids


async def as_chat(message: PromptMessage) -> dict[str, Any]:
    """The message for the model (see `_draft`), its image files read."""
    return await (await _draft(message, MAX_PROMPT_IMAGE_BYTES)).filled()


@dataclass
class _Draft:
    """A message in the chat shape whose image files are not read yet: each one's data URL
    holds only the file's header, which is all that its token cost is computed from."""

    chat: dict[str, Any]
    files: list[tuple[int, FileDocument]] = field(default_factory=list)  # content index, file
    image_bytes: int = 0  # what reading them will hold

    async def filled(self) -> dict[str, Any]:
        for index, file in self.files:
            part = self.chat["content"][index]
            url = await _data_url(file)
            if url is None:  # deleted since it was sized
                self.chat["content"][index] = _text_part(_gone(file.id))
            else:
                part["image_url"]["url"] = url
        return self.chat


async def _draft(message: PromptMessage, image_bytes_left: int) -> _Draft:
    """Text parts as text; image parts as chat image parts in a user message (OpenAI takes
    images from users only), else named in text, as are image files that cannot be sent.
    A message without images keeps plain string content."""
    draft = _Draft({"role": message.role, "content": []})
    content: list[dict[str, Any]] = draft.chat["content"]

    def say(text: str) -> None:  # consecutive text parts as one, a line apart
        if content and content[-1]["type"] == "text":
            content[-1]["text"] += "\n" + text
        else:
            content.append(_text_part(text))

    inline = message.role == "user"
    for part in message.content:
        if part.text or part.refusal:
            say(part.text.value if part.text else part.refusal or "")
        elif part.image_url:
            url = str(part.image_url.url)
            if inline:
                content.append(_image_part(url, part.image_url.detail))
            else:
                say(f"[image {url}]")
        elif part.image_file and not inline:
            say(f"[image {part.image_file.file_id}]")
        elif part.image_file:
            file_id = part.image_file.file_id
            file = await find_live(message.project_id, file_id)
            if file is None:
                say(_gone(file_id))
            elif file.content_type not in IMAGE_TYPES:
                say(f"[image {file_id}: {file.content_type} is not an image type]")
            elif file.bytes > MAX_IMAGE_BYTES:
                say(f"[image {file_id}: larger than {_mb(MAX_IMAGE_BYTES)}, not shown]")
            elif draft.image_bytes + file.bytes > image_bytes_left:
                say(f"[image {file_id}: not shown, past {_mb(MAX_PROMPT_IMAGE_BYTES)} of images]")
            else:
                head = await file_storage.head(file.id, tokens.IMAGE_HEAD_BYTES)
                url = _data_url_prefix(file) + base64.b64encode(head).decode("ascii")
                draft.files.append((len(content), file))
                content.append(_image_part(url, part.image_file.detail))
                draft.image_bytes += file.bytes
    if all(part["type"] == "text" for part in content):
        draft.chat["content"] = content[0]["text"] if content else ""
    return draft


def _image_part(url: str, detail: ImageDetail) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _gone(file_id: str) -> str:
    return f"[image {file_id}: the file was deleted]"


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def _data_url_prefix(file: FileDocument) -> str:
    return f"data:{file.content_type};base64,"


async def _data_url(file: FileDocument) -> str | None:
    """The file as a data URL, encoded a chunk at a time (its raw bytes are never held
    whole); None when its bytes are gone."""
    encoded = [_data_url_prefix(file)]
    size, rest = 0, b""
    async for chunk in file_storage.chunks(file.id):
        size += len(chunk)
        data = rest + chunk
        cut = len(data) - len(data) % 3  # whole base64 quanta: the pieces join unpadded
        encoded.append(base64.b64encode(data[:cut]).decode("ascii"))
        rest = data[cut:]
    if size != file.bytes:
        return None
    encoded.append(base64.b64encode(rest).decode("ascii"))
    return "".join(encoded)


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
                turns.append(await as_chat(message))
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
