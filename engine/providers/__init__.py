"""Model providers: the built-in scripted model and OpenAI-compatible endpoints."""
