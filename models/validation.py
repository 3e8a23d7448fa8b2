"""Shared field types with OpenAI's limits, and pydantic errors turned into BAD_USER_INPUT."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


Loc = tuple[int | str, ...]
INTERNAL_STEPS = ("function-", "model-", "tagged-")  # pydantic's own steps in an error's loc


def _path(loc: Loc, name: Callable[[str], str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(INTERNAL_STEPS):
            path += ("." if path else "") + name(part)
    return path


@dataclass(frozen=True)
class Where:
    """Where a value sits in a request. `root` starts every message's path: GraphQL's
    argument (`input`), or nothing for a REST body. `loc` follows, as pydantic's errors give
    it; messages name its fields camelCase (GraphQL's names) unless `camel` is off (OpenAI's
    snake_case), and OpenAI's `param` names them snake_case, without the root."""

    root: str = "input"
    loc: Loc = ()
    camel: bool = True

    @classmethod
    def of(cls, prefix: "str | Where") -> "Where":
        """A message prefix as given so far (`"input.thread"`), or a Where already."""
        return prefix if isinstance(prefix, Where) else cls(prefix)

    def at(self, *loc: int | str) -> "Where":
        return Where(self.root, (*self.loc, *loc), self.camel)

    def name(self, *loc: int | str) -> str:
        full = (*self.loc, *loc)
        return _path((self.root, *full) if self.root else full, _camel if self.camel else str)

    def param(self, *loc: int | str) -> str | None:
        return _path((*self.loc, *loc), str) or None

    def bad(self, message: str, *loc: int | str) -> BadUserInput:
        """BAD_USER_INPUT for the field at `loc` (below this place)."""
        name, param = self.name(*loc), self.param(*loc)
        text = f"{name}: {message}" if name else message
        return BadUserInput(text, **({"param": param} if param else {}))


INPUT = Where()  # GraphQL's `input` argument


def describe(error: ValidationError, prefix: str | Where = "input") -> str:
    where = Where.of(prefix)
    messages = []
    for item in error.errors(include_url=False):
        messages.append(f"{where.name(*item['loc'])}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(messages)


def validated(model: type[M], data: Mapping[str, Any], prefix: str | Where = "input") -> M:
    """Builds `model` from `data`, or raises BAD_USER_INPUT naming every bad field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        raise invalid(error, prefix) from None


def invalid(error: ValidationError, prefix: str | Where = "input") -> BadUserInput:
    """`error` as BAD_USER_INPUT: every bad field named, the first as `param`."""
    where = Where.of(prefix)
    errors = error.errors(include_url=False)
    param = where.param(*errors[0]["loc"]) if errors else where.param()
    return BadUserInput(describe(error, where), **({"param": param} if param else {}))
