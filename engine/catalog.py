"""Which model names this server can run, with which provider and context window."""

from engine.providers.base import Provider, ProviderError
from engine.providers.openai_compatible import OpenAICompatibleProvider
from engine.providers.scripted import ScriptedProvider
from models.errors import BadUserInput

SCRIPTED_MODEL = "threadline/scripted"
SCRIPTED_CONTEXT_TOKENS = 16_384


def ensure_model_served(model: str, endpoint_configured: bool, field: str = "input.model") -> None:
    """Every name goes to the OpenAI-compatible endpoint when one is set; else only the built-in."""
    if model == SCRIPTED_MODEL or endpoint_configured:
        return
    raise BadUserInput(
        f"{field}: '{model}' is not served here: only '{SCRIPTED_MODEL}' is, "
        "until THREADLINE_OPENAI_BASE_URL points at an OpenAI-compatible endpoint."
    )


class Catalog:
    def __init__(
        self, base_url: str | None, api_key: str | None, context_tokens: int = 128_000
    ) -> None:
        self.scripted = ScriptedProvider()
        self.endpoint = OpenAICompatibleProvider(base_url, api_key) if base_url else None
        self.context_tokens = context_tokens

    def provider(self, model: str) -> Provider:
        if model == SCRIPTED_MODEL:
            return self.scripted
        if self.endpoint is None:
            raise ProviderError("invalid_prompt", f"The model '{model}' is not served here.")
        return self.endpoint

    def context_window(self, model: str) -> int:
        return SCRIPTED_CONTEXT_TOKENS if model == SCRIPTED_MODEL else self.context_tokens
