"""Files, vector stores, their files and batches, and search results as OpenAI's JSON.

A store's and a batch's `status` and `file_counts` follow from their files' statuses, which
are counted when read (models/vector_stores.py): the routes count, these shape."""

from typing import Any

from engine.files.search import Hit
from models import vector_stores as stores_db
from models.file import FileDocument
from models.vector_store import (
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
)
from rest.shapes import seconds


def file(document: FileDocument) -> dict[str, Any]:
    shaped = {
        "id": document.id,
        "object": "file",
        "bytes": document.bytes,
        "created_at": seconds(document.created_at),
        "filename": document.filename,
        "purpose": document.purpose,
        "status": document.status,
    }
    if document.expires_at is not None:  # OpenAI's reference: present, or left out
        shaped["expires_at"] = seconds(document.expires_at)
    return shaped


def file_deleted(file_id: str) -> dict[str, Any]:
    """OpenAI tags a deleted file `file`, not `file.deleted` as other deleted objects."""
    return {"id": file_id, "object": "file", "deleted": True}


def file_counts(counts: stores_db.FileCounts) -> dict[str, int]:
    return {
        "in_progress": counts.in_progress,
        "completed": counts.completed,
        "failed": counts.failed,
        "cancelled": counts.cancelled,
        "total": counts.total,
    }


def vector_store(document: VectorStoreDocument, counts: stores_db.FileCounts) -> dict[str, Any]:
    expiry = document.expires_after
    shaped = {
        "id": document.id,
        "object": "vector_store",
        "created_at": seconds(document.created_at),
        "name": document.name,
        "usage_bytes": document.usage_bytes,
        "file_counts": file_counts(counts),
        "status": stores_db.store_status(document.expired, counts),
        "expires_at": seconds(document.expires_at),
        "last_active_at": seconds(document.last_active_at),
        "metadata": document.metadata,
    }
    if expiry is not None:  # OpenAI's reference: present, or left out
        shaped["expires_after"] = expiry.model_dump()
    return shaped


def vector_store_file(document: VectorStoreFileDocument) -> dict[str, Any]:
    """Its `id` is the file's, as OpenAI's (and `after`/`before` name files too)."""
    error = document.last_error
    return {
        "id": document.file_id,
        "object": "vector_store.file",
        "usage_bytes": document.usage_bytes,
        "created_at": seconds(document.created_at),
        "vector_store_id": document.vector_store_id,
        "status": document.status,
        "last_error": error.model_dump() if error else None,
        "chunking_strategy": document.chunking_strategy.model_dump(),
        "attributes": document.attributes,
    }


def file_batch(
    document: VectorStoreFileBatchDocument, counts: stores_db.FileCounts
) -> dict[str, Any]:
    return {
        "id": document.id,
        "object": "vector_store.files_batch",
        "created_at": seconds(document.created_at),
        "vector_store_id": document.vector_store_id,
        "status": stores_db.batch_status(document.cancelled_at is not None, counts),
        "file_counts": file_counts(counts),
    }


def _text_page(kind: str, **fields: Any) -> dict[str, Any]:
    """Search results and file content come whole: never a next page."""
    return {"object": kind, **fields, "has_more": False, "next_page": None}


def search_results(queries: list[str], hits: list[Hit]) -> dict[str, Any]:
    data = [
        {
            "file_id": hit.file_id,
            "filename": hit.filename,
            "score": hit.score,
            "attributes": hit.attributes,
            "content": [{"type": "text", "text": hit.text}],
        }
        for hit in hits
    ]
    return _text_page("vector_store.search_results.page", search_query=queries, data=data)


def file_content(text: str) -> dict[str, Any]:
    data = [{"type": "text", "text": text}] if text else []
    return _text_page("vector_store.file_content.page", data=data)
