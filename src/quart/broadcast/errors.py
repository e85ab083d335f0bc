"""The errors a broadcast raises, each named for what the caller can do about it.

.. versionadded:: 0.20
"""

from __future__ import annotations

__all__ = ["BroadcastError", "BroadcastUnavailable", "SubscriberTooSlow"]


class BroadcastError(Exception):
    """The base of the broadcast's own errors, to catch them all at once.

    .. versionadded:: 0.20
    """


class SubscriberTooSlow(BroadcastError):
    """Raised by a subscription's iterator when it fell ``queue_size`` messages behind
    under ``overflow="disconnect"``: it has been cut off, so that it can neither hold
    back the others nor grow without bound. Its queued messages are gone; with history,
    subscribe again with ``last_id=subscription.last_id`` to resume where it stopped.

    .. versionadded:: 0.20
    """


class BroadcastUnavailable(BroadcastError):
    """Raised by ``publish`` when the broker cannot be reached: at once under
    ``when_unavailable="raise"``, after ``publish_timeout`` seconds under ``"wait"``;
    and by ``connect`` when the broker is unreachable at startup.

    .. versionadded:: 0.20
    """
