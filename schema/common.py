"""Shared GraphQL pieces: the Node interface, Relay connections, sort order, deletions."""

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.enum import has_enum_definition

from models.base import StoredDocument
from models.pagination import Page, SortOrder

E = TypeVar("E", bound=enum.Enum)


def describe_values(enum_type: type[E], descriptions: Mapping[str, str]) -> type[E]:
    """Describes the GraphQL values of an enum made from a class of models/, which knows
    nothing of GraphQL (its members cannot be `strawberry.enum_value`s): one per member."""
    processed: object = enum_type
    if not has_enum_definition(processed):
        raise TypeError(f"{enum_type.__name__} is not a Strawberry enum")
    for value in processed.__strawberry_definition__.values:
        value.description = descriptions[value.name]
    return enum_type


SortOrderEnum = describe_values(
    strawberry.enum(
        SortOrder,
        name="SortOrder",
        description="The order a listing runs in, by creation time (or the listing's own key).",
    ),
    {"ASC": "Oldest first.", "DESC": "Newest first."},
)
NodeType = TypeVar("NodeType")
D = TypeVar("D", bound=StoredDocument)


@strawberry.interface(description="An object with a globally unique, OpenAI-style id.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's id, prefixed by its type (`asst_…`, `thread_…`, `msg_…`, …)."
    )


@strawberry.type(description="What a delete answers (OpenAI: the `deleted` object).")
class DeletedObject:
    id: strawberry.ID = strawberry.field(description="The id of the object deleted.")
    deleted: bool = strawberry.field(default=True, description="Always true.")


@strawberry.type(description="Where a page sits in its listing (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether more items follow the last one, in the listing's order."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether more items come before the first one, in the listing's order."
    )
    start_cursor: str | None = strawberry.field(
        description="The first item's cursor (for `before`); null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor (for `after`); null on an empty page."
    )


@strawberry.type(description="One item of a page, with its cursor (Relay).")
class Edge(Generic[NodeType]):
    cursor: str = strawberry.field(
        description="An opaque position: pass it as `after` or `before` to page from here."
    )
    node: NodeType = strawberry.field(description="The item.")


@strawberry.type(
    description="One page of a listing (a Relay connection): its items as `nodes` or, with "
    "cursors, as `edges`."
)
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]] = strawberry.field(description="The items, with their cursors.")
    nodes: list[NodeType] = strawberry.field(description="The items, in the listing's order.")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the listing.")

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

# The Relay page arguments every listing takes (models/pagination.py).
First = Annotated[
    int | None,
    strawberry.argument(
        description="At most this many items (1 to 100) from the start, or after `after`."
    ),
]
After = Annotated[
    str | None, strawberry.argument(description="Items after this cursor (an `endCursor`).")
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="At most this many items (1 to 100) from the end, or before `before`."
    ),
]
Before = Annotated[
    str | None, strawberry.argument(description="Items before this cursor (a `startCursor`).")
]
Order = Annotated[
    SortOrder,
    strawberry.argument(
        description="ASC: ascending, oldest first; DESC: descending, newest first (OpenAI: "
        "`order`)."
    ),
]


def json_value(value: object) -> JSON:
    """Any JSON-shaped value as the `JSON` scalar (for the type checker: the value is unchanged)."""
    return cast(JSON, value)
