"""A small, real OpenAI-compatible server for tests (chat completions and embeddings), served
over real HTTP.

    script = Script(text="Hello there", fail_with=[429, 429])
    async with OpenAICompatibleServer(script) as server:
        ...  # point a client at server.base_url; then look at server.requests

It answers `POST /v1/chat/completions` (streaming only) the way OpenAI does: SSE
`chat.completion.chunk`s (a role chunk, the text word by word, each tool call's id and name
then its arguments in pieces, a finish chunk, a usage chunk when asked), then `data: [DONE]`.

It answers `POST /v1/embeddings` too, with `embed`'s vectors: a hashed bag of words, the same
for words of one SYNONYMS group, so a text and a query that share only synonyms are close as
vectors while no word of one is in the other. The model name seeds the hash: two models' vectors
of one text differ, as real models' do.
"""

import asyncio
import base64
import hashlib
import json
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.processes import free_port

ARGUMENT_PIECE = 5  # characters of a tool call's arguments per chunk
EMBEDDING_DIMENSIONS = 512
# Words `embed` does not tell apart: each maps to the first of its group.
SYNONYMS = {
    word: group[0]
    for group in (("physician", "doctor", "medic"), ("automobile", "car"), ("lamp", "lantern"))
    for word in group
}


def embed(text: str, model: str) -> list[float]:
    """A hashed bag of words (synonyms as one word), of unit length; zeros for no words."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(f"{model}|{SYNONYMS.get(word, word)}".encode(), digest_size=8)
        vector[int.from_bytes(digest.digest(), "little") % EMBEDDING_DIMENSIONS] += 1.0
    length = math.sqrt(sum(value * value for value in vector))
    return [value / length for value in vector] if length else vector


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, streamed in pieces of ARGUMENT_PIECE characters
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class Script:
    text: str = ""
    refusal: str = ""  # streamed word by word after the text, as `delta.refusal`
    tool_calls: list[ToolCall] = field(default_factory=list)
    # Statuses answered to the first requests, in order; later requests succeed.
    fail_with: list[int] = field(default_factory=list)
    chunk_delay: float = 0.0  # seconds before each chunk
    # Prompt and completion tokens; None: no usage chunk, even when asked (some servers).
    usage: tuple[int, int] | None = (12, 5)
    # A raw `data:` payload sent after the first chunk: malformed chunks, mid-stream errors…
    inject: str | None = None
    # The last chunk's `finish_reason` ("length", "content_filter"…); None: "tool_calls" when
    # the script calls tools, else "stop".
    finish_reason: str | None = None
    # The answer once the prompt holds tool outputs (a run that runs its own tools asks again
    # at once, before a test could change the script).
    after_tools: "Script | None" = None

    def for_prompt(self, messages: list[dict[str, Any]]) -> "Script":
        answered = any(message.get("role") == "tool" for message in messages)
        return self.after_tools if answered and self.after_tools else self


@dataclass(frozen=True)
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


class OpenAICompatibleServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Received] = []
        # Set when a client goes away before its stream ended.
        self.disconnected = asyncio.Event()
        self.base_url = ""
        self.embedding_requests: list[Received] = []
        # Statuses answered to the first embeddings requests, in order; later ones succeed.
        self.embeddings_fail_with: list[int] = []
        routes = [
            Route("/v1/chat/completions", self._answer, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
        ]
        app = Starlette(routes=routes)
        self._port = free_port()
        config = uvicorn.Config(
            app,
            port=self._port,
            lifespan="off",
            ws="none",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start
                raise RuntimeError("the test server stopped before it started")
            await asyncio.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{self._port}/v1"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task

    async def _answer(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.requests.append(Received(body, dict(request.headers)))
        attempt = len(self.requests) - 1
        if attempt < len(self.script.fail_with):
            status = self.script.fail_with[attempt]
            # Like OpenAI's "Incorrect API key provided: sk-…", but unredacted: the worst case.
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            message = f"Incorrect API key provided: {key}." if status == 401 else "scripted"
            return _error(status, message)
        if body.get("stream") is not True:
            return _error(400, "this test server only streams")
        for needs_tools in ("tool_choice", "parallel_tool_calls"):
            if needs_tools in body and not body.get("tools"):  # as OpenAI refuses them
                return _error(400, f"'{needs_tools}' is only allowed when 'tools' are specified")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        script = self.script.for_prompt(body.get("messages") or [])
        return StreamingResponse(
            self._stream(script, body["model"], include_usage), media_type="text/event-stream"
        )

    async def _embeddings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.embedding_requests.append(Received(body, dict(request.headers)))
        attempt = len(self.embedding_requests) - 1
        if attempt < len(self.embeddings_fail_with):
            return _error(self.embeddings_fail_with[attempt], "scripted")
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not all(isinstance(i, str) and i for i in inputs):
            return _error(400, "'input' must be a non-empty string or a list of them")
        vectors = [embed(text, body["model"]) for text in inputs]
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": index, "embedding": _b64(v) if as_base64 else v}
            for index, v in enumerate(vectors)
        ]
        tokens = sum(len(text.split()) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    async def _stream(self, script: Script, model: str, include_usage: bool) -> AsyncIterator[str]:
        envelope = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_test",
        }
        events = [json.dumps(envelope | part) for part in _parts(script, include_usage)]
        if script.inject is not None:
            events.insert(1, script.inject)
        events.append("[DONE]")
        finished = False
        try:
            for event in events:
                await asyncio.sleep(script.chunk_delay)
                yield f"data: {event}\n\n"
            finished = True
        finally:
            # Starlette cancels this generator when the client disconnects.
            if not finished:
                self.disconnected.set()


def _parts(script: Script, include_usage: bool) -> list[dict[str, Any]]:
    """What differs between the chunks of one answer: their choices and usage."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "", "refusal": None}]
    deltas += [{"content": word} for word in _words(script.text)]
    deltas += [{"content": None, "refusal": word} for word in _words(script.refusal)]
    for index, call in enumerate(script.tool_calls):
        function = {"name": call.name, "arguments": ""}
        first = {"index": index, "id": call.id, "type": "function", "function": function}
        deltas.append({"tool_calls": [first]})
        for start in range(0, len(call.arguments), ARGUMENT_PIECE):
            arguments = call.arguments[start : start + ARGUMENT_PIECE]
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})
    finish_reason = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
    parts = [_choice(delta) for delta in deltas] + [_choice({}, finish_reason)]
    if include_usage and script.usage is not None:
        # `usage: null` on every chunk, then the totals on a last chunk without choices.
        prompt, completion = script.usage
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        parts = [part | {"usage": None} for part in parts]
        parts.append({"choices": [], "usage": usage | {"total_tokens": prompt + completion}})
    return parts


def _b64(vector: list[float]) -> str:
    """As OpenAI sends `encoding_format: base64`: little-endian float32s."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    return {"choices": [choice]}


def _error(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    error = {"message": f"{message} ({status})", "type": kind, "param": None, "code": None}
    # The SDK waits as long as the server asks before retrying: keep the tests fast.
    return JSONResponse({"error": error}, status_code=status, headers={"retry-after-ms": "10"})


# A test's way to set the shared endpoint's script (the `endpoint` fixture): it clears what
# the endpoint received before.
Scripted = Callable[[Script], OpenAICompatibleServer]
