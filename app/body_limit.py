"""A cap on request bodies, checked before anything parses them (ASGI middleware).

The body is read into memory up to the cap (GraphQL requests are parsed whole anyway), then
replayed to the app; one byte more and the client gets 413 with a coded error.

Multipart uploads are the exception: they stream through (the form parser spools files to
disk), capped by their declared Content-Length, which the HTTP server holds them to.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for a multipart request's other fields (`operations`, `map`) and part headers.
FORM_OVERHEAD_BYTES = 1024 * 1024


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            await self.upload(scope, receive, send, headers.get(b"content-length"))
            return
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self.refuse(send, scope["path"])
            return
        body = await self.read(receive)
        if body is None:
            await self.refuse(send, scope["path"])
            return
        await self.app(scope, replay(body, receive), send)

    async def upload(
        self, scope: Scope, receive: Receive, send: Send, declared: bytes | None
    ) -> None:
        limit = self.max_upload_bytes + FORM_OVERHEAD_BYTES
        if declared is None or not declared.isdigit():
            await self.refuse(
                send, scope["path"], "A multipart upload must declare its Content-Length.", 411
            )
        elif int(declared) > limit:
            message = (
                f"The upload is larger than {self.max_upload_bytes} bytes "
                "(THREADLINE_MAX_FILE_BYTES)."
            )
            await self.refuse(send, scope["path"], message)
        else:
            await self.app(scope, receive, send)

    async def read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the cap (a chunked body declares no size)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def refuse(
        self, send: Send, path: str, message: str | None = None, status: int = 413
    ) -> None:
        message = message or (
            f"The request body is larger than {self.max_bytes} bytes (THREADLINE_MAX_BODY_BYTES)."
        )
        content = json.dumps(_refusal(path, message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _refusal(path: str, message: str) -> dict[str, Any]:
    """In the shape of the face that was asked: OpenAI's under /v1, GraphQL's elsewhere."""
    if path.startswith("/v1/"):
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        return {"error": error}
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
    }


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body first, then whatever comes next (disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
