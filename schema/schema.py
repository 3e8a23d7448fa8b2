"""The Schema, merged from each domain's resolver classes."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from app.errors import ErrorCodes
from resolvers.assistant import AssistantMutation, AssistantQuery
from resolvers.message import MessageMutation, MessageQuery
from resolvers.node import NodeQuery
from resolvers.thread import ThreadMutation, ThreadQuery
from schema.assistant import Assistant
from schema.message import Message
from schema.thread import Thread


@strawberry.type
class Query(NodeQuery, AssistantQuery, ThreadQuery, MessageQuery):
    pass


@strawberry.type
class Mutation(AssistantMutation, ThreadMutation, MessageMutation):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Assistant, Thread, Message],
    extensions=[
        ErrorCodes,
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
    config=StrawberryConfig(),
)
