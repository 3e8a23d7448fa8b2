"""Messages and their content parts (text with annotations, images, refusals)."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, BaseModel, Field, model_validator
from pymongo import IndexModel

from models.base import ScopedDocument
from models.ids import new_id
from models.pagination import POSITION, Numbered, Page, PageRequest, paginate
from models.repository import Repository
from models.thread import ThreadDocument
from models.validation import Metadata

MAX_TEXT_LENGTH = 256_000
MAX_CONTENT_PARTS = 32
MAX_ATTACHMENTS = 20
FileId = Annotated[str, Field(pattern=r"^file-[A-Za-z0-9_-]{1,60}$")]
ImageDetail = Literal["auto", "low", "high"]
Role = Literal["user", "assistant"]
MessageStatus = Literal["in_progress", "incomplete", "completed"]


class FileReference(BaseModel):
    file_id: FileId


class Annotation(BaseModel):
    type: Literal["file_citation", "file_path"]
    text: str
    start_index: int = Field(ge=0)
    end_index: int = Field(ge=0)
    file_citation: FileReference | None = None
    file_path: FileReference | None = None


class TextValue(BaseModel):
    value: str = Field(max_length=MAX_TEXT_LENGTH)
    annotations: list[Annotation] = Field(default_factory=list)


class ImageFile(BaseModel):
    file_id: FileId
    detail: ImageDetail = "auto"


class ImageUrl(BaseModel):
    url: AnyHttpUrl
    detail: ImageDetail = "auto"


class ContentPart(BaseModel):
    """One part of a message, shaped like OpenAI's: `type` names the one field that is set."""

    type: Literal["text", "image_file", "image_url", "refusal"]
    text: TextValue | None = None
    image_file: ImageFile | None = None
    image_url: ImageUrl | None = None
    refusal: str | None = None

    @model_validator(mode="after")
    def _one_field_for_its_type(self) -> Self:
        fields = {"text", "image_file", "image_url", "refusal"}
        given = {name for name in fields if getattr(self, name) is not None}
        if given != {self.type}:
            raise ValueError(f"a {self.type.upper()} part needs `{self.type}` and nothing else")
        return self


def texts(content: Sequence[ContentPart]) -> Iterator[str]:
    """The text of each of a message's text parts, in order."""
    return (part.text.value for part in content if part.text)


class Attachment(BaseModel):
    file_id: FileId
    tools: list[Literal["code_interpreter", "file_search"]] = Field(default_factory=list)


class MessageDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("msg"))
    thread_id: str
    role: Role = "user"
    status: MessageStatus = "completed"
    content: list[ContentPart] = Field(default_factory=list, max_length=MAX_CONTENT_PARTS)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    metadata: Metadata = Field(default_factory=dict)
    assistant_id: str | None = None
    run_id: str | None = None
    completed_at: datetime | None = None
    incomplete_at: datetime | None = None
    incomplete_details: dict[str, str] | None = None
    # Its place in the thread (see ThreadDocument.message_position); 0 until it is written.
    # The order messages are listed in, read as ranges of positions however long the thread.
    position: int = 0

    @model_validator(mode="after")
    def _text_within_limit(self) -> Self:
        # Every read validates too: measured, not joined (a long thread's prompt reads hundreds).
        if sum(map(len, texts(self.content))) > MAX_TEXT_LENGTH:
            raise ValueError(f"the message text is longer than {MAX_TEXT_LENGTH} characters")
        return self

    @property
    def text(self) -> str:
        return "".join(texts(self.content))

    class Settings:
        name = "messages"
        # Each read's fields, equalities first, lead an index of their own: some planners
        # (the embedded database's) use an index only for a query on a prefix of its fields.
        indexes = [
            IndexModel([("project_id", 1), ("thread_id", 1), ("position", 1)]),
            IndexModel([("project_id", 1), ("thread_id", 1), ("run_id", 1), ("position", 1)]),
            # Imports place messages among a thread's by their time (import_conversation).
            IndexModel([("project_id", 1), ("thread_id", 1), ("created_at", 1)]),
        ]


messages = Repository(MessageDocument, "message", "msg_")


async def page_messages(
    thread: ThreadDocument, request: PageRequest, run_id: str | None = None
) -> Page[MessageDocument]:
    """A page of the thread's messages in position order (up to its message_position as
    read, and any written since); of those `run_id` wrote, if given."""
    scope = {"project_id": thread.project_id, "thread_id": thread.id}
    if run_id is not None:  # a run's few messages: its own index range
        return await paginate(MessageDocument, {**scope, "run_id": run_id}, request, POSITION)
    numbering = Numbered(thread.message_position)
    return await paginate(MessageDocument, scope, request, numbering=numbering)
