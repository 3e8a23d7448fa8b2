"""A new message as requests give it, in both faces' forms: OpenAI's one `content` field (a
string or a list of parts), or GraphQL's `content` (a string) and `contentParts` (a list).
Here, not in services/, because the run engine builds its additional messages from the same
input; `models.conversations.build_message` holds the rule that makes it a document."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

from models.message import Attachment, ImageFile, ImageUrl


class ContentPartInput(BaseModel):
    """One part: `type` names the field to set. A text part's `text` is the plain string."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "image_file", "image_url"]
    text: str | None = None
    image_file: ImageFile | None = None
    image_url: ImageUrl | None = None


def _form(value: Any) -> str:
    return "tagged-parts" if isinstance(value, list) else "tagged-text"


# A string or a list of parts, told apart by the value's type, so that a bad part's error
# names that part only (a plain union would also report "not a valid string"). The tags start
# with "tagged-", which error paths leave out (models/validation.py).
Content = Annotated[
    Annotated[str, Tag("tagged-text")] | Annotated[list[ContentPartInput], Tag("tagged-parts")],
    Discriminator(_form),
]


class MessageInput(BaseModel):
    """Exactly one of `content` and `content_parts`, checked when the message is built."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"] = "user"
    content: Content | None = None
    content_parts: list[ContentPartInput] | None = None
    attachments: list[Attachment] | None = None
    metadata: dict[str, str] | None = None
