"""Shared GraphQL pieces: the Node interface, Relay connections, sort order, deletions."""

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import StrawberryObjectDefinition

from models.base import StoredDocument
from models.pagination import Page, SortOrder

SortOrderEnum = strawberry.enum(SortOrder, name="SortOrder")
NodeType = TypeVar("NodeType")
D = TypeVar("D", bound=StoredDocument)


@strawberry.interface(description="An object with a globally unique, OpenAI-style id.")
class Node:
    id: strawberry.ID


@strawberry.type
class DeletedObject:
    id: strawberry.ID
    deleted: bool = True


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    nodes: list[NodeType]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[D], convert: Callable[[D], NodeType]) -> "Connection[NodeType]":
        edges = [Edge(cursor=page.cursor(item), node=convert(item)) for item in page.items]
        return cls(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


def input_data(value: Any) -> Any:
    """A Strawberry input as plain data: snake_case keys, enum values, unset fields left out."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [input_data(item) for item in value]
    definition = getattr(value, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryObjectDefinition) and dataclasses.is_dataclass(value):
        return {
            field.name: input_data(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not strawberry.UNSET
        }
    return value


PAGE_ARGUMENTS_HELP = (
    "`first` defaults to 20 when neither `first` nor `last` is given; both range from 1 to 100."
)


def json_value(value: object) -> JSON:
    """Any JSON-shaped value as the `JSON` scalar (for the type checker: the value is unchanged)."""
    return cast(JSON, value)
