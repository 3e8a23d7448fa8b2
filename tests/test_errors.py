"""Unexpected failures are masked for the client and logged with a shared correlation id."""

import strawberry
from structlog.testing import capture_logs

from app.errors import ErrorCodes
from models.errors import Conflict


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def conflicting(self) -> str:
        raise Conflict("A run is already active on this thread.", threadId="thread_1")


schema = strawberry.Schema(query=Query, extensions=[ErrorCodes])


async def test_unexpected_errors_are_masked_and_logged_with_a_correlation_id() -> None:
    with capture_logs() as logs:
        result = await schema.execute("{ broken }")
    assert result.errors
    error = result.errors[0].formatted
    assert "hunter2" not in str(error)
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    correlation_id = error["extensions"]["correlationId"]
    assert correlation_id in error["message"]
    [entry] = [entry for entry in logs if entry["event"] == "graphql_unexpected_error"]
    assert entry["correlation_id"] == correlation_id
    assert "hunter2" in str(entry["exc_info"])


async def test_domain_errors_keep_their_code_message_and_extensions() -> None:
    result = await schema.execute("{ conflicting }")
    assert result.errors
    error = result.errors[0].formatted
    assert error["message"] == "A run is already active on this thread."
    assert error["extensions"] == {"code": "CONFLICT", "threadId": "thread_1"}


async def test_query_errors_are_bad_user_input() -> None:
    result = await schema.execute("{ nope }")
    assert result.errors
    assert result.errors[0].formatted["extensions"]["code"] == "BAD_USER_INPUT"
