"""Times and counts in the words an operator reads at a glance."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def span(seconds: float) -> str:
    """`42 s`, `7 min`, `3 h 05 min`, `12 days`."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    days = seconds // 86400
    return f"{days} day" if days == 1 else f"{days} days"


def ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "never"
    delta = (now - when).total_seconds()
    return f"in {span(delta)}" if delta < 0 else f"{span(delta)} ago"


def until(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "unknown"
    delta = (when - now).total_seconds()
    return f"{span(delta)} ago" if delta < 0 else f"in {span(delta)}"


def expiry(what: str, when: dt.datetime | None, now: dt.datetime) -> str:
    """ "access token expires in 8 min" / "access token expired 3 days ago"."""
    if when is None:
        return f"{what} expiry unknown"
    verb = "expired" if when <= now else "expires"
    return f"{what} {verb} {until(when, now)}"


def stamp(when: dt.datetime | None, zone: ZoneInfo, now: dt.datetime | None = None) -> str:
    """A time in the business's zone; only the clock time when it is today."""
    if when is None:
        return "—"
    local = when.astimezone(zone)
    if now is not None and local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def day(when: dt.datetime | dt.date | None, zone: ZoneInfo) -> str:
    if when is None:
        return "—"
    if isinstance(when, dt.datetime):
        when = when.astimezone(zone).date()
    return when.isoformat()


def resets(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "reset time unknown"
    delta = (when - now).total_seconds()
    return f"reset {span(delta)} ago" if delta < 0 else f"resets in {span(delta)}"


def short_stamp(when: dt.datetime | None, zone: ZoneInfo, now: dt.datetime) -> str:
    """A time in 11 characters or fewer: the clock time today, month, day and time before."""
    if when is None:
        return "—"
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def minute_stamp(when: dt.datetime | None, zone: ZoneInfo, now: dt.datetime) -> str:
    """A time to the minute: `02:10` today, `03-01 02:10` before ("since 02:10")."""
    if when is None:
        return "—"
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")
