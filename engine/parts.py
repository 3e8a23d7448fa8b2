"""An answer's parts as the model says them: its text and its refusal (chat completions'
`delta.refusal`), in the order they began; and the delta that tells what one says beyond
another, shaped like OpenAI's `thread.message.delta` content."""

from typing import Any, Literal

from models.message import ContentPart, MessageDocument, TextValue

PartType = Literal["text", "refusal"]


class Parts:
    def __init__(self, values: dict[PartType, str] | None = None) -> None:
        self.values: dict[PartType, str] = dict(values or {})  # in the order they began

    @classmethod
    def of(cls, message: MessageDocument) -> "Parts":
        """What a stored answer says (and so what its deltas told)."""
        parts = cls()
        for part in message.content:
            if part.text is not None:
                parts.add("text", part.text.value)
            elif part.refusal is not None:
                parts.add("refusal", part.refusal)
        return parts

    def __bool__(self) -> bool:
        return bool(self.values)

    def add(self, kind: PartType, piece: str) -> None:
        self.values[kind] = self.values.get(kind, "") + piece

    def same(self, other: "Parts") -> bool:
        return list(self.values.items()) == list(other.values.items())

    def extends(self, other: "Parts") -> bool:
        """Whether these go on from `other`: its parts, begun in the same order, each
        starting with what `other` says."""
        kinds = list(other.values)
        return list(self.values)[: len(kinds)] == kinds and all(
            self.values[kind].startswith(value) for kind, value in other.values.items()
        )

    def content(self) -> list[ContentPart]:
        return [
            ContentPart(type="text", text=TextValue(value=value))
            if kind == "text"
            else ContentPart(type="refusal", refusal=value)
            for kind, value in self.values.items()
        ]

    def beyond(self, told: "Parts", kind: PartType) -> str:
        """What this part says past what `told` said of it (these must extend `told`)."""
        return self.values.get(kind, "")[len(told.values.get(kind, "")) :]

    def delta(self, told: "Parts") -> dict[str, Any]:
        """The message delta from `told` to these: each part's new piece at its index."""
        content: list[dict[str, Any]] = []
        for index, kind in enumerate(self.values):
            piece = self.beyond(told, kind)
            if not piece:
                continue
            if kind == "text":
                content.append({"index": index, "type": "text", "text": {"value": piece}})
            else:
                content.append({"index": index, "type": "refusal", "refusal": piece})
        return {"content": content}
