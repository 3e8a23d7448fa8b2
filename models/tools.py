"""Tools, tool resources and response formats, shared by assistants, threads and runs."""

from typing import Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from models.validation import JsonSchema, ToolName

MAX_TOOLS = 128
MAX_CODE_INTERPRETER_FILES = 20
MAX_VECTOR_STORES = 1


class FunctionDefinition(BaseModel):
    name: ToolName
    description: str | None = Field(default=None, max_length=1024)
    parameters: JsonSchema | None = None
    strict: bool | None = None


class RankingOptions(BaseModel):
    ranker: Literal["auto", "default_2024_08_21"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class FileSearchOptions(BaseModel):
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: RankingOptions | None = None


class Tool(BaseModel):
    type: Literal["code_interpreter", "file_search", "function"]
    function: FunctionDefinition | None = None
    file_search: FileSearchOptions | None = None

    @model_validator(mode="after")
    def _options_match_type(self) -> Self:
        if (self.type == "function") != (self.function is not None):
            raise ValueError("`function` is required for, and only for, FUNCTION tools")
        if self.file_search is not None and self.type != "file_search":
            raise ValueError("`fileSearch` options belong to FILE_SEARCH tools only")
        return self


def check_tools(tools: list[Tool]) -> list[Tool]:
    names = [tool.function.name for tool in tools if tool.function]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"function names must be unique: {', '.join(duplicates)}")
    return tools


class CodeInterpreterResources(BaseModel):
    file_ids: list[str] = Field(default_factory=list, max_length=MAX_CODE_INTERPRETER_FILES)


class FileSearchResources(BaseModel):
    vector_store_ids: list[str] = Field(default_factory=list, max_length=MAX_VECTOR_STORES)


class ToolResources(BaseModel):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


class JsonSchemaFormat(BaseModel):
    name: ToolName
    description: str | None = None
    schema_: JsonSchema | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = {"populate_by_name": True}


class ResponseFormat(BaseModel):
    type: Literal["auto", "text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_matches_type(self) -> Self:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("`jsonSchema` is required for, and only for, JSON_SCHEMA")
        return self


ToolList = list[Tool]
JsonObject = dict[str, Any]
