"""All configuration, read from the environment with the ``CITYDEAL_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from limits import parse_many
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ComponentWeights(BaseModel):
    """How much each component counts; normalised to sum to 1 when scoring."""

    sector: float = Field(0.30, ge=0, description="Listing sector against the investor's sectors")
    geography: float = Field(0.15, ge=0, description="Province, region or anywhere")
    ticket: float = Field(0.15, ge=0, description="Share of the capital range inside the ticket")
    model: float = Field(0.10, ge=0, description="An accepted investment model is offered")
    stage: float = Field(0.05, ge=0, description="The stage is one the investor accepts")
    horizon: float = Field(0.05, ge=0, description="Payback within the investor's horizon")
    irr: float = Field(0.05, ge=0, description="Expected IRR against the investor's minimum")
    text: float = Field(0.15, ge=0, description="Thesis words shared with the listing")


class ScoringSettings(BaseSettings):
    """Every constant of the scorer, in one documented place; each can be set from the
    environment, e.g. ``CITYDEAL_MATCH_TICKET_TOLERANCE=0.1`` or
    ``CITYDEAL_MATCH_WEIGHTS__TEXT=0.2``."""

    model_config = SettingsConfigDict(
        env_prefix="CITYDEAL_MATCH_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    weights: ComponentWeights = ComponentWeights()
    ticket_tolerance: float = Field(
        0.25,
        ge=0,
        le=1,
        description="A capital range may miss the ticket by this fraction before it is removed",
    )
    sector_parent_fit: float = Field(1.0, description="Listing sector is a child of a chosen one")
    sector_child_fit: float = Field(0.7, description="Listing sector is the parent of a chosen one")
    sector_sibling_fit: float = Field(0.4, description="Listing sector shares a parent")
    sector_open_fit: float = Field(0.6, description="The investor named no sectors")
    region_of_province_fit: float = Field(
        0.5, description="Listing in the region of a province the investor named"
    )
    unknown_fit: float = Field(0.5, description="Payback or IRR the listing does not state")
    text_saturation: float = Field(
        0.25, gt=0, description="Thesis-listing cosine at which the text fit reaches 1"
    )
    match_threshold: float = Field(55.0, description="Score from which an investor counts as a fit")
    gap_margin: float = Field(20.0, description="How far below the threshold gap analysis looks")


class AccountSettings(BaseSettings):
    """People's accounts, from ``CITYDEAL_ACCOUNTS_…`` variables (environment or ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix="CITYDEAL_ACCOUNTS_", env_file=".env", extra="ignore"
    )

    argon2_time_cost: int = Field(3, ge=1, le=20, description="argon2id passes")
    argon2_memory_kib: int = Field(65_536, ge=1_024, description="argon2id memory, KiB")
    session_hours: int = Field(12, ge=1, le=24 * 30, description="a sign-in lasts this long")
    invitation_days: int = Field(7, ge=1, le=60, description="an invitation link lasts")
    reset_hours: int = Field(2, ge=1, le=72, description="a password-reset link lasts")
    sign_in_window_minutes: int = Field(15, ge=1, description="failed sign-ins count this long")
    sign_in_failures_per_account: int = Field(5, ge=1)
    sign_in_failures_per_address: int = Field(20, ge=1)


class RateLimitSettings(BaseSettings):
    """How often a key, an account or an address may do a thing, from
    ``CITYDEAL_RATE_LIMIT_…`` variables. Each limit is in the ``limits`` library's notation,
    one or several joined by ``;`` (``"10/minute"``, ``"5/second;300/hour"``); a request
    over any of them gets 429 with ``Retry-After``. The counts live in the store at
    ``storage_url``, shared by every process and host that uses the same store
    (``redis://…``); ``memory://`` counts in the one process (the embedded setup, refused
    in production). Successive failed sign-ins are also counted in the database
    (``AccountSettings.sign_in_…``): these limits count every attempt."""

    model_config = SettingsConfigDict(
        env_prefix="CITYDEAL_RATE_LIMIT_", env_file=".env", extra="ignore"
    )

    enabled: bool = True
    storage_url: str = Field(
        "memory://", description="memory://, or redis://host:port/db shared by every process"
    )
    key_prefix: str = Field(
        "citydeal", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="prefix of the store's keys"
    )
    sign_in_per_address: str = Field("60/minute;600/hour", description="sign-in attempts")
    sign_in_per_account: str = Field("20/minute;200/hour", description="sign-in attempts")
    # One window: this one is checked on every request with a key (a round trip to the
    # store per window); 50 a second on average, bursts of at most 500.
    key_use: str = Field(
        "500/10 seconds", description="requests with one API key or one person's session token"
    )
    interest: str = Field("30/minute;300/day", description="interest expressed, per organisation")
    meeting_requests: str = Field(
        "30/minute;500/day", description="pitch-day meeting requests, per organisation"
    )
    imports: str = Field("10/minute;100/day", description="listing imports, per organisation")

    @field_validator(
        "sign_in_per_address",
        "sign_in_per_account",
        "key_use",
        "interest",
        "meeting_requests",
        "imports",
    )
    @classmethod
    def _limit_notation(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit such as '10/minute'") from exc
        return value

    @field_validator("storage_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError("the rate-limit store is memory:// or redis://…")
        return value


class DatabaseSettings(BaseSettings):
    """How long the app waits on the database, from ``CITYDEAL_DB_…`` variables: a server
    that is down or does not answer costs a request about ``connect_timeout_seconds``
    (503, not a hang), and no statement runs longer than ``statement_timeout_seconds``."""

    model_config = SettingsConfigDict(env_prefix="CITYDEAL_DB_", env_file=".env", extra="ignore")

    # psycopg waits at least 2 s for a connection (libpq's floor).
    connect_timeout_seconds: int = Field(2, ge=1, le=300, description="to open a connection")
    statement_timeout_seconds: float = Field(
        30.0, ge=0, le=3600, description="PostgreSQL cancels a statement after this (0: never)"
    )
    pool_timeout_seconds: float = Field(
        2.0, gt=0, le=300, description="to wait for a pooled connection while all are busy"
    )
    # Up to the 40 worker threads a process runs database work in: fewer, and requests
    # in flight beyond the pool wait for a connection (and get 503 after the timeout).
    pool_size: int = Field(10, ge=1, le=200)
    max_overflow: int = Field(30, ge=0, le=200)
    # SQLite: how long a writer waits for another's lock before "database is locked".
    sqlite_busy_timeout_seconds: float = Field(10.0, ge=0, le=300)
    # How long a client is told to wait (Retry-After) when the database is unavailable.
    retry_after_seconds: int = Field(5, ge=1, le=3600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYDEAL_", env_file=".env", extra="ignore")

    environment: str = Field(default="development", pattern="^(development|test|production)$")
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'citydeal.db'}"
    var_dir: Path = PROJECT_ROOT / "var"
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    # Requests at the database at once per process, and how long one waits for a turn at
    # most before it is answered 503 server_busy (api.deps.Turns). Two: one runs Python
    # while the other waits on the database or the index; more only share the interpreter
    # lock (bench-load, searches at 16 connections: 8 turns 9.8 ms of CPU per request,
    # 2 turns 8.4 ms, 1 turn 9.2 ms).
    max_concurrent_requests: int = Field(default=2, ge=1, le=1000)
    max_turn_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    meili_url: str | None = None
    meili_key: str | None = None
    session_secret: str = "dev-only-change-me"
    # Where people reach the portal: the base of links made outside a request (the CLI).
    public_url: str = "http://127.0.0.1:8000"
    # E-mail goes out when this is set (smtp://, smtp+starttls:// or smtps://; see core.mail).
    smtp_url: str | None = None
    mail_from: str = "citydeal <no-reply@citydeal.invalid>"
    jobs_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # How often each process looks for saved searches whose e-mail digest is due (only
    # when mail is configured; each digest is claimed by one process: matching.alerts).
    digest_check_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Pitch-page views and search impressions, counted in memory and appended every
    # few seconds (catalog.analytics).
    analytics: bool = True
    analytics_flush_seconds: float = Field(default=5.0, gt=0, le=3600)
    search_sync_seconds: float = Field(default=2.0, gt=0, le=3600)
    # Semantic vectors (an English query finds a Thai-only listing): computed in the
    # background from the change log; off, search is by words alone.
    semantic_search: bool = True
    embedding_threads: int = Field(default=1, ge=1, le=64)
    # Read from its own ``CITYDEAL_MATCH_…`` variables (environment or ``.env``).
    match: ScoringSettings = Field(default_factory=ScoringSettings)
    accounts: AccountSettings = Field(default_factory=AccountSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    # Logs: "text" (one line a record) or "json" (one object a line, for a collector);
    # every record of a request carries its X-Request-ID.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # /readyz: the search replica counts as caught up when no change older than this is
    # still unapplied.
    ready_search_lag_seconds: float = Field(default=30.0, gt=0, le=3600)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    # The interactive API documentation (/docs, /redoc: Swagger UI and ReDoc load scripts
    # from a CDN, under a looser Content-Security-Policy of their own). Unset: on, except
    # in production. /openapi.json is always served.
    api_docs: bool | None = None
    # The portal's maps: a tile server's URL template (``https://…/{z}/{x}/{y}.png``) and
    # the attribution its terms ask for (HTML, shown in the map's corner). Empty: no tile
    # is fetched, and markers, labels and the outline of the region show on a plain
    # background.
    map_tile_url: str = ""
    map_tile_attribution: str = ""

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.session_secret == "dev-only-change-me":
                raise ValueError("CITYDEAL_SESSION_SECRET must be set in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL: set CITYDEAL_DATABASE_URL")
            if self.rate_limits.enabled and self.rate_limits.storage_url.startswith("memory"):
                raise ValueError(
                    "production shares rate limits across hosts: "
                    "set CITYDEAL_RATE_LIMIT_STORAGE_URL=redis://…"
                )
        if self.meili_key and not self.meili_url:
            raise ValueError("CITYDEAL_MEILI_KEY is set but CITYDEAL_MEILI_URL is not")
        if self.map_tile_url and not (
            self.map_tile_url.startswith(("https://", "http://"))
            and all(part in self.map_tile_url for part in ("{z}", "{x}", "{y}"))
        ):
            raise ValueError("CITYDEAL_MAP_TILE_URL must be an http(s) URL with {z}, {x} and {y}")
        return self

    @property
    def serves_api_docs(self) -> bool:
        """Whether /docs and /redoc are served: as set, else everywhere but production."""
        return self.environment != "production" if self.api_docs is None else self.api_docs


@lru_cache
def get_settings() -> Settings:
    return Settings()
