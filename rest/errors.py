"""Errors in OpenAI's shape: an HTTP status and `{"error": {message, type, param, code}}`.

The statuses are OpenAI's, which the SDKs pick their exception classes (and retries) from:
an active run on the thread is 400, not 409, since a 409 is retried."""

import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from models.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ThreadlineError,
    Unauthenticated,
)

log = structlog.get_logger(__name__)

STATUSES: dict[type[ThreadlineError], int] = {
    BadUserInput: 400,
    Conflict: 400,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
}


def openai_error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def from_threadline(error: ThreadlineError) -> JSONResponse:
    status = next((s for kind, s in STATUSES.items() if isinstance(error, kind)), 500)
    if status == 500:
        return _internal(error)
    param = error.extensions.get("param")
    if status == 401:
        return openai_error(401, error.message, code="invalid_api_key")
    if status == 429:
        retry = str(error.extensions.get("retryAfterSeconds", 1))
        return openai_error(
            429,
            error.message,
            kind="rate_limit_exceeded",
            code="rate_limit_exceeded",
            headers={"retry-after": retry},
        )
    code = "conflict" if isinstance(error, Conflict) else None
    return openai_error(
        status, error.message, param=param if isinstance(param, str) else None, code=code
    )


def _internal(error: BaseException) -> JSONResponse:
    correlation_id = uuid.uuid4().hex
    log.error("rest_internal_error", correlation_id=correlation_id, exc_info=error)
    return openai_error(
        500,
        f"Internal server error (correlation id {correlation_id}).",
        kind="server_error",
        code="server_error",
    )


def _param(location: tuple[Any, ...]) -> str:
    parts = [p for p in location if p not in ("body", "query", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def add_error_handlers(app: FastAPI, prefix: str) -> None:
    """For `prefix`'s routes only: GraphQL keeps its own error shape."""

    def ours(request: Request) -> bool:
        return request.url.path.startswith(prefix + "/") or request.url.path == prefix

    async def threadline(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ThreadlineError)
        return from_threadline(error)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        param = _param(tuple(first.get("loc", ())))
        message = f"{param or 'request'}: {first.get('msg', 'invalid')}"
        return openai_error(400, message, param=param or None)

    async def http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if not ours(request):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        if error.status_code == 404:
            message = f"Unknown request URL: {request.method} {request.url.path}."
        else:
            message = str(error.detail)
        return openai_error(error.status_code, message)

    async def crashed(request: Request, error: Exception) -> JSONResponse:
        return _internal(error)

    app.add_exception_handler(ThreadlineError, threadline)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, crashed)
