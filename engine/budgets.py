"""What a run's token limits leave for its next turn. OpenAI's `max_prompt_tokens` and
`max_completion_tokens` hold "over the course of the run", across its turns (a turn per model
call: each tool-call round adds one), so a turn gets what the earlier turns (`spent`) left."""

from models.run import RunDocument


def prompt_tokens_left(run: RunDocument, context_tokens: int) -> int:
    """The next prompt's budget: the model's context window, within what `maxPromptTokens`
    leaves (≤ 0 once the earlier prompts used it all)."""
    if run.max_prompt_tokens is None:
        return context_tokens
    used = run.spent.prompt_tokens if run.spent else 0
    return min(context_tokens, run.max_prompt_tokens - used)


def completion_tokens_left(run: RunDocument) -> int | None:
    """What `maxCompletionTokens` leaves after the run's earlier turns (None: no limit)."""
    if run.max_completion_tokens is None:
        return None
    return run.max_completion_tokens - (run.spent.completion_tokens if run.spent else 0)
