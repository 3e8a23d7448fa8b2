"""The domain's exceptions; each `code` becomes the GraphQL error's `extensions.code`."""

from typing import Any, ClassVar


class ThreadlineError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class BadUserInput(ThreadlineError):
    code = "BAD_USER_INPUT"


class NotFound(ThreadlineError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"No {kind} found with id '{object_id}'.")


class Conflict(ThreadlineError):
    code = "CONFLICT"


class Unauthenticated(ThreadlineError):
    code = "UNAUTHENTICATED"


class Forbidden(ThreadlineError):
    code = "FORBIDDEN"


class RateLimited(ThreadlineError):
    code = "RATE_LIMITED"
