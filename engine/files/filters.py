"""OpenAI's `filters` for file_search and vector store search, over a file's `attributes`.

A ComparisonFilter is {type: eq|ne|gt|gte|lt|lte|in|nin, key, value}; a CompoundFilter is
{type: and|or, filters: [...]}, which may hold compound filters again. Attribute values are
strings, numbers or booleans.

Comparisons never mix kinds: a string is never equal to a number, `True` is not 1, and
`gt`/`gte`/`lt`/`lte` compare numbers with numbers and strings with strings (lexically, which
orders ISO dates). A comparison with an attribute of another kind is false, like one with a
missing attribute, except `ne` and `nin`, which are true then: the attribute is not equal to
the value, nor among the values (MongoDB's `$ne`/`$nin` read it the same way). An empty `and`
is true, an empty `or` false.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

Attribute = str | float | bool
COMPARISONS: Final = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
ORDERINGS: Final = ("gt", "gte", "lt", "lte")
MEMBERSHIPS: Final = ("in", "nin")
COMPOUNDS: Final = ("and", "or")
# Deeper filters are refused before they could exhaust the recursion limit.
MAX_DEPTH: Final = 10


def validate_filter(filter: Any) -> None:
    """Raises ValueError, naming the place (`filters[1].value`), unless `filter` is a well-formed
    ComparisonFilter or CompoundFilter."""
    _validate(filter, "filters", 1)


def matches(filter: Mapping[str, Any], attributes: Mapping[str, Attribute]) -> bool:
    """Whether a file with these attributes passes a (validated) filter."""
    kind = filter["type"]
    if kind == "and":
        return all(matches(inner, attributes) for inner in filter["filters"])
    if kind == "or":
        return any(matches(inner, attributes) for inner in filter["filters"])
    value = filter["value"]
    present = attributes.get(filter["key"])
    if kind == "eq":
        return _equal(present, value)
    if kind == "ne":
        return not _equal(present, value)
    if kind == "in":
        return any(_equal(present, item) for item in value)
    if kind == "nin":
        return not any(_equal(present, item) for item in value)
    if kind in ORDERINGS:
        return _ordered(kind, present, value)
    raise ValueError(f"unknown filter type {kind!r}")


def _kind(value: Any) -> str | None:
    """'number', 'string' or 'boolean' for a value a filter or an attribute may hold."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _equal(present: Any, value: Any) -> bool:
    kind = _kind(present)
    return kind is not None and kind == _kind(value) and bool(present == value)


def _ordered(kind: str, present: Any, value: Any) -> bool:
    if _kind(present) not in ("number", "string") or _kind(present) != _kind(value):
        return False
    if kind == "gt":
        return bool(present > value)
    if kind == "gte":
        return bool(present >= value)
    if kind == "lt":
        return bool(present < value)
    return bool(present <= value)


# --- Validation -------------------------------------------------------------------------------


def _validate(filter: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"{path}: filters nest at most {MAX_DEPTH} deep")
    if not isinstance(filter, Mapping):
        raise ValueError(f"{path}: a filter is an object, not {_describe(filter)}")
    kind = filter.get("type")
    if kind in COMPOUNDS:
        _validate_compound(filter, path, depth)
    elif kind in COMPARISONS:
        _validate_comparison(filter, path)
    elif kind is None:
        raise ValueError(f"{path}: a filter needs a `type`")
    else:
        expected = ", ".join(COMPARISONS + COMPOUNDS)
        raise ValueError(f"{path}.type: unknown filter type {kind!r} (expected one of {expected})")


def _validate_compound(filter: Mapping[str, Any], path: str, depth: int) -> None:
    _only(filter, ("type", "filters"), path)
    inner = filter.get("filters")
    if not isinstance(inner, Sequence) or isinstance(inner, str):
        raise ValueError(f"{path}.filters: `{filter['type']}` needs a list of filters")
    for index, item in enumerate(inner):
        _validate(item, f"{path}.filters[{index}]", depth + 1)


def _validate_comparison(filter: Mapping[str, Any], path: str) -> None:
    _only(filter, ("type", "key", "value"), path)
    kind = filter["type"]
    key = filter.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"{path}.key: `{kind}` needs a `key`, a non-empty string")
    if "value" not in filter:
        raise ValueError(f"{path}.value: `{kind}` needs a `value`")
    value = filter["value"]
    if kind in MEMBERSHIPS:
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise ValueError(f"{path}.value: `{kind}` needs a list of strings or numbers")
        for index, item in enumerate(value):
            _check_scalar(item, ("string", "number"), f"{path}.value[{index}]")
    elif kind in ORDERINGS:
        _check_scalar(value, ("number", "string"), f"{path}.value")
    else:
        _check_scalar(value, ("string", "number", "boolean"), f"{path}.value")


def _check_scalar(value: Any, kinds: tuple[str, ...], path: str) -> None:
    kind = _kind(value)
    if kind not in kinds:
        raise ValueError(f"{path}: expected a {' or '.join(kinds)}, not {_describe(value)}")
    if kind == "number" and not math.isfinite(value):
        raise ValueError(f"{path}: expected a finite number, not {value}")


def _only(filter: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    unknown = sorted(str(name) for name in filter if name not in allowed)
    if unknown:
        kind = filter["type"]
        raise ValueError(
            f"{path}: `{kind}` takes no {', '.join(unknown)} (only {', '.join(allowed)})"
        )


def _describe(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
