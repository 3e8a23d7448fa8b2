"""Which model names this server runs, with which provider, context window and tokenizer.

The first that serves a name wins:
1. the built-in `threadline/scripted`;
2. the entries of the models file (THREADLINE_MODELS), in the file's order;
3. when THREADLINE_OPENAI_BASE_URL is set, that endpoint, for every other name ("*").
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from app.settings import Settings
from engine import models_file, tokens
from engine.encodings import TokenizerName
from engine.providers.base import Provider, ProviderError
from engine.providers.scripted import ScriptedProvider
from models.errors import BadUserInput

if TYPE_CHECKING:  # imported when an endpoint is configured: the SDK is ~14 MB in a process
    from engine.providers.openai_compatible import OpenAICompatibleProvider

SCRIPTED_MODEL = "threadline/scripted"
SCRIPTED_CONTEXT_TOKENS = 16_384


@dataclass(frozen=True)
class ServedModel:
    provider: Provider
    context_tokens: int
    tokenizer: TokenizerName


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible endpoint and the model names (fnmatch patterns) it serves."""

    patterns: tuple[str, ...]
    provider: "OpenAICompatibleProvider"
    context_tokens: int
    tokenizer: TokenizerName | None = None  # None: each model family's own

    def serves(self, model: str) -> bool:
        return any(fnmatchcase(model, pattern) for pattern in self.patterns)


class Catalog:
    def __init__(self, endpoints: Sequence[Endpoint] = ()) -> None:
        self.endpoints = list(endpoints)
        self.scripted = ServedModel(ScriptedProvider(), SCRIPTED_CONTEXT_TOKENS, tokens.DEFAULT)

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] = os.environ
    ) -> "Catalog":
        """Raises ModelsFileError, naming the file and the entry, when the models file is bad."""
        endpoints = []
        if settings.models is not None:
            for entry in models_file.load(settings.models, environ):
                key = environ[entry.api_key_env] if entry.api_key_env else None
                endpoints.append(
                    Endpoint(
                        tuple(entry.match),
                        _endpoint_provider(entry.base_url, key),
                        entry.context_tokens or settings.model_context_tokens,
                        entry.tokenizer,
                    )
                )
        if settings.openai_base_url is not None:
            secret = settings.openai_api_key
            key = secret.get_secret_value() if secret else None
            provider = _endpoint_provider(settings.openai_base_url, key)
            endpoints.append(Endpoint(("*",), provider, settings.model_context_tokens))
        return cls(endpoints)

    def find(self, model: str) -> ServedModel | None:
        if model == SCRIPTED_MODEL:
            return self.scripted
        for endpoint in self.endpoints:
            if endpoint.serves(model):
                tokenizer = endpoint.tokenizer or tokens.for_model(model)
                return ServedModel(endpoint.provider, endpoint.context_tokens, tokenizer)
        return None

    def ensure_served(self, model: str, field: str = "input.model") -> None:
        """BAD_USER_INPUT for a name that nothing serves, saying what is served."""
        if self.find(model) is None:
            raise BadUserInput(f"{field}: '{model}' is not served here: {self.served()}.")

    def served(self) -> str:
        if not self.endpoints:
            return (
                f"only '{SCRIPTED_MODEL}' is, until THREADLINE_MODELS or "
                "THREADLINE_OPENAI_BASE_URL names an OpenAI-compatible endpoint"
            )
        patterns = [pattern for endpoint in self.endpoints for pattern in endpoint.patterns]
        return f"'{SCRIPTED_MODEL}' is, and names matching " + ", ".join(
            f"'{pattern}'" for pattern in patterns
        )

    def provider(self, model: str) -> Provider:
        return self._served(model).provider

    def context_window(self, model: str) -> int:
        return self._served(model).context_tokens

    def tokenizer(self, model: str) -> TokenizerName:
        return self._served(model).tokenizer

    def _served(self, model: str) -> ServedModel:
        """A run's model, checked when it was created; the configuration may have changed."""
        served = self.find(model)
        if served is None:
            raise ProviderError("invalid_prompt", f"The model '{model}' is not served here.")
        return served

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.provider.aclose()


def _endpoint_provider(base_url: str, api_key: str | None) -> "OpenAICompatibleProvider":
    from engine.providers.openai_compatible import OpenAICompatibleProvider

    return OpenAICompatibleProvider(base_url, api_key)
