"""Assistants: a model, its instructions and its tools."""

from typing import Annotated

from pydantic import AfterValidator, Field
from pymongo import IndexModel

from models.base import ScopedDocument
from models.ids import new_id
from models.repository import Repository
from models.tools import ResponseFormat, Tool, ToolResources, check_tools
from models.validation import Metadata, ReasoningEffort


class AssistantDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("asst"))
    model: str = Field(min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: Annotated[list[Tool], AfterValidator(check_tools)] = Field(
        default_factory=list, max_length=128
    )
    tool_resources: ToolResources | None = None
    metadata: Metadata = Field(default_factory=dict)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None

    class Settings:
        name = "assistants"
        indexes = [IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)])]


assistants = Repository(AssistantDocument, "assistant", "asst_")
