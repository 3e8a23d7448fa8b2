"""`/v1/vector_stores/{id}/files` and `/v1/vector_stores/{id}/file_batches`.

A vector store file's id is the file's id, in paths and in `after`/`before` alike."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from models.validation import validated
from models.vector_store import VectorStoreFileBatchDocument
from rest import file_shapes, shapes
from rest.caller import Call, Svc
from rest.lists import ListQuery, envelope, list_query, page_request
from rest.requests import BODY, body
from services import Services
from services.vector_stores import AddFile, AddFiles, UpdateFileAttributes

router = APIRouter(tags=["vector stores"])
Status = Literal["in_progress", "completed", "failed", "cancelled"]
STORE = "/vector_stores/{vector_store_id}"


async def batch_shaped(svc: Services, batch: VectorStoreFileBatchDocument) -> dict[str, Any]:
    counts = await svc.vector_stores.file_counts(batch.vector_store_id, batch.id)
    return file_shapes.file_batch(batch, counts)


async def files_list(
    call: Call,
    svc: Svc,
    store_id: str,
    query: ListQuery,
    status: Status | None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    service = svc.vector_stores
    request = await page_request(
        query, lambda i: service.find_file(call.project_id, store_id, i), own_ids=False
    )
    page = await service.files_page(call.project_id, store_id, request, status, batch_id)
    return envelope(page, file_shapes.vector_store_file, request)


@router.post(STORE + "/files")
async def add_file(vector_store_id: str, request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(AddFile, await body(request), BODY)
    document = await svc.vector_stores.add_file(call.project_id, vector_store_id, given)
    return file_shapes.vector_store_file(document)


@router.get(STORE + "/files")
async def list_files(
    vector_store_id: str,
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc"))],
    filter: Annotated[Status | None, Query()] = None,
) -> dict[str, Any]:
    return await files_list(call, svc, vector_store_id, query, filter)


@router.get(STORE + "/files/{file_id}")
async def get_file(vector_store_id: str, file_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    document = await svc.vector_stores.file(call.project_id, vector_store_id, file_id)
    return file_shapes.vector_store_file(document)


@router.post(STORE + "/files/{file_id}")
async def update_file(
    vector_store_id: str, file_id: str, request: Request, call: Call, svc: Svc
) -> dict[str, Any]:
    given = validated(UpdateFileAttributes, await body(request), BODY)
    service = svc.vector_stores
    document = await service.update_file_attributes(
        call.project_id, vector_store_id, file_id, given
    )
    return file_shapes.vector_store_file(document)


@router.delete(STORE + "/files/{file_id}")
async def remove_file(vector_store_id: str, file_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    await svc.vector_stores.remove_file(call.project_id, vector_store_id, file_id)
    return shapes.deleted(file_id, "vector_store.file")


@router.get(STORE + "/files/{file_id}/content")
async def file_content(vector_store_id: str, file_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    text = await svc.vector_stores.file_text(call.project_id, vector_store_id, file_id)
    return file_shapes.file_content(text)


@router.post(STORE + "/file_batches")
async def add_files(vector_store_id: str, request: Request, call: Call, svc: Svc) -> dict[str, Any]:
    given = validated(AddFiles, await body(request), BODY)
    batch = await svc.vector_stores.add_files(call.project_id, vector_store_id, given)
    return await batch_shaped(svc, batch)


@router.get(STORE + "/file_batches/{batch_id}")
async def get_batch(vector_store_id: str, batch_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    batch = await svc.vector_stores.get_batch(call.project_id, batch_id, vector_store_id)
    return await batch_shaped(svc, batch)


@router.post(STORE + "/file_batches/{batch_id}/cancel")
async def cancel_batch(vector_store_id: str, batch_id: str, call: Call, svc: Svc) -> dict[str, Any]:
    batch = await svc.vector_stores.cancel_batch(call.project_id, batch_id, vector_store_id)
    return await batch_shaped(svc, batch)


@router.get(STORE + "/file_batches/{batch_id}/files")
async def list_batch_files(
    vector_store_id: str,
    batch_id: str,
    call: Call,
    svc: Svc,
    query: Annotated[ListQuery, Depends(list_query("desc"))],
    filter: Annotated[Status | None, Query()] = None,
) -> dict[str, Any]:
    await svc.vector_stores.get_batch(call.project_id, batch_id, vector_store_id)
    return await files_list(call, svc, vector_store_id, query, filter, batch_id)
