"""Embeddings for file search from any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI,
vLLM, Ollama, llama.cpp server, LM Studio, text-embeddings-inference…), through the official
`openai` SDK as the chat provider uses it (engine/providers/openai_compatible.py).

The SDK retries connection errors, timeouts, 408, 409, 429 and 5xx with exponential backoff
(honouring `retry-after-ms` / `retry-after`) before raising; what it raises, and an answer
that is not one vector per input, becomes `EmbeddingsFailed` with a message saying why.

Vectors are comparable only with vectors of the same model: each file in a store records the
model its chunks were embedded with (`VectorStoreFileDocument.embedding_model`), and a query
is compared only with chunks of the configured model (engine/files/search.py)."""

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.settings import Settings

# The SDK (~14 MB in a process) is imported by the first Embedder, made only when
# THREADLINE_EMBEDDINGS_MODEL is set: most processes never load it.
if TYPE_CHECKING:
    from openai.types import CreateEmbeddingResponse

BATCH = 64  # inputs per request: well under every server's limit, few requests per file
MAX_RETRIES = 3
TIMEOUT_SECONDS = 60.0  # connecting, and each wait for bytes


class EmbeddingsFailed(Exception):
    """The endpoint refused or failed (after the SDK's retries), or answered unusably."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Embedder:
    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        batch: int = BATCH,
        max_retries: int = MAX_RETRIES,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        from openai import AsyncOpenAI

        from engine.providers.openai_compatible import NO_KEY

        self.model = model
        self.batch = batch
        self._api_key = api_key
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or NO_KEY, max_retries=max_retries, timeout=timeout
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "Embedder | None":
        """None without THREADLINE_EMBEDDINGS_MODEL: search stays lexical. The endpoint
        defaults to the chat one; so does the key, but only for that same endpoint: a key is
        never sent to another server than the one it was given for."""
        if not settings.embeddings_model:
            return None
        base_url = settings.embeddings_base_url or settings.openai_base_url
        if base_url is None:  # Settings refuses this; kept for type checkers
            raise ValueError("THREADLINE_EMBEDDINGS_MODEL needs an endpoint")
        secret = settings.embeddings_api_key
        if secret is None and base_url == settings.openai_base_url:
            secret = settings.openai_api_key
        return cls(
            settings.embeddings_model, base_url, secret.get_secret_value() if secret else None
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order, BATCH texts per request."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch):
            vectors += await self._request(texts[start : start + self.batch])
        if len({len(vector) for vector in vectors}) > 1:
            raise EmbeddingsFailed(f"{self.model} answered vectors of different lengths")
        return vectors

    async def _request(self, texts: Sequence[str]) -> list[list[float]]:
        import openai

        from engine.providers.openai_compatible import describe

        try:
            response = await self._client.embeddings.create(
                # "float": the SDK asks for base64 by default, which not every server speaks.
                model=self.model,
                input=list(texts),
                encoding_format="float",
            )
        except openai.APIError as error:
            raise EmbeddingsFailed(self._redact(f"{self.model}: {describe(error)}")) from error
        return _vectors(response, len(texts), self.model)

    def _redact(self, message: str) -> str:
        # A server may echo the key in its error text (the SDK itself never does).
        return message.replace(self._api_key, "***") if self._api_key else message

    async def aclose(self) -> None:
        await self._client.close()


def _vectors(response: "CreateEmbeddingResponse", count: int, model: str) -> list[list[float]]:
    """The answer's vectors in input order. The SDK builds its objects without validating
    them: anything but one finite, non-empty vector per input is the server's error."""
    try:
        by_index = {int(item.index): item.embedding for item in response.data}
        vectors = [[float(value) for value in by_index[index]] for index in range(count)]
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise EmbeddingsFailed(f"{model}: malformed answer from the embeddings endpoint") from error
    if len(response.data) != count:
        raise EmbeddingsFailed(f"{model}: {len(response.data)} vectors for {count} inputs")
    if not all(vector and all(map(math.isfinite, vector)) for vector in vectors):
        raise EmbeddingsFailed(f"{model}: an empty or non-finite vector")
    return vectors
