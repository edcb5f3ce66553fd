"""All configuration, read from the environment with the ``CITYDEAL_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYDEAL_", env_file=".env", extra="ignore")

    environment: str = Field(default="development", pattern="^(development|test|production)$")
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'citydeal.db'}"
    var_dir: Path = PROJECT_ROOT / "var"
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    meili_url: str | None = None
    meili_key: str | None = None
    session_secret: str = "dev-only-change-me"
    search_sync_seconds: float = Field(default=2.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.session_secret == "dev-only-change-me":
                raise ValueError("CITYDEAL_SESSION_SECRET must be set in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL: set CITYDEAL_DATABASE_URL")
        if self.meili_key and not self.meili_url:
            raise ValueError("CITYDEAL_MEILI_KEY is set but CITYDEAL_MEILI_URL is not")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
