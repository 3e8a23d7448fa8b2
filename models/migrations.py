"""Changes to stored data that a version needs, each made once per database, at start."""

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from models.base import utcnow
from models.conversations import number_messages, store_positions
from models.errors import NotFound
from models.message import MessageDocument, messages

DONE = "migrations"  # one document per migration made


async def migrate(database: AsyncDatabase[Any]) -> None:
    done = database[DONE]
    for name, migration in (("message_positions", number_unnumbered_messages),):
        if await done.find_one({"_id": name}) is None:
            await migration()
            await done.update_one({"_id": name}, {"$set": {"at": utcnow()}}, upsert=True)


async def number_unnumbered_messages() -> None:
    """Messages stored before messages had positions get them, in each thread's time order.
    Thread by thread, each in a transaction: several processes starting at once number each
    message once."""
    unnumbered = {"position": {"$in": [None, 0]}}  # None: no such field
    collection = MessageDocument.get_pymongo_collection()
    for thread_id in await collection.distinct("thread_id", unnumbered):

        async def write(session: AsyncClientSession, thread_id: str = thread_id) -> None:
            found = await MessageDocument.find(
                {"thread_id": thread_id, **unnumbered}, session=session
            ).to_list()
            if not found:
                return
            found.sort(key=lambda message: (message.created_at, message.id))
            project_id = found[0].project_id
            try:
                await number_messages(
                    project_id, thread_id, found, session, counted=0, active=False
                )
            except NotFound:
                return  # left by a thread deleted long ago: never listed, left alone
            await store_positions(found, session)

        await messages.transaction(write)
