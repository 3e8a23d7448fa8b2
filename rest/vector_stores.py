"""`/v1/vector_stores`: create, list, retrieve, modify, delete, search."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from models.errors import NotFound
from models.validation import validated
from models.vector_store import VectorStoreDocument
from rest import file_shapes, shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body
from services import Services
from services.vector_stores import CreateVectorStore, SearchStore, UpdateVectorStore

router = APIRouter(tags=["vector stores"])


async def shaped(svc: Services, document: VectorStoreDocument) -> dict[str, Any]:
    return file_shapes.vector_store(document, await svc.vector_stores.file_counts(document.id))


@router.post("/vector_stores")
async def create_vector_store(request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(CreateVectorStore, await body(request), BODY)
    return await shaped(svc, await svc.vector_stores.create(call.project_id, given))


@router.get("/vector_stores")
async def list_vector_stores(
    call: Call, svc: Svc, query: Annotated[ListQuery, Depends(list_query("desc"))]
) -> dict[str, Any]:
    request = await page_request(query, lambda i: svc.vector_stores.find(call.project_id, i))
    page = await svc.vector_stores.page(call.project_id, request)
    counts = await asyncio.gather(*(svc.vector_stores.file_counts(d.id) for d in page.items))
    by_store = dict(zip((d.id for d in page.items), counts, strict=True))
    return envelope(page, lambda d: file_shapes.vector_store(d, by_store[d.id]), request)


@router.get("/vector_stores/{vector_store_id}")
async def get_vector_store(vector_store_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    observed = await svc.vector_stores.observe(call.project_id, vector_store_id)
    if observed is None:
        raise NotFound("vector store", vector_store_id)
    return file_shapes.vector_store(*observed)


@router.post("/vector_stores/{vector_store_id}")
async def update_vector_store(
    vector_store_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateVectorStore, await body(request), BODY)
    document = await svc.vector_stores.update(call.project_id, vector_store_id, given)
    return await shaped(svc, document)


@router.delete("/vector_stores/{vector_store_id}")
async def delete_vector_store(vector_store_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.vector_stores.delete(call.project_id, vector_store_id)
    return shapes.deleted(vector_store_id, "vector_store")


@router.post("/vector_stores/{vector_store_id}/search")
async def search_vector_store(
    vector_store_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(SearchStore, await body(request), BODY)
    hits = await svc.vector_stores.search(call.project_id, vector_store_id, given)
    return file_shapes.search_results(given.queries, hits)
