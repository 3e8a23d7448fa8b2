"""The Schema, merged from each domain's resolver classes."""

from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.errors import ErrorCodes, ProductionErrorCodes
from app.operation_choice import OperationChoice
from app.tracing import GraphQLSpans
from resolvers.admin import AdminMutation, AdminQuery
from resolvers.assistant import AssistantMutation, AssistantQuery
from resolvers.client_token import ClientTokenMutation
from resolvers.events import EventSubscription
from resolvers.file import FileMutation, FileQuery
from resolvers.message import MessageMutation, MessageQuery
from resolvers.node import NodeQuery
from resolvers.run import RunMutation, RunQuery
from resolvers.thread import ThreadMutation, ThreadQuery
from resolvers.vector_store import VectorStoreMutation, VectorStoreQuery
from schema.assistant import Assistant
from schema.event import EVENT_TYPES
from schema.execution import SubscriptionSafeExecutor
from schema.message import Message
from schema.run import Run
from schema.run_step import RunStep
from schema.thread import Thread


@strawberry.type(
    description="Reads: objects by id, and listings of the caller's project (or, with a client "
    "token, of its subject)."
)
class Query(
    NodeQuery,
    AssistantQuery,
    ThreadQuery,
    MessageQuery,
    RunQuery,
    FileQuery,
    VectorStoreQuery,
    AdminQuery,
):
    pass


@strawberry.type(description="Writes: create, change and delete objects; start and answer runs.")
class Mutation(
    AssistantMutation,
    ThreadMutation,
    MessageMutation,
    RunMutation,
    FileMutation,
    VectorStoreMutation,
    ClientTokenMutation,
    AdminMutation,
):
    pass


@strawberry.type(description="Live events of runs, replayed from the stored log first.")
class Subscription(EventSubscription):
    pass


class ThreadlineSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Silenced: `ErrorCodes` logs the unexpected errors once, with a correlation id;
        the rest are the client's mistakes, answered with a code, not server trouble."""


def build_schema(
    guards: Sequence[Callable[[], SchemaExtension]] = (),
    production: bool = False,
    traced: bool = False,
) -> ThreadlineSchema:
    """`guards` (app/limits.py) run first: nothing is parsed for a caller they refuse. Traced,
    the operation's span comes before them, so that a refused operation is traced too."""
    return ThreadlineSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Assistant, Thread, Message, Run, RunStep, *EVENT_TYPES],
        extensions=[
            *([GraphQLSpans] if traced else []),
            *guards,
            ProductionErrorCodes if production else ErrorCodes,
            OperationChoice,
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        execution_context_class=SubscriptionSafeExecutor,
    )


# For `threadline export-schema` and tests of the bare schema; the app builds its own.
schema = build_schema()
