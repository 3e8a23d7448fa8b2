"""Which model names this server can run."""

from models.errors import BadUserInput

SCRIPTED_MODEL = "threadline/scripted"


def ensure_model_served(model: str, endpoint_configured: bool) -> None:
    """Every name goes to the OpenAI-compatible endpoint when one is set; else only the built-in."""
    if model == SCRIPTED_MODEL or endpoint_configured:
        return
    raise BadUserInput(
        f"input.model: '{model}' is not served here: only '{SCRIPTED_MODEL}' is, "
        "until THREADLINE_OPENAI_BASE_URL points at an OpenAI-compatible endpoint."
    )
