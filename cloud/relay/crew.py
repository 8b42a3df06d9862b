"""Who of a session's participants is connected to the relay now, per participant: one
phone may hold a few sockets (tabs, a reconnect racing its old socket) on several processes;
it has been connected since its earliest and acknowledged at its latest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cloud.relay.broker import PhoneHere


@dataclass(frozen=True, slots=True)
class Connected:
    since: datetime
    last_ack: datetime | None


def crew_presence(phones: Iterable[PhoneHere]) -> dict[str, Connected]:
    since: dict[str, float] = {}
    acks: dict[str, float] = {}
    for phone in phones:
        since[phone.participant] = min(phone.since, since.get(phone.participant, phone.since))
        if phone.last_ack is not None:
            acks[phone.participant] = max(phone.last_ack, acks.get(phone.participant, 0.0))
    return {
        participant: Connected(_utc(at), _utc(acks[participant]) if participant in acks else None)
        for participant, at in since.items()
    }


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
