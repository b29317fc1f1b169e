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
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def refuse_if_empty(self, key: str) -> None:
        """Raise ``RateLimitedError`` if ``key`` has no token left, without taking one."""
        if self.capacity <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            raise RateLimitedError(
                f"Too many failed logins from this address (limit {int(self.capacity)} a minute).",
                retry_after=(1.0 - tokens) / self.rate,
            )

    def check(self, key: str) -> None:
        """Take one token for ``key``, or raise ``RateLimitedError`` saying when to retry."""
        if self.capacity <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimitedError(
                    f"Too many requests for this API key (limit {int(self.capacity)} a minute).",
                    retry_after=(1.0 - tokens) / self.rate,
                )
            self._buckets[key] = (tokens - 1.0, now)
