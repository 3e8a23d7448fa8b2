"""API keys: a project's secret, stored only as its SHA-256 digest.

Why SHA-256 and not bcrypt/argon2: those are slow on purpose, to make guessing a low-entropy
password expensive. A key here is 256 random bits (`secrets.token_urlsafe(32)`): no dictionary
to try, so a fast digest is as safe, and lets every request find its key with one indexed
lookup instead of spending ~50 ms of CPU per request on a password hash.
"""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import NamedTuple

from pydantic import Field
from pymongo import IndexModel

from models.base import ScopedDocument, utcnow
from models.errors import NotFound
from models.ids import new_id
from models.pagination import Page, PageRequest, paginate
from models.validation import validated

KEY_PREFIX = "tl-proj-"
MAX_ID_LENGTH = 64


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("key"))
    name: str | None = Field(default=None, max_length=256)
    key_hash: str
    # The key's last characters, so that a listing can tell keys apart.
    redacted: str
    revoked_at: datetime | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            IndexModel([("key_hash", 1)], unique=True),
            IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)]),
        ]


async def create_api_key(project_id: str, name: str | None) -> tuple[ApiKeyDocument, str]:
    """A new key and its secret: the only time the secret exists outside the client."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    data = {"project_id": project_id, "name": name, "key_hash": digest(secret)}
    document = validated(ApiKeyDocument, {**data, "redacted": f"{KEY_PREFIX}…{secret[-4:]}"})
    await document.insert()
    return document, secret


class ActiveKey(NamedTuple):
    id: str
    project_id: str


async def find_active(key_hash: str) -> ActiveKey | None:
    """The unrevoked key whose secret has this `digest` (confirmed in constant time). Read raw,
    three fields: this runs on every request the key cache misses. By the digest alone, the
    unique index's one field (revocation checked here): some planners scan the collection for
    a query on a field the index lacks."""
    found = await ApiKeyDocument.get_pymongo_collection().find_one(
        {"key_hash": key_hash}, {"project_id": 1, "key_hash": 1, "revoked_at": 1}
    )
    if found is None or found.get("revoked_at") is not None:
        return None
    if not hmac.compare_digest(found["key_hash"], key_hash):
        return None
    return ActiveKey(found["_id"], found["project_id"])


async def is_active(key_id: str) -> bool:
    found = await ApiKeyDocument.get_pymongo_collection().find_one(
        {"_id": key_id, "revoked_at": None}, {"_id": 1}
    )
    return found is not None


async def revoke(key_id: str) -> ApiKeyDocument:
    """Revokes a key at once (idempotent: a revoked key keeps its first `revoked_at`); its
    requests and websockets stop being served. The key as it now is."""
    if not (key_id.startswith("key_") and len(key_id) <= MAX_ID_LENGTH):
        raise NotFound("API key", key_id)
    collection = ApiKeyDocument.get_pymongo_collection()
    await collection.update_one(
        {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utcnow()}}
    )
    revoked = await ApiKeyDocument.get(key_id)
    if revoked is None:
        raise NotFound("API key", key_id)
    return revoked


async def count_keys(project_id: str) -> int:
    return await ApiKeyDocument.find({"project_id": project_id}).count()


async def page_api_keys(project_id: str, request: PageRequest) -> Page[ApiKeyDocument]:
    return await paginate(ApiKeyDocument, {"project_id": project_id}, request)
