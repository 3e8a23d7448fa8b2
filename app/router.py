"""The GraphQL router: authentication on websockets, CSRF-safe GETs, and coded HTTP refusals."""

import ipaddress
import math
from typing import Any

from cross_web import HTTPException
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.context import Context
from app.graphiql import OfflineGraphQLRouter
from app.websockets import LegacyWSHandler, TransportWSHandler
from models.errors import ThreadlineError, Unauthenticated

# A browser sends a cross-site request without asking first only with these content types.
SIMPLE_CONTENT_TYPES = {
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
}
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")
HTTP_CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "RATE_LIMITED"}
REFUSAL_STATUSES = {"UNAUTHENTICATED": 401, "RATE_LIMITED": 429}
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
CSRF_REFUSAL = (
    "A query over GET needs a header that browsers only send after a CORS preflight: "
    "`Content-Type: application/json` or `Apollo-Require-Preflight: true`."
)
UPLOAD_CSRF_REFUSAL = (
    "A multipart upload needs a header that browsers only send after a CORS preflight: "
    "`Apollo-Require-Preflight: true` (Strawberry's and Apollo's CSRF protection)."
)


def error_response(status: int, message: str) -> JSONResponse:
    code = HTTP_CODES.get(status, "BAD_USER_INPUT")
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status)


def http_answer(request: Request, response: Response, refusal: ThreadlineError | None) -> None:
    """GraphQL over HTTP: a client that accepts `application/graphql-response+json` gets that
    type, and a refused request its status (401 without a valid key, 429 over a limit); one
    that accepts only `application/json` gets 200 with the errors, as before. Either way a
    rate limit's answer says when to come back (`Retry-After`, whole seconds)."""
    retry = None if refusal is None else refusal.extensions.get("retryAfterSeconds")
    if isinstance(retry, int | float):
        response.headers["retry-after"] = str(max(1, math.ceil(retry)))
    json_answer = response.headers.get("content-type", "").startswith("application/json")
    if json_answer and GRAPHQL_RESPONSE_JSON in request.headers.get("accept", ""):
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if refusal is not None:
            response.status_code = REFUSAL_STATUSES.get(refusal.code, response.status_code)


def preflighted(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type not in SIMPLE_CONTENT_TYPES or any(
        name in request.headers for name in PREFLIGHT_HEADERS
    )


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def is_loopback(request: Request) -> bool:
    """Both the client and the Host it asked for are loopback (a rebound DNS name is not)."""
    client = request.client.host if request.client else ""
    hostname = request.url.hostname or ""
    return _loopback(client) and (hostname == "localhost" or _loopback(hostname))


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ThreadlineRouter(OfflineGraphQLRouter):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if context.principal is None:
            try:
                await context.authenticate_connection()
            except Unauthenticated:
                raise ConnectionRejectionError() from None
        ack: UnsetType = UNSET
        return ack

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if not self.is_websocket_request(request) and not preflighted(request):
            # A cross-site form could send these without asking first (CSRF).
            if request.method == "GET" and "query" in request.query_params:
                return error_response(400, CSRF_REFUSAL)
            if request.method == "POST" and is_multipart(request):
                return error_response(400, UPLOAD_CSRF_REFUSAL)
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as error:
            return error_response(error.status_code, error.reason)
        else:
            if isinstance(response, Response) and isinstance(context, Context):
                http_answer(request, response, context.refusal)
            return response
        finally:
            if not self.is_websocket_request(request):
                await request.close()  # removes a multipart form's spooled files
