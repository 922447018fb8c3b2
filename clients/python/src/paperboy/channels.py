"""Which subscriptions a delivered message belongs to.

A MSG frame carries the channel it was published on, not the subscription that caught it, so the
client matches it against every subscription's name with the broker's own rules
(protocol/PROTOCOL.md, "Delivery semantics").
"""

from __future__ import annotations

TOPIC_PREFIX = "/topic/"
REPLY_PREFIX = "/topic/_reply/"


def is_pattern(name: str) -> bool:
    """Whether a subscription name contains a wildcard segment (``*``, or ``>`` last)."""
    if not name.startswith(TOPIC_PREFIX):
        return False
    segments = name[len(TOPIC_PREFIX) :].split("/")
    return "*" in segments or segments[-1] == ">"


def matches(subscription: str, channel: str) -> bool:
    """Whether a message published on ``channel`` reaches a subscription to ``subscription``."""
    if subscription == channel:
        return True
    if subscription.startswith(REPLY_PREFIX):
        # The broker routes /topic/_reply/<id>/<anything> to the subscribers of /topic/_reply/<id>.
        return channel.startswith(subscription + "/")
    if not is_pattern(subscription) or not channel.startswith(TOPIC_PREFIX):
        return False
    if channel.startswith(REPLY_PREFIX):
        return False  # no pattern reaches another client's reply inbox
    wanted = subscription[len(TOPIC_PREFIX) :].split("/")
    actual = channel[len(TOPIC_PREFIX) :].split("/")
    if wanted[-1] == ">":
        if len(actual) < len(wanted):
            return False
        wanted = wanted[:-1]
        actual = actual[: len(wanted)]
    elif len(actual) != len(wanted):
        return False
    return all(w == "*" or w == a for w, a in zip(wanted, actual))
