"""OpenAI's lists: `limit`, `order`, `after=<id>`, `before=<id>` in; `{object: "list", data,
first_id, last_id, has_more}` out. An object id becomes the keyset cursor of models/pagination
by looking the object up (its `created_at` is the sort key)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query

from models.base import StoredDocument
from models.errors import BadUserInput
from models.ids import made_at
from models.pagination import (
    CREATED_AT,
    MAX_PAGE_SIZE,
    Page,
    PageRequest,
    SortOrder,
    encode_cursor,
    encode_key,
)

D = TypeVar("D", bound=StoredDocument)
Find = Callable[[str], Awaitable[StoredDocument | None]]
Shape = Callable[[D], dict[str, Any]]
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class ListQuery:
    limit: int
    order: Literal["asc", "desc"]
    after: str | None
    before: str | None


def list_query(
    default_order: Literal["asc", "desc"],
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_PAGE_SIZE,
) -> Callable[..., ListQuery]:
    """A dependency reading the list parameters (run steps default to `desc` too, as OpenAI).
    A `max_limit` past MAX_PAGE_SIZE (OpenAI's 10,000 for files) is taken, and pages are
    still at most MAX_PAGE_SIZE long: `has_more` says there is more, as for any page."""

    def read(
        limit: Annotated[int, Query(ge=1, le=max_limit)] = default_limit,
        order: Annotated[Literal["asc", "desc"], Query()] = default_order,
        after: Annotated[str | None, Query(max_length=64)] = None,
        before: Annotated[str | None, Query(max_length=64)] = None,
    ) -> ListQuery:
        return ListQuery(limit=limit, order=order, after=after, before=before)

    return read


async def page_request(
    query: ListQuery, find: Find, field: str = CREATED_AT, own_ids: bool = True
) -> PageRequest:
    """`find` looks an id up within the listed collection (and the caller's project), which
    is ordered by `field`. `own_ids`: the list's ids are its documents' own (not, as for a
    store's files, the ids of the files they stand for)."""

    async def cursor(object_id: str | None, param: str) -> str | None:
        if object_id is None:
            return None
        document = await find(object_id)
        if document is not None:
            return encode_cursor(document, field)
        # Gone since the page that ended with it (a loop deleting what it lists, page by
        # page): its place in a list by creation time is its id's time, made with it.
        made = made_at(object_id) if field == CREATED_AT and own_ids else None
        if made is None:
            raise BadUserInput(
                f"{param}: no object with id '{object_id}' in this list.", param=param
            )
        return encode_key((made, object_id), field)

    after, before = await cursor(query.after, "after"), await cursor(query.before, "before")
    backwards = before is not None and after is None
    size = min(query.limit, MAX_PAGE_SIZE)
    return PageRequest(
        first=None if backwards else size,
        last=size if backwards else None,
        after=after,
        before=before,
        order=SortOrder(query.order),
    )


def envelope(page: Page[D], shape: Shape[D], request: PageRequest) -> dict[str, Any]:
    data = [shape(item) for item in page.items]
    more = page.has_previous_page if request.last is not None else page.has_next_page
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": more,
    }
