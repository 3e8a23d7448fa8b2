"""The typed per-request context that resolvers read the caller's project from."""

from typing import Any

import strawberry
from strawberry.fastapi import BaseContext

from app.settings import Settings
from engine.engine import Engine


class Context(BaseContext):
    def __init__(self, project_id: str, settings: Settings, engine: Engine) -> None:
        super().__init__()
        self.project_id = project_id
        self.settings = settings
        self.engine = engine


Info = strawberry.Info[Context, Any]
