"""The models file (THREADLINE_MODELS): which model names go to which OpenAI-compatible
endpoint, with which key, context window and tokenizer. TOML, or YAML by its suffix.

    [[models]]
    match = ["gpt-4o*", "o3*"]            # model names or fnmatch patterns
    base_url = "https://api.openai.com/v1"
    api_key_env = "OPENAI_API_KEY"         # the NAME of the variable holding the key
    context_tokens = 128000                # optional: THREADLINE_MODEL_CONTEXT_TOKENS
    tokenizer = "o200k_base"               # optional: the model family's own

It is checked once, at startup: a bad file stops the server with a message naming the file
and the entry (by position and `match`). No other value from the file is ever quoted, so a
key pasted by mistake is not echoed.
"""

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from engine.encodings import TokenizerName

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ModelsFileError(Exception):
    """The models file cannot be used; the message names the file and what is wrong."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _env_name(value: str) -> str:
    if not ENV_NAME.fullmatch(value):
        raise ValueError("must be the name of an environment variable (not the key itself)")
    return value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Pattern = Annotated[str, Field(min_length=1)]


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Annotated[list[Pattern], BeforeValidator(_listed), Field(min_length=1)]
    base_url: Annotated[str, AfterValidator(_http_url)]
    api_key_env: Annotated[str, AfterValidator(_env_name)] | None = None
    context_tokens: int | None = Field(default=None, ge=1024)
    tokenizer: TokenizerName | None = None


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelEntry] = Field(min_length=1)


def load(path: Path, environ: Mapping[str, str] = os.environ) -> list[ModelEntry]:
    """The file's entries, in order; each named key variable must be set."""
    raw = _parse(path)
    try:
        entries = ModelsFile.model_validate(raw).models
    except ValidationError as error:
        raise ModelsFileError(f"{path}: {_describe(error, raw)}") from None
    for index, entry in enumerate(entries):
        if entry.api_key_env is not None and not environ.get(entry.api_key_env):
            raise ModelsFileError(
                f"{path}: {_entry_name(index, raw)}: api_key_env: "
                f"the environment variable {entry.api_key_env} is not set"
            )
    return entries


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelsFileError(f"{path}: cannot be read ({error.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ModelsFileError(f"{path}: not valid TOML: {error}") from None
    if suffix in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            # Without the quoted line, which could hold a key.
            mark = error.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise ModelsFileError(f"{path}: not valid YAML: {where}{error.problem}") from None
        except yaml.YAMLError:
            raise ModelsFileError(f"{path}: not valid YAML") from None
    raise ModelsFileError(f"{path}: a models file ends in .toml, .yaml or .yml")


def _describe(error: ValidationError, raw: Any) -> str:
    """The first problem, by entry and field, without the value that caused it."""
    problem = error.errors(include_url=False, include_input=False, include_context=False)[0]
    location = list(problem["loc"])
    if location[:1] == ["models"] and len(location) > 1 and isinstance(location[1], int):
        where = [_entry_name(location[1], raw), *map(str, location[2:])]
    else:
        where = [str(part) for part in location] or ["the file"]
    return f"{': '.join(where)}: {problem['msg']}"


def _entry_name(index: int, raw: Any) -> str:
    """`models[1] (match "llama3*")`: its position, and its patterns when they are text."""
    try:
        match = _listed(raw["models"][index]["match"])
    except (KeyError, IndexError, TypeError):
        return f"models[{index}]"
    if not match or not isinstance(match, list) or not all(isinstance(i, str) for i in match):
        return f"models[{index}]"
    return f"models[{index}] (match {', '.join(f'{item!r}' for item in match)})"
