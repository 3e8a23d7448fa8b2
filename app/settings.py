"""One settings object, read from THREADLINE_* environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Unset: the embedded database is started as a separate process.
    mongodb_uri: str | None = None
    database_name: str = "threadline"
    # Where the embedded database and generated keys live.
    state_dir: Path = Path(".threadline")
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    workers: int = 2
    run_lease_seconds: float = Field(default=30, gt=0)
    # On SIGTERM, running runs get this long to finish before they are handed back.
    drain_seconds: float = Field(default=5, ge=0)
    # A run waiting (queued, or for tool outputs) longer than this expires.
    run_expires_seconds: float = Field(default=600, gt=0)
    # The context window assumed for models of the OpenAI-compatible endpoint.
    model_context_tokens: int = Field(default=128_000, ge=1024)
    admin_key: SecretStr | None = None
    log_level: str = "INFO"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"


settings = Settings()
