"""A cap on websocket messages (THREADLINE_WS_MAX_MESSAGE_BYTES), checked as each message
arrives, before anything parses it (ASGI middleware), in both GraphQL websocket protocols.

A bigger message closes the connection with 4413 and a reason naming the limit; the app then
sees the client gone. (uvicorn's own `--ws-max-size`, 16 MiB by default, bounds what it
buffers before this: past that it closes with 1009.)
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_BIG = 4413
REASON = "Message too big (THREADLINE_WS_MAX_MESSAGE_BYTES)"


class WebSocketMessageLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def checked_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and self.too_big(message):
                closed = True
                await send({"type": "websocket.close", "code": TOO_BIG, "reason": REASON})
                return {"type": "websocket.disconnect", "code": TOO_BIG, "reason": REASON}
            return message

        async def checked_send(message: Message) -> None:
            if not closed:  # once closed here, the app's last words go nowhere
                await send(message)

        await self.app(scope, checked_receive, checked_send)

    def too_big(self, message: Message) -> bool:
        text, data = message.get("text"), message.get("bytes")
        # A character is 1 to 4 bytes: encode only when the length alone cannot tell.
        if text is not None:
            return len(text) > self.max_bytes or (
                4 * len(text) > self.max_bytes and len(text.encode()) > self.max_bytes
            )
        return data is not None and len(data) > self.max_bytes
