"""Messages and their content parts as GraphQL types and inputs."""

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from models import message as m
from schema.common import Node, json_value
from schema.tool import ToolType


@strawberry.enum(description="Who wrote a message (OpenAI: `message.role`).")
class MessageRole(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    USER = strawberry.enum_value("user", description="Written by the end user (OpenAI: `user`).")
    ASSISTANT = strawberry.enum_value(
        "assistant",
        description="Written by an assistant, or given as its words (OpenAI: `assistant`).",
    )


@strawberry.enum(description="Where a message stands (OpenAI: `message.status`).")
class MessageStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    IN_PROGRESS = strawberry.enum_value(
        "in_progress", description="A run is still writing it (OpenAI: `in_progress`)."
    )
    INCOMPLETE = strawberry.enum_value(
        "incomplete", description="Its run stopped before it was finished (OpenAI: `incomplete`)."
    )
    COMPLETED = strawberry.enum_value("completed", description="Finished (OpenAI: `completed`).")


@strawberry.enum(
    description="How closely the model looks at an image (OpenAI: `image_file.detail`)."
)
class ImageDetail(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    AUTO = strawberry.enum_value("auto", description="The model chooses (OpenAI: `auto`).")
    LOW = strawberry.enum_value(
        "low", description="A low-resolution view: fewer tokens (OpenAI: `low`)."
    )
    HIGH = strawberry.enum_value(
        "high", description="A high-resolution view: more tokens (OpenAI: `high`)."
    )


@strawberry.enum(description="The kind of a content part given (OpenAI: `content[].type`).")
class MessageContentType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    TEXT = strawberry.enum_value("text", description="A text part: set `text` (OpenAI: `text`).")
    IMAGE_FILE = strawberry.enum_value(
        "image_file", description="An uploaded image: set `imageFile` (OpenAI: `image_file`)."
    )
    IMAGE_URL = strawberry.enum_value(
        "image_url", description="An image on the web: set `imageUrl` (OpenAI: `image_url`)."
    )


@strawberry.type(
    description="A quote from a file that file search found (OpenAI: `file_citation` annotation)."
)
class FileCitationAnnotation:
    text: str = strawberry.field(description="The text in the message that the citation marks.")
    start_index: int = strawberry.field(description="Where that text starts in the message text.")
    end_index: int = strawberry.field(description="Where that text ends in the message text.")
    file_id: strawberry.ID = strawberry.field(description="The file cited.")


@strawberry.type(
    description="A link to a file code interpreter wrote (OpenAI: `file_path` annotation)."
)
class FilePathAnnotation:
    text: str = strawberry.field(description="The text in the message that the link marks.")
    start_index: int = strawberry.field(description="Where that text starts in the message text.")
    end_index: int = strawberry.field(description="Where that text ends in the message text.")
    file_id: strawberry.ID = strawberry.field(description="The file written.")


Annotation = Annotated[
    FileCitationAnnotation | FilePathAnnotation,
    strawberry.union(
        "Annotation", description="A note on part of a text (OpenAI: `text.annotations[]`)."
    ),
]


def _annotation(annotation: m.Annotation) -> FileCitationAnnotation | FilePathAnnotation:
    kind = FileCitationAnnotation if annotation.type == "file_citation" else FilePathAnnotation
    reference = annotation.file_citation or annotation.file_path
    return kind(
        text=annotation.text,
        start_index=annotation.start_index,
        end_index=annotation.end_index,
        file_id=strawberry.ID(reference.file_id if reference else ""),
    )


@strawberry.type(description="A text and its annotations (OpenAI: `content[].text`).")
class TextValue:
    value: str = strawberry.field(description="The text (OpenAI: `text.value`).")
    annotations: list[Annotation] = strawberry.field(
        description="Citations and file links in the text (OpenAI: `text.annotations`)."
    )


@strawberry.type(description="A text part of a message (OpenAI: content of type `text`).")
class TextContent:
    text: TextValue = strawberry.field(description="The text and its annotations.")


@strawberry.type(description="An uploaded image (OpenAI: `image_file`).")
class ImageFile:
    file_id: strawberry.ID = strawberry.field(description="The image file's id.")
    detail: ImageDetail = strawberry.field(description="How closely the model looks at it.")


@strawberry.type(
    description="An uploaded image in a message (OpenAI: content of type `image_file`)."
)
class ImageFileContent:
    image_file: ImageFile = strawberry.field(description="The image.")


@strawberry.type(description="An image on the web (OpenAI: `image_url`).")
class ImageUrl:
    url: str = strawberry.field(description="The image's http(s) URL.")
    detail: ImageDetail = strawberry.field(description="How closely the model looks at it.")


@strawberry.type(description="An image URL in a message (OpenAI: content of type `image_url`).")
class ImageUrlContent:
    image_url: ImageUrl = strawberry.field(description="The image.")


@strawberry.type(description="The model declined to answer (OpenAI: content of type `refusal`).")
class RefusalContent:
    refusal: str = strawberry.field(description="The model's explanation.")


MessageContent = Annotated[
    TextContent | ImageFileContent | ImageUrlContent | RefusalContent,
    strawberry.union("MessageContent", description="One part of a message (OpenAI: `content[]`)."),
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


@strawberry.type(description="A file attached to a message (OpenAI: `message.attachments[]`).")
class Attachment:
    file_id: strawberry.ID = strawberry.field(description="The file's id.")
    tools: list[ToolType] = strawberry.field(
        description="The tools it was added to: CODE_INTERPRETER, FILE_SEARCH."
    )


@strawberry.type(description="Why something stopped unfinished (OpenAI: `incomplete_details`).")
class IncompleteDetails:
    reason: str = strawberry.field(
        description="The reason, as OpenAI names it (e.g. `max_completion_tokens`)."
    )


@strawberry.type(description="A message in a thread (OpenAI: the `thread.message` object).")
class Message(Node):
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `message.created_at`)."
    )
    thread_id: strawberry.ID = strawberry.field(
        description="The thread it belongs to (OpenAI: `message.thread_id`)."
    )
    role: MessageRole = strawberry.field(description="Who wrote it (OpenAI: `message.role`).")
    status: MessageStatus = strawberry.field(
        description="Where it stands (OpenAI: `message.status`)."
    )
    content: list[MessageContent] = strawberry.field(
        description="Its parts: text, images, refusals (OpenAI: `message.content`)."
    )
    text: str = strawberry.field(description="The message's text parts, joined.")
    assistant_id: strawberry.ID | None = strawberry.field(
        description="The assistant that wrote it, if one did (OpenAI: `message.assistant_id`)."
    )
    run_id: strawberry.ID | None = strawberry.field(
        description="The run that wrote it, if one did (OpenAI: `message.run_id`)."
    )
    attachments: list[Attachment] = strawberry.field(
        description="Files attached for tools (OpenAI: `message.attachments`)."
    )
    metadata: JSON = strawberry.field(
        description="Your key-value strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `message.metadata`)."
    )
    completed_at: datetime | None = strawberry.field(
        description="When it was completed (OpenAI: `message.completed_at`)."
    )
    incomplete_at: datetime | None = strawberry.field(
        description="When it ended incomplete (OpenAI: `message.incomplete_at`)."
    )
    incomplete_details: IncompleteDetails | None = strawberry.field(
        description="Why it is incomplete (OpenAI: `message.incomplete_details`)."
    )

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


@strawberry.input(description="An uploaded image for a message (OpenAI: `image_file`).")
class ImageFileInput:
    file_id: strawberry.ID = strawberry.field(
        description="An image file of this project (PNG, JPEG, GIF or WebP)."
    )
    detail: ImageDetail = strawberry.field(
        default=ImageDetail.AUTO, description="How closely the model looks at it."
    )


@strawberry.input(description="An image on the web for a message (OpenAI: `image_url`).")
class ImageUrlInput:
    url: str = strawberry.field(description="The image's http(s) URL.")
    detail: ImageDetail = strawberry.field(
        default=ImageDetail.AUTO, description="How closely the model looks at it."
    )


@strawberry.input(description="One content part: `type` names the one field to set.")
class MessageContentPartInput:
    type: MessageContentType = strawberry.field(description="The kind of part.")
    text: str | None = strawberry.field(
        default=strawberry.UNSET, description="The text, for TEXT parts."
    )
    image_file: ImageFileInput | None = strawberry.field(
        default=strawberry.UNSET, description="The image, for IMAGE_FILE parts."
    )
    image_url: ImageUrlInput | None = strawberry.field(
        default=strawberry.UNSET, description="The image, for IMAGE_URL parts."
    )


@strawberry.input(description="A file to attach to a message (OpenAI: `attachments[]`).")
class AttachmentInput:
    file_id: strawberry.ID = strawberry.field(description="A file of this project.")
    tools: list[ToolType] = strawberry.field(
        default_factory=list,
        description="The tools to add it to: CODE_INTERPRETER, FILE_SEARCH (its thread's "
        "vector store).",
    )


@strawberry.input(description="Give `content` (plain text) or `contentParts`, not both.")
class CreateMessageInput:
    role: MessageRole = strawberry.field(
        default=MessageRole.USER, description="Who wrote it (OpenAI: `role`)."
    )
    content: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Plain text, at most 256,000 characters (OpenAI: `content` as a string).",
    )
    content_parts: list[MessageContentPartInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Text and image parts, at most 32 (OpenAI: `content` as an array).",
    )
    attachments: list[AttachmentInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Files for tools, at most 20 (OpenAI: `attachments`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )


@strawberry.input(description="A message's new metadata (OpenAI: `POST …/messages/{id}`'s body).")
class UpdateMessageInput:
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces its metadata: at most 16 keys; null clears it (OpenAI: `metadata`).",
    )
