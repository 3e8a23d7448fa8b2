"""Every GraphQL error leaves with `extensions.code`; unexpected ones are masked and logged."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from app.metrics import GRAPHQL_ERRORS
from models.errors import ThreadlineError

log = structlog.get_logger(__name__)
# graphql-core's "Did you mean …?" hints name fields, arguments, types and enum values.
# Raised for the request's own mistakes (e.g. a query sent as a legacy graphql-ws subscription).
REQUEST_MISTAKES = (GraphQLError, InvalidOperationTypeError, CannotGetOperationTypeError)
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def coded(error: ThreadlineError) -> GraphQLError:
    """A domain error as a GraphQL error, for the hooks that run before ErrorCodes can."""
    extensions = {**error.extensions, "code": error.code}
    return counted(GraphQLError(error.message, extensions=extensions))


def code_of(error: GraphQLError) -> str:
    """The `extensions.code` an error is answered with."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    original = error.original_error
    if isinstance(original, ThreadlineError):
        return original.code
    if original is None or isinstance(original, REQUEST_MISTAKES):
        # Syntax, validation and variable coercion errors: the request's mistakes.
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


def _with_code(error: GraphQLError, hide_suggestions: bool = False) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error  # coded already (a streamed result passes two hooks)
    code = code_of(error)
    original = error.original_error
    if isinstance(original, ThreadlineError):
        return _copy(error, original.message, {**original.extensions, "code": code})
    if code == "BAD_USER_INPUT":
        message = SUGGESTION.sub("", error.message) if hide_suggestions else error.message
        return _copy(error, message, {**(error.extensions or {}), "code": code})
    correlation_id = uuid.uuid4().hex
    log.error(
        "graphql_unexpected_error",
        correlation_id=correlation_id,
        path=error.path,
        exc_info=original,
    )
    message = f"Internal server error (correlation id {correlation_id})."
    return _copy(error, message, {"code": code, "correlationId": correlation_id})


def _copy(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    hide_suggestions = False

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # A cached parse fails inside another extension's hook and is raised through this
            # one; Strawberry then answers with the raised error itself, so raise it coded.
            raise self._coded(error) from None
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Websocket operations and subscriptions: each streamed result, coded the same way."""
        if result.errors:
            result.errors = [self._coded(error) for error in result.errors]
        yield

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error  # coded, and counted, by `coded` (or a stream's earlier hook)
        return counted(_with_code(error, self.hide_suggestions))


def counted(error: GraphQLError) -> GraphQLError:
    """The error, counted by its code for /metrics (app/metrics.py)."""
    code = (error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")
    GRAPHQL_ERRORS.labels(code=str(code)).inc()
    return error


class ProductionErrorCodes(ErrorCodes):
    """No "Did you mean …?": in production the schema is not for guessing."""

    hide_suggestions = True
