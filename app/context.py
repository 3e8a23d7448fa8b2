"""The typed per-request context that resolvers read the caller's project from."""

from typing import Any

import strawberry
from strawberry.fastapi import BaseContext

from app.settings import Settings


class Context(BaseContext):
    def __init__(self, project_id: str, settings: Settings) -> None:
        super().__init__()
        self.project_id = project_id
        self.settings = settings


Info = strawberry.Info[Context, Any]
