"""The OpenAI-compatible face: `/v1` routes in OpenAI's REST shapes, over the same services as
GraphQL. Routes only translate: OpenAI's JSON in (requests.py), a service call, OpenAI's JSON
out (shapes.py)."""

from fastapi import APIRouter, FastAPI

from rest.assistants import router as assistants
from rest.errors import add_error_handlers
from rest.messages import router as messages
from rest.threads import router as threads

PREFIX = "/v1"


def mount(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX)
    for part in (assistants, threads, messages):
        router.include_router(part)
    app.include_router(router)
    add_error_handlers(app, PREFIX)
