"""Messages and their content parts as GraphQL types and inputs."""

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from models import message as m
from schema.common import Node, json_value
from schema.tool import ToolType


@strawberry.enum
class MessageRole(enum.Enum):
    USER = "user"
    ASSISTANT = "assistant"


@strawberry.enum
class MessageStatus(enum.Enum):
    IN_PROGRESS = "in_progress"
    INCOMPLETE = "incomplete"
    COMPLETED = "completed"


@strawberry.enum
class ImageDetail(enum.Enum):
    AUTO = "auto"
    LOW = "low"
    HIGH = "high"


@strawberry.enum
class MessageContentType(enum.Enum):
    TEXT = "text"
    IMAGE_FILE = "image_file"
    IMAGE_URL = "image_url"


@strawberry.type
class FileCitationAnnotation:
    text: str
    start_index: int
    end_index: int
    file_id: strawberry.ID


@strawberry.type
class FilePathAnnotation:
    text: str
    start_index: int
    end_index: int
    file_id: strawberry.ID


Annotation = Annotated[FileCitationAnnotation | FilePathAnnotation, strawberry.union("Annotation")]


def _annotation(annotation: m.Annotation) -> FileCitationAnnotation | FilePathAnnotation:
    kind = FileCitationAnnotation if annotation.type == "file_citation" else FilePathAnnotation
    reference = annotation.file_citation or annotation.file_path
    return kind(
        text=annotation.text,
        start_index=annotation.start_index,
        end_index=annotation.end_index,
        file_id=strawberry.ID(reference.file_id if reference else ""),
    )


@strawberry.type
class TextValue:
    value: str
    annotations: list[Annotation]


@strawberry.type
class TextContent:
    text: TextValue


@strawberry.type
class ImageFile:
    file_id: strawberry.ID
    detail: ImageDetail


@strawberry.type
class ImageFileContent:
    image_file: ImageFile


@strawberry.type
class ImageUrl:
    url: str
    detail: ImageDetail


@strawberry.type
class ImageUrlContent:
    image_url: ImageUrl


@strawberry.type
class RefusalContent:
    refusal: str


MessageContent = Annotated[
    TextContent | ImageFileContent | ImageUrlContent | RefusalContent,
    strawberry.union("MessageContent"),
]


def _content(
    part: m.ContentPart,
) -> TextContent | ImageFileContent | ImageUrlContent | RefusalContent:
    if part.text is not None:
        annotations = [_annotation(item) for item in part.text.annotations]
        return TextContent(text=TextValue(value=part.text.value, annotations=annotations))
    if part.image_file is not None:
        image = part.image_file
        return ImageFileContent(
            image_file=ImageFile(
                file_id=strawberry.ID(image.file_id), detail=ImageDetail(image.detail)
            )
        )
    if part.image_url is not None:
        url = part.image_url
        return ImageUrlContent(image_url=ImageUrl(url=str(url.url), detail=ImageDetail(url.detail)))
    return RefusalContent(refusal=part.refusal or "")


@strawberry.type
class Attachment:
    file_id: strawberry.ID
    tools: list[ToolType]


@strawberry.type
class IncompleteDetails:
    reason: str


@strawberry.type
class Message(Node):
    created_at: datetime
    thread_id: strawberry.ID
    role: MessageRole
    status: MessageStatus
    content: list[MessageContent]
    text: str = strawberry.field(description="The message's text parts, joined.")
    assistant_id: strawberry.ID | None
    run_id: strawberry.ID | None
    attachments: list[Attachment]
    metadata: JSON
    completed_at: datetime | None
    incomplete_at: datetime | None
    incomplete_details: IncompleteDetails | None

    @classmethod
    def from_document(cls, document: m.MessageDocument) -> "Message":
        details = document.incomplete_details
        return cls(
            id=strawberry.ID(document.id),
            created_at=document.created_at,
            thread_id=strawberry.ID(document.thread_id),
            role=MessageRole(document.role),
            status=MessageStatus(document.status),
            content=[_content(part) for part in document.content],
            text=document.text,
            assistant_id=strawberry.ID(document.assistant_id) if document.assistant_id else None,
            run_id=strawberry.ID(document.run_id) if document.run_id else None,
            attachments=[
                Attachment(
                    file_id=strawberry.ID(item.file_id), tools=[ToolType(t) for t in item.tools]
                )
                for item in document.attachments
            ],
            metadata=json_value(document.metadata),
            completed_at=document.completed_at,
            incomplete_at=document.incomplete_at,
            incomplete_details=IncompleteDetails(reason=details.get("reason", ""))
            if details
            else None,
        )


@strawberry.input
class ImageFileInput:
    file_id: strawberry.ID
    detail: ImageDetail = ImageDetail.AUTO


@strawberry.input
class ImageUrlInput:
    url: str
    detail: ImageDetail = ImageDetail.AUTO


@strawberry.input(description="One content part: `type` names the one field to set.")
class MessageContentPartInput:
    type: MessageContentType
    text: str | None = strawberry.UNSET
    image_file: ImageFileInput | None = strawberry.UNSET
    image_url: ImageUrlInput | None = strawberry.UNSET


@strawberry.input
class AttachmentInput:
    file_id: strawberry.ID
    tools: list[ToolType] = strawberry.field(default_factory=list)


@strawberry.input(description="Give `content` (plain text) or `contentParts`, not both.")
class CreateMessageInput:
    role: MessageRole = MessageRole.USER
    content: str | None = strawberry.UNSET
    content_parts: list[MessageContentPartInput] | None = strawberry.UNSET
    attachments: list[AttachmentInput] | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class UpdateMessageInput:
    metadata: JSON | None = strawberry.UNSET
