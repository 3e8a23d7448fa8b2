"""Every GraphQL error leaves with `extensions.code`; unexpected ones are masked and logged."""

import uuid
from collections.abc import Iterator

import structlog
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import StreamExecutionResult

from models.errors import ThreadlineError

log = structlog.get_logger()


def _with_code(error: GraphQLError) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error  # coded already (a streamed result passes two hooks)
    original = error.original_error
    if isinstance(original, ThreadlineError):
        extensions = {**original.extensions, "code": original.code}
        return _copy(error, original.message, extensions)
    if original is None or isinstance(original, GraphQLError):
        # Syntax, validation and variable coercion errors: the request's mistakes.
        return _copy(error, error.message, {**(error.extensions or {}), "code": "BAD_USER_INPUT"})
    correlation_id = uuid.uuid4().hex
    log.error(
        "graphql_unexpected_error",
        correlation_id=correlation_id,
        path=error.path,
        exc_info=original,
    )
    message = f"Internal server error (correlation id {correlation_id})."
    return _copy(error, message, {"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id})


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
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # A cached parse fails inside another extension's hook and is raised through this
            # one; Strawberry then answers with the raised error itself, so raise it coded.
            raise _with_code(error) from None
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_with_code(error) for error in result.errors]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Websocket results (subscriptions, and operations sent over a websocket)."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [_with_code(error) for error in errors]  # type: ignore[union-attr]
        yield
