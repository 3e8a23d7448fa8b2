"""`threadline/scripted`: a deterministic model that needs no network (see api.md).

It reads the newest user message of the prompt and follows its directives: `/call NAME
{json}`, `/search QUERY`, `/python` (code to the end, or a fenced block), `/fail`, `/slow MS`,
`/tokens N`; anything else is echoed as "You said: …"."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from engine import tokens
from engine.providers.base import (
    ChatRequest,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from engine.providers.json_shapes import example_of
from models.ids import new_id

_CALL = re.compile(r"^/call\s+(\S+)\s*(.*)$")
_SEARCH = re.compile(r"^/search\s+(.+)$")
SEARCH_TOOL = "file_search"
CODE_TOOL = "code_interpreter"  # the name engine/sandbox/tool.py offers the model
_FENCE = re.compile(r"^\s*```")
_WORD = re.compile(r"\w+")  # the name engine/files/tool.py offers the model
# A result in a file_search output: its citation marker line, then its text.
_RESULT = re.compile(r"^(【\d+:\d+†[^】]*】)\n(.*?)(?=\n\n【|\Z)", re.MULTILINE | re.DOTALL)
_SLOW = re.compile(r"^/slow\s+(\d{1,6})$")
_TOKENS = re.compile(r"^/tokens\s+(\d{1,6})$")


@dataclass(frozen=True)
class Directives:
    calls: list[tuple[str, str]]
    fail: bool
    delay: float
    token_count: int | None
    text: str


def read_directives(message: str) -> Directives:
    calls, plain, fail, delay, token_count = [], [], False, 0.0, None
    lines = message.splitlines()
    while lines:
        line = lines.pop(0)
        stripped = line.strip()
        if stripped == "/python" or stripped.startswith("/python "):
            code, lines = _code(stripped[len("/python") :].strip(), lines)
            calls.append((CODE_TOOL, json.dumps({"code": code})))
        elif match := _CALL.match(stripped):
            calls.append((match[1], _arguments(match[1], match[2])))
        elif match := _SEARCH.match(stripped):
            calls.append((SEARCH_TOOL, json.dumps({"query": match[1].strip()})))
        elif match := _SLOW.match(stripped):
            delay = int(match[1]) / 1000
        elif match := _TOKENS.match(stripped):
            token_count = int(match[1])
        elif stripped == "/fail":
            fail = True
        else:
            plain.append(line)
    return Directives(calls, fail, delay, token_count, "\n".join(plain).strip())


def _code(inline: str, lines: list[str]) -> tuple[str, list[str]]:
    """A /python line's code, and the lines after it: a fenced block that follows it, or
    everything to the end of the message."""
    if inline:
        return inline, lines
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and _FENCE.match(lines[first]):
        block = lines[first + 1 :]
        end = next((i for i, line in enumerate(block) if _FENCE.match(line)), len(block))
        return "\n".join(block[:end]), block[end + 1 :]
    return "\n".join(lines), []


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """A chat message's text: its string, or its text parts (images are not read)."""
    if isinstance(content, list):
        return "\n".join(part["text"] for part in content if part.get("type") == "text")
    return content or ""


def _arguments(name: str, raw: str) -> str:
    try:
        arguments = json.loads(raw or "{}")
    except json.JSONDecodeError:
        raise ProviderError("invalid_prompt", f"/call {name}: arguments must be JSON.") from None
    if not isinstance(arguments, dict):
        raise ProviderError("invalid_prompt", f"/call {name}: arguments must be a JSON object.")
    return json.dumps(arguments)


class ScriptedProvider:
    async def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        newest = max(
            (i for i, m in enumerate(request.messages) if m["role"] == "user"), default=None
        )
        if newest is None:
            raise ProviderError("invalid_prompt", "The thread has no user message to answer.")
        directives = read_directives(text_of(request.messages[newest]["content"]))
        if directives.fail:
            raise ProviderError("server_error", "The scripted model failed, as asked (/fail).")
        later = request.messages[newest + 1 :]
        outputs = [m for m in later if m["role"] == "tool"]
        calls = _calls_to_make(request, directives, len(outputs))
        prompt_tokens = tokens.count_messages(request.messages)
        if calls:
            for index, (name, arguments) in enumerate(calls):
                yield ToolCallDelta(index, id=new_id("call"), name=name)
                half = len(arguments) // 2
                for piece in (arguments[:half], arguments[half:]):
                    yield ToolCallDelta(index, arguments=piece)
            written = sum(tokens.count(name) + tokens.count(args) for name, args in calls)
            yield Usage(prompt_tokens, written)
            return
        pieces = _answer_pieces(request, directives, later)
        for piece in pieces:
            if directives.delay:
                await asyncio.sleep(directives.delay)
            yield TextDelta(piece)
        yield Usage(prompt_tokens, tokens.count("".join(pieces)))


def _calls_to_make(
    request: ChatRequest, directives: Directives, done: int
) -> list[tuple[str, str]]:
    """The tool calls of this turn: the /call lines not yet answered, all at once when
    parallel calls are allowed, else the next one; shaped by `tool_choice`."""
    names = {tool["function"]["name"] for tool in request.tools if tool["type"] == "function"}
    choice = request.tool_choice
    if choice == "none" or not names:
        return []
    wanted = directives.calls
    if isinstance(choice, dict):
        forced = choice["function"]["name"]
        wanted = [call for call in wanted if call[0] == forced] or [(forced, "{}")]
    elif choice == "required" and not wanted:
        wanted = [(sorted(names)[0], "{}")]
    for name, _ in wanted:
        if name not in names:
            if name == SEARCH_TOOL:
                raise ProviderError("invalid_prompt", "/search: the run has no FILE_SEARCH tool.")
            if name == CODE_TOOL:
                raise ProviderError(
                    "invalid_prompt", "/python: the run has no CODE_INTERPRETER tool."
                )
            raise ProviderError("invalid_prompt", f"/call {name}: no function tool is named so.")
    remaining = wanted[done:]
    return remaining if request.parallel_tool_calls else remaining[:1]


def _answer_pieces(
    request: ChatRequest, directives: Directives, later: list[dict[str, Any]]
) -> list[str]:
    if directives.token_count is not None:
        return (
            ["hello"] + [" hello"] * (directives.token_count - 1) if directives.token_count else []
        )
    answer = _answer_text(directives.text, later)
    form = request.response_format or {}
    if form.get("type") == "json_object":
        answer = json.dumps({"answer": answer})
    elif form.get("type") == "json_schema":
        answer = json.dumps(example_of(form["json_schema"].get("schema") or {}, answer))
    return re.findall(r"\s*\S+", answer) or [answer]


def _answer_text(text: str, later: list[dict[str, Any]]) -> str:
    """After tool outputs: one answer naming each tool and its output."""
    calls = {call["id"]: call for message in later for call in message.get("tool_calls") or []}
    names = {call_id: call["function"]["name"] for call_id, call in calls.items()}
    results = []
    for message in later:
        if message["role"] != "tool":
            continue
        name = names.get(message["tool_call_id"], "tool")
        if name == SEARCH_TOOL:
            arguments = json.loads(calls[message["tool_call_id"]]["function"]["arguments"])
            results.append(_quote(str(message["content"]), str(arguments.get("query", ""))))
        else:
            results.append(f"{name} returned {message['content']}")
    if results:
        return "Tool results: " + "; ".join(results) + "."
    return f"You said: {text}"


def _quote(output: str, query: str) -> str:
    """The line of the best result that shares most words with the query, quoted, then the
    result's citation marker."""
    best = _RESULT.search(output)
    if best is None:
        return "file_search found nothing"
    wanted = set(_WORD.findall(query.lower()))
    lines = [line.strip() for line in best[2].splitlines() if line.strip()] or [""]
    line = max(lines, key=lambda line: len(wanted & set(_WORD.findall(line.lower()))))
    return f'file_search found "{line[:300]}"{best[1]}'
