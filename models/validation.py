"""Shared field types with OpenAI's limits, and pydantic errors turned into BAD_USER_INPUT."""

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from models.errors import BadUserInput

MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_VALUE_LENGTH = 512


def _check_metadata(metadata: dict[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys are allowed, got {len(metadata)}")
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValueError(
                f"key '{key[:20]}…' is longer than {MAX_METADATA_KEY_LENGTH} characters"
            )
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(
                f"the value of '{key}' is longer than {MAX_METADATA_VALUE_LENGTH} characters"
            )
    return metadata


def _check_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"not a valid JSON Schema: {error.message}") from None
    return schema


Metadata = Annotated[dict[str, str], AfterValidator(_check_metadata)]
# OpenAI's `reasoning_effort` (ReasoningEffort in its OpenAPI reference), sent as it is.
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
JsonSchema = Annotated[dict[str, Any], AfterValidator(_check_json_schema)]
ToolName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]

M = TypeVar("M", bound=BaseModel)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(("function-", "model-", "tagged-")):  # pydantic's internal steps
            path += ("." if path else "") + _camel(part)
    return path


def describe(error: ValidationError, prefix: str = "input") -> str:
    messages = []
    for item in error.errors(include_url=False):
        where = _location((prefix, *item["loc"])) if prefix else _location(item["loc"])
        messages.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(messages)


def first_field(error: ValidationError) -> str | None:
    """The first bad field as OpenAI's `param` names it: `tools[0].function.name`."""
    errors = error.errors(include_url=False)
    if not errors:
        return None
    path = ""
    for part in errors[0]["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(("function-", "model-", "tagged-")):
            path += ("." if path else "") + part
    return path or None


def validated(model: type[M], data: Mapping[str, Any], prefix: str = "input") -> M:
    """Builds `model` from `data`, or raises BAD_USER_INPUT naming every bad field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        param = first_field(error)
        raise BadUserInput(describe(error, prefix), **({"param": param} if param else {})) from None
