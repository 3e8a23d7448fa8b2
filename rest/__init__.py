"""The OpenAI-compatible face: `/v1` routes in OpenAI's REST shapes, over the same services as
GraphQL. Routes only translate: OpenAI's JSON in (requests.py), a service call, OpenAI's JSON
out (shapes.py)."""

from fastapi import APIRouter, FastAPI

from rest.assistants import router as assistants
from rest.errors import add_error_handlers
from rest.files import router as files
from rest.imports import router as imports
from rest.messages import router as messages
from rest.runs import router as runs
from rest.threads import router as threads
from rest.vector_store_files import router as vector_store_files
from rest.vector_stores import router as vector_stores

PREFIX = "/v1"


def mount(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX)
    for part in (
        assistants,
        runs,  # before threads: `/threads/runs` is not `/threads/{thread_id}`
        threads,
        messages,
        files,
        vector_stores,
        vector_store_files,
        imports,
    ):
        router.include_router(part)
    app.include_router(router)
    add_error_handlers(app, PREFIX)
