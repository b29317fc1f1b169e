"""Per-key rate limits: a token bucket per API key, refilled continuously.

The same buckets, keyed by client address, count failed logins (see ``server.deps.login``).
A bucket (rather than a fixed window) lets a client burst up to its minute's allowance and then
settles it at the steady rate, with no thundering herd at window boundaries.
"""

from __future__ import annotations

import threading
import time

from server.errors import RateLimitedError


class RateLimiter:
    """A token bucket per key; ``what`` names what is counted, for the refusal's message."""

    #: Buckets kept before the full ones (nothing to remember) are forgotten.
    MAX_BUCKETS = 50_000

    def __init__(self, per_minute: int, what: str = "requests for this API key") -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.what = what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, *, take: bool = True) -> None:
        """Take one token for ``key`` (with ``take=False``: only see that one is left), or raise
        ``RateLimitedError`` saying when to retry."""
        if self.capacity <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimitedError(
                    f"Too many {self.what} (limit {int(self.capacity)} a minute).",
                    retry_after=(1.0 - tokens) / self.rate,
                )
            if take:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_BUCKETS:
                    self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a new one starts full anyway."""
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
