"""The GraphQL spec's GetOperation: a document with several operations runs the one named by
`operationName`, and without it is refused (a request error, BAD_USER_INPUT). Strawberry would
run the first one, and a client that forgot the name would never know."""

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app.metrics import operation_started
from app.request_log import note

UNNAMED = "Must provide operation name if query contains multiple operations."


class OperationChoice(SchemaExtension):
    """Also names the operation in its HTTP request's log line (app/request_log.py), and
    counts it (app/metrics.py)."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        kind = _type_name(execution)
        note(operation=execution.operation_name, operation_type=kind)
        operation_started(kind or "unknown", execution.operation_name)
        document = execution.graphql_document
        # `operation_name` falls back to the first operation's: what the client sent is this.
        provided = execution._provided_operation_name
        if document is not None and provided is None:
            operations = [
                definition
                for definition in document.definitions
                if isinstance(definition, OperationDefinitionNode)
            ]
            if len(operations) > 1:
                raise GraphQLError(UNNAMED)
        yield


def _type_name(execution: ExecutionContext) -> str | None:
    try:
        return execution.operation_type.value
    except Exception:
        return None
