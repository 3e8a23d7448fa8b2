"""A JSON value that fits a JSON Schema, for the scripted model's `json_schema` answers."""

from typing import Any


def example_of(schema: dict[str, Any], text: str) -> Any:
    """The simplest instance of `schema`, with `text` in its strings."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combined in ("anyOf", "oneOf", "allOf"):
        if schema.get(combined):
            return example_of(schema[combined][0], text)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: example_of(sub, text) for name, sub in properties.items()}
    if kind == "array":
        return (
            [example_of(schema["items"], text)]
            if schema.get("minItems") and schema.get("items")
            else []
        )
    return {"string": text, "integer": 0, "number": 0, "boolean": False, "null": None}.get(
        kind, text
    )
