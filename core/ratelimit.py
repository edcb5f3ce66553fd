"""Rate limits: how often one key, one account, one organisation or one address may do a
thing, counted in a store every process and host shares (Redis), or in this process's
memory for the embedded setup. Over a limit, ``TooManyRequests`` (429) says when to try
again (``Retry-After``).

Built once per process by the composition root from ``RateLimitSettings``; counted with
the maintained ``limits`` library's moving window, so that a burst at the edge of a
minute is not twice the limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from enum import StrEnum

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.errors import TooManyRequests
from core.principal import Principal
from core.settings import RateLimitSettings

log = logging.getLogger(__name__)

# A store that does not answer within this long lets the request through (logged): the
# limits protect the app, and an unreachable Redis must not take the app down with it.
STORE_TIMEOUT_SECONDS = 0.5
STORE_FAILURE_LOG_SECONDS = 60.0


class Rule(StrEnum):
    """What is limited; each is a field of ``RateLimitSettings`` of the same name."""

    sign_in_per_address = "sign_in_per_address"
    sign_in_per_account = "sign_in_per_account"
    key_use = "key_use"
    interest = "interest"
    meeting_requests = "meeting_requests"
    imports = "imports"


_WHAT = {
    Rule.sign_in_per_address: ("sign-in attempts from this address", None),
    Rule.sign_in_per_account: ("sign-in attempts for this account", "email"),
    Rule.key_use: ("requests with this key", "authorization"),
    Rule.interest: ("expressions of interest", None),
    Rule.meeting_requests: ("meeting requests", None),
    Rule.imports: ("imports", None),
}


class RateLimiter:
    """Counts attempts per rule and identity; ``hit`` raises ``TooManyRequests`` over a
    limit. Thread-safe (the store is: Redis, or the memory store's locks)."""

    def __init__(self, settings: RateLimitSettings, *, key_prefix: str | None = None) -> None:
        self.enabled = settings.enabled
        self.storage_url = settings.storage_url
        self.storage = _storage(settings.storage_url, key_prefix or settings.key_prefix)
        self._window = MovingWindowRateLimiter(self.storage)
        self._rules: dict[Rule, list[RateLimitItem]] = {
            rule: parse_many(getattr(settings, rule.value)) for rule in Rule
        }
        self._last_failure_logged = -math.inf
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """Whether other processes see the same counts (not so in memory)."""
        return not isinstance(self.storage, MemoryStorage)

    def hit(self, rule: Rule, who: str) -> None:
        """Count one attempt of ``who`` (an address, ``key:7``, ``org:3``…) under ``rule``;
        raises ``TooManyRequests`` if it is over one of the rule's limits (the refused
        attempt is not counted)."""
        if not self.enabled:
            return
        try:
            for item in self._rules[rule]:
                if not self._window.hit(item, rule.value, who):
                    self._refuse(rule, item, who)
        except StorageError as exc:
            self._store_failed(exc)

    def hit_organisation(self, rule: Rule, principal: Principal) -> None:
        """``hit`` for the organisation the principal acts for."""
        self.hit(rule, f"org:{principal.organisation_id}")

    def hit_principal(self, principal: Principal) -> None:
        """A request made with an API key (per key) or a person's session token (per
        person)."""
        if principal.api_key_id is not None:
            self.hit(Rule.key_use, f"key:{principal.api_key_id}")
        elif principal.person_id is not None:
            self.hit(Rule.key_use, f"person:{principal.person_id}")

    def hit_sign_in(self, *, address: str, email: str) -> None:
        """A sign-in attempt: per address, then per account."""
        self.hit(Rule.sign_in_per_address, address)
        self.hit(Rule.sign_in_per_account, email.strip().lower())

    def reset(self) -> None:
        """Forget every count under this limiter's key prefix (and only those)."""
        self.storage.reset()

    def _refuse(self, rule: Rule, item: RateLimitItem, who: str) -> None:
        reset_at, _remaining = self._window.get_window_stats(item, rule.value, who)
        wait = max(1, math.ceil(reset_at - time.time()))
        what, field = _WHAT[rule]
        raise TooManyRequests(
            f"too many {what} (at most {item.amount} per {_period(item)}); try again in {wait} s",
            retry_after=wait,
            field=field,
        )

    def _store_failed(self, exc: StorageError) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_failure_logged < STORE_FAILURE_LOG_SECONDS:
                return
            self._last_failure_logged = now
        log.warning(
            "rate-limit store %s unreachable (%s); requests are let through",
            self.storage_url.split("@")[-1],
            exc.storage_error,
        )


def _period(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def _storage(url: str, key_prefix: str) -> Storage:
    if url.startswith("memory"):
        return MemoryStorage()
    options: dict[str, float | str | bool] = {
        "key_prefix": key_prefix,
        "wrap_exceptions": True,
        "socket_timeout": STORE_TIMEOUT_SECONDS,
        "socket_connect_timeout": STORE_TIMEOUT_SECONDS,
    }
    storage = storage_from_string(url, **options)
    assert isinstance(storage, Storage)
    return storage
