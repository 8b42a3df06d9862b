"""One session's room: an actor that alone owns the room's tally and its clients.

Everything reaches the room as a command (`commands.py`) in its inbox and is handled one at
a time, so no lock is needed and no other object ever changes the tally. A broadcast is
encoded once and the same message goes to every client; a client whose queue is full is
dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from cloud import logs
from cloud.relay.broker import (
    Audience,
    Broker,
    Event,
    Forward,
    PhoneHere,
    Presence,
    Resync,
    StateChanged,
    Takeover,
)
from cloud.relay.codes import CloseCode, ErrorCode
from cloud.relay.commands import (
    Assigned,
    CamerasEdited,
    Census,
    Close,
    Command,
    Deliver,
    Inbound,
    Join,
    Leave,
    Remote,
    Reply,
    Revoke,
    Tick,
    Wake,
)
from cloud.relay.frames import Outgoing
from cloud.relay.keyframes import KeyframeThrottle
from cloud.relay.metrics import RelayMetrics
from cloud.relay.peer import Peer
from cloud.relay.roster import Roster, login_tag
from cloud.relay.saver import Saver
from cloud.relay.state import EMPTY_BUS, Tally, merge_cameras, update
from cloud.relay.store import TallyStore
from tally import (
    Ack,
    Assign,
    BusChange,
    BusState,
    Camera,
    CamerasChange,
    ErrorMessage,
    Flash,
    Heartbeat,
    KeyframeRequest,
    Message,
    ProtocolError,
    Role,
    SnapshotRequest,
    TallyState,
    TextMessage,
    encode,
)

log = logging.getLogger(__name__)

# Heartbeats go to a quarter of the clients per tick, so 1,000 phones never get theirs in
# one burst that would delay a tally change behind it.
HEARTBEAT_SLICES = 4
TAKEN_OVER = "another director took over this session"
# A page opens one socket; a few more cover tabs and a reconnect racing its old socket.
MAX_SOCKETS_PER_PARTICIPANT = 4
REPLACED = f"this link has {MAX_SOCKETS_PER_PARTICIPANT} newer connections; this one was closed"


@dataclass(frozen=True, slots=True)
class RoomDeps:
    """What every room of a relay shares."""

    store: TallyStore
    broker: Broker
    metrics: RelayMetrics
    heartbeat_s: float
    timeout_s: float


def _error(code: ErrorCode, message: str) -> Outgoing:
    return Outgoing(encode(ErrorMessage(code.value, message)))


class Room:
    def __init__(self, session_id: str, deps: RoomDeps, on_done: Callable[[Room], None]) -> None:
        self.session_id = session_id
        self._deps = deps
        self._on_done = on_done
        # Each command with the id of the request that sent it (cloud/logs.py), so what the
        # room logs while handling it carries that id. Senders are rate-limited.
        self._inbox: asyncio.Queue[tuple[Command, str | None]] = asyncio.Queue()
        self._peers: dict[Peer, None] = {}
        self._tally = Tally.of(0, TallyState(EMPTY_BUS, (), live_only=False))
        self._saver = Saver(deps.store, session_id)
        self._tasks: set[asyncio.Task[None]] = set()
        self._joined = 0
        self._ticks = 0
        self._roster: Roster[Peer] = Roster(secrets.token_hex(6))
        self._keyframes = KeyframeThrottle()
        self._presence_changed = False  # announce at the end of the command
        self._phones_moved = False  # a phone came or went: announce at the next tick
        self._remote_phones: dict[str, Presence] = {}  # another room -> its last presence
        # Other rooms forget ours after a few missed refreshes (one per heartbeat), so the
        # directors of a process that died stop counting after about the relay's timeout.
        self._presence_ttl = max(deps.timeout_s, 3 * deps.heartbeat_s)

    def submit(self, command: Command) -> None:
        self._inbox.put_nowait((command, logs.request_id.get()))

    async def run(self) -> None:
        deps = self._deps
        saver = asyncio.create_task(self._saver.run())
        ticker = asyncio.create_task(self._tick())
        try:
            await deps.broker.subscribe(self.session_id, lambda event: self.submit(Remote(event)))
            self._tally = await self._load()
            await self._load_presence()
            while True:
                command, rid = await self._inbox.get()
                if isinstance(command, Close):
                    break
                with logs.acting_for(rid):
                    await self._handle(command)
                while self._presence_changed:  # telling may drop a slow one: tell again
                    self._announce_presence()
                if not self._peers and not self._tasks and self._inbox.empty():
                    break  # nothing can reach this room any more once on_done has run
        except Exception:
            log.exception("relay room %s failed", self.session_id)
            raise
        finally:
            self._on_done(self)
            ticker.cancel()
            # Gone for the other processes too, at once: directors or phones still here
            # (a shutdown), or a last phone whose leaving waited for a tick that never came.
            if self._roster.local or self._phones_here() or self._phones_moved:
                deps.broker.publish(self.session_id, self._presence(time.time()))
            for peer in list(self._peers):
                self._drop(peer, CloseCode.GOING_AWAY, "the relay is shutting down")
            self._refuse_waiting()
            self._saver.close()
            await saver
            await deps.broker.unsubscribe(self.session_id)

    async def _load(self) -> Tally:
        seq, state = await self._deps.store.load(self.session_id)
        latest = await self._deps.broker.latest(self.session_id)
        if latest is not None and latest.seq > seq:
            seq, state = latest.seq, latest.state
        try:
            return Tally.of(seq, state)
        except ProtocolError:
            # Only REST edits can get here (99 cameras with long names and NDI sources).
            log.error("tally of %s is over the size limit; names and sources dropped", seq)
            cameras = tuple(Camera(c.number, f"Camera {c.number}", None) for c in state.cameras)
            return Tally.of(seq, TallyState(state.bus, cameras, state.live_only))

    def _refuse_waiting(self) -> None:
        while not self._inbox.empty():
            command, _rid = self._inbox.get_nowait()
            if isinstance(command, Join):
                command.peer.end(CloseCode.GOING_AWAY, "the relay room closed; reconnect")
            elif isinstance(command, Census) and not command.reply.done():
                command.reply.set_result(())

    async def _handle(self, command: Command) -> None:
        if isinstance(command, Inbound):
            await self._inbound(command.peer, command.message)
        elif isinstance(command, Reply):
            if command.peer in self._peers:
                self._send(command.peer, command.message)
        elif isinstance(command, Tick):
            self._on_tick()
        elif isinstance(command, Join):
            self._join(command.peer, command.camera, command.takeover)
        elif isinstance(command, Leave):
            self._forget(command.peer)
        elif isinstance(command, Remote):
            await self._remote(command.event)
        elif isinstance(command, CamerasEdited):
            state = merge_cameras(self._tally.state, command.rows)
            await self._change(state, snapshot=True, origin=None)
        elif isinstance(command, Assigned):
            self._assigned(command)
        elif isinstance(command, (Revoke, Deliver)):
            self._forward(command.forward)
        elif isinstance(command, Census) and not command.reply.done():
            command.reply.set_result(self._census())

    # --- clients ---------------------------------------------------------------------------

    def _join(self, peer: Peer, camera: int | None, takeover: bool) -> None:
        if peer.has_ended:
            return
        self._make_room_for(peer)
        self._peers[peer] = None
        peer.slot = self._joined % HEARTBEAT_SLICES
        self._joined += 1
        self._deps.metrics.clients.labels(peer.role.value).inc()
        self._send(peer, self._tally.snapshot)
        if peer.role is not Role.DIRECTOR:
            self._phones_moved = True  # the crew list (Census, Presence)
        if peer.role is Role.DIRECTOR and peer in self._peers:
            self._director_joined(peer, takeover)
        elif peer.role is Role.CAMERA:
            refusal = None if camera is None else self._choose_camera(peer, camera)
            self._tell_camera(peer)
            if refusal is not None:
                self._send(peer, refusal)

    def _make_room_for(self, peer: Peer) -> None:
        """One invite token keeps at most MAX_SOCKETS_PER_PARTICIPANT sockets in a room:
        the oldest goes, so a phone whose old socket has not timed out yet still gets in."""
        participant = peer.identity.participant_id
        if participant is None:
            return  # a director: one per login is the roster's business (takeover)
        same = [p for p in self._peers if p.identity.participant_id == participant]
        for old in same[: max(0, len(same) - MAX_SOCKETS_PER_PARTICIPANT + 1)]:
            self._drop(old, CloseCode.REPLACED, REPLACED)

    def _choose_camera(self, peer: Peer, camera: int) -> Outgoing | None:
        """Take a phone's own choice of camera; the refusal to send it, if any."""
        bound = peer.identity.bound_camera
        if bound is not None and bound != camera:
            return _error(ErrorCode.BOUND, f"this link is bound to camera {bound}")
        if camera not in self._tally.camera_numbers:
            return _error(ErrorCode.UNKNOWN_CAMERA, f"there is no camera {camera}")
        if peer.camera != camera and peer.identity.participant_id is not None:
            peer.camera = camera
            store, session_id = self._deps.store, self.session_id
            self._spawn(store.set_camera(session_id, peer.identity.participant_id, camera))
        return None

    def _tell_camera(self, peer: Peer) -> None:
        """A phone learns which camera it is, so a reassignment survives its reconnect."""
        participant = peer.identity.participant_id
        if peer.camera is not None and participant is not None:
            self._send(peer, Outgoing(encode(Assign(participant, peer.camera))))

    def _forget(self, peer: Peer) -> None:
        if peer in self._peers:
            del self._peers[peer]
            self._deps.metrics.clients.labels(peer.role.value).dec()
            if self._roster.leave(peer):
                self._presence_changed = True
            else:
                self._phones_moved = True

    # --- directors -------------------------------------------------------------------------

    def _director_joined(self, peer: Peer, takeover: bool) -> None:
        if takeover:
            self._close_directors(but=peer)
            self._roster.forget_remote()  # theirs are closing as well
            self._deps.broker.publish(self.session_id, Takeover(self._roster.room))
            log.info(
                "a director took over session %s",
                self.session_id,
                extra={"session_id": self.session_id},
            )
        family = peer.identity.login
        # A director always has a login; one without would count as a login of its own.
        login = secrets.token_hex(8) if family is None else login_tag(self.session_id, family)
        self._roster.join(peer, login, time.time())
        self._presence_changed = True  # its `directors` goes right after its snapshot

    def _close_directors(self, but: Peer | None = None) -> None:
        for peer in [p for p in self._peers if p.role is Role.DIRECTOR and p is not but]:
            self._drop(peer, CloseCode.TAKEN_OVER, TAKEN_OVER)

    def _announce_presence(self) -> None:
        """Tell the other processes who directs here, and our directors what changed."""
        self._presence_changed = False
        now = time.time()
        self._roster.expire(now)  # rooms that stopped reporting: a process died, or Redis
        self._deps.broker.publish(self.session_id, self._presence(now + self._presence_ttl))
        self._tell_directors()

    def _presence(self, until: float) -> Presence:
        return replace(self._roster.presence(until), phones=self._phones_here())

    def _phones_here(self) -> tuple[PhoneHere, ...]:
        return tuple(
            PhoneHere(peer.identity.participant_id, peer.camera, peer.joined_at, peer.last_ack)
            for peer in self._peers
            if peer.role is not Role.DIRECTOR and peer.identity.participant_id is not None
        )

    def _census(self) -> tuple[PhoneHere, ...]:
        now = time.time()
        remote = [p for p in self._remote_phones.values() if p.until > now]
        return self._phones_here() + tuple(phone for p in remote for phone in p.phones)

    def _heard_phones(self, presence: Presence, now: float) -> None:
        if presence.room == self._roster.room:
            return  # our own, read back from the broker's store
        if presence.phones and presence.until > now:
            self._remote_phones[presence.room] = presence
        else:
            self._remote_phones.pop(presence.room, None)

    def _tell_directors(self) -> None:
        told = self._roster.untold()
        slow = [peer for peer, view in told if not peer.offer(Outgoing(encode(view)))]
        for peer in slow:
            self._drop(peer, CloseCode.TOO_SLOW, "too slow: the send queue is full")

    async def _load_presence(self) -> None:
        now = time.time()
        for presence in await self._deps.broker.presence(self.session_id):
            self._roster.heard(presence, now)
            self._heard_phones(presence, now)

    def _drop(self, peer: Peer, code: CloseCode, reason: str) -> None:
        self._forget(peer)
        peer.end(code, reason)  # the connection closes the socket and counts the close

    def _send(self, peer: Peer, message: Outgoing) -> None:
        if not peer.offer(message):
            self._drop(peer, CloseCode.TOO_SLOW, "too slow: the send queue is full")

    def _send_to(self, peers: list[Peer], message: Outgoing) -> None:
        # The hot path: one message, one frame, no waiting; the drops wait until the loop ends.
        slow = [peer for peer in peers if not peer.offer(message)]
        for peer in slow:
            self._drop(peer, CloseCode.TOO_SLOW, "too slow: the send queue is full")

    def _broadcast(self, message: Outgoing) -> None:
        self._send_to(list(self._peers), message)
        self._deps.metrics.broadcasts.inc()

    def _on_tick(self) -> None:
        self._ticks += 1
        slot = self._ticks % HEARTBEAT_SLICES
        if (slot == 0 and (self._roster.local or self._phones_here())) or self._phones_moved:
            # Once per heartbeat, ours before it expires there; and phones that came or went
            # at the next tick, so a thousand joining at once make a few publishes, not 1,000.
            self._presence_changed = True
            self._phones_moved = False
        deadline = asyncio.get_running_loop().time() - self._deps.timeout_s
        beat = Outgoing(encode(Heartbeat(time.time() * 1000.0)))
        due: list[Peer] = []
        for peer in list(self._peers):
            if peer.last_heard < deadline:
                silence = f"heartbeat timeout: heard nothing for {self._deps.timeout_s:g} s"
                self._drop(peer, CloseCode.TIMEOUT, silence)
            elif peer.slot == slot:
                due.append(peer)
        self._send_to(due, beat)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._deps.heartbeat_s / HEARTBEAT_SLICES)
            self.submit(Tick())

    # --- messages --------------------------------------------------------------------------

    async def _inbound(self, peer: Peer, message: Message) -> None:
        if peer not in self._peers:
            return  # dropped while its message waited in the inbox
        state = self._tally.state
        if isinstance(message, BusChange):
            bus = BusState(message.program, message.preview)
            await self._change(TallyState(bus, state.cameras, state.live_only), False, peer)
        elif isinstance(message, SnapshotRequest):
            self._send(peer, self._tally.snapshot)
        elif isinstance(message, CamerasChange):
            changed = TallyState(state.bus, message.cameras, message.live_only)
            await self._change(changed, True, peer)
        elif isinstance(message, TextMessage | Flash):
            if self._known_camera(peer, message.camera):
                self._forward(Forward(Audience.PHONES, encode(message), camera=message.camera))
        elif isinstance(message, Assign):
            if self._known_camera(peer, message.camera):
                self._spawn(self._assign(peer, message))
        elif isinstance(message, Ack):
            peer.last_ack = time.time()
            # The relay knows which camera the phone is; the phone's own claim is a fallback.
            ack = Ack(message.id, peer.camera if peer.camera is not None else message.camera)
            self._forward(Forward(Audience.DIRECTORS, encode(ack)))
        elif isinstance(message, KeyframeRequest):
            if self._keyframes.allow(message.layer, time.monotonic()):
                self._forward(Forward(Audience.DIRECTORS, encode(message)))
            else:
                self._deps.metrics.keyframes_throttled.inc()

    def _known_camera(self, peer: Peer, camera: int | None) -> bool:
        if camera is None or camera in self._tally.camera_numbers:
            return True
        self._send(peer, _error(ErrorCode.UNKNOWN_CAMERA, f"there is no camera {camera}"))
        return False

    async def _change(self, state: TallyState, snapshot: bool, origin: Peer | None) -> None:
        current = self._tally
        if state == current.state:
            return  # a re-sent state (a director reconnecting) changes nothing and costs no seq
        try:
            candidate = Tally.of(current.seq + 1, state)
        except ProtocolError as err:
            if origin is not None:
                self._send(origin, _error(ErrorCode.TOO_LARGE, str(err)))
            else:
                log.warning("camera edit of %s not relayed: %s", self.session_id, err)
            return
        seq = await self._deps.broker.next_seq(self.session_id, current.seq)
        new = candidate if seq == candidate.seq else Tally.of(seq, state)
        # Our own clients first: the broker and the database are slower than a phone.
        self._apply(new, snapshot)
        self._deps.broker.publish(self.session_id, StateChanged(seq, state, snapshot))
        self._saver.save(seq, state)

    def _apply(self, new: Tally, snapshot: bool) -> None:
        old, self._tally = self._tally, new
        self._broadcast(update(old, new, snapshot))

    def _forward(self, forward: Forward) -> None:
        self._deliver(forward)
        self._deps.broker.publish(self.session_id, forward)

    def _deliver(self, forward: Forward) -> None:
        if forward.audience is Audience.REVOKED:
            self._revoke(forward)
            return
        if forward.audience is Audience.DIRECTORS:
            peers = [peer for peer in self._peers if peer.role is Role.DIRECTOR]
        elif forward.audience is Audience.PHONES:
            peers = [
                peer
                for peer in self._peers
                if peer.role is Role.CAMERA and forward.camera in (None, peer.camera)
            ]
        else:
            peers = [
                peer for peer in self._peers if peer.identity.participant_id == forward.participant
            ]
            for peer in peers:
                peer.camera = forward.camera
        self._send_to(peers, Outgoing(forward.text))

    def _revoke(self, forward: Forward) -> None:
        everyone = forward.participant is None
        gone = [
            peer
            for peer in self._peers
            if peer.role is not Role.DIRECTOR
            and (everyone or peer.identity.participant_id == forward.participant)
        ]
        self._send_to(gone, Outgoing(forward.text))
        code = CloseCode.NOT_FOUND if everyone else CloseCode.UNAUTHORIZED
        reason = "the session has ended" if everyone else "access was revoked by the director"
        for peer in gone:
            self._drop(peer, code, reason)

    async def _assign(self, director: Peer, message: Assign) -> None:
        error = None
        try:
            moved = await self._deps.store.set_camera(
                self.session_id, message.participant, message.camera
            )
        except Exception as exc:  # the database is down: tell the director, keep the room
            log.warning("assign in %s failed: %s", self.session_id, exc)
            error = ErrorMessage(ErrorCode.UNAVAILABLE.value, "could not store the assignment")
        else:
            if not moved:
                who = f"no camera phone {message.participant} in this session"
                error = ErrorMessage(ErrorCode.UNKNOWN_PARTICIPANT.value, who)
        self.submit(Assigned(director, message, error))

    def _assigned(self, command: Assigned) -> None:
        if command.error is not None:
            if command.director in self._peers:
                self._send(command.director, Outgoing(encode(command.error)))
            return
        message = command.message
        self._forward(
            Forward(
                Audience.PARTICIPANT,
                encode(message),
                camera=message.camera,
                participant=message.participant,
            )
        )

    async def _remote(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            if event.seq <= self._tally.seq:
                return  # our own change, or one we already have
            try:
                self._apply(Tally.of(event.seq, event.state), event.snapshot)
            except ProtocolError as err:
                log.warning("state %d from the broker refused: %s", event.seq, err)
        elif isinstance(event, Forward):
            self._deliver(event)
        elif isinstance(event, Presence):
            self._roster.heard(event, time.time())
            self._heard_phones(event, time.time())
            self._tell_directors()
        elif isinstance(event, Takeover):
            self._close_directors()  # ours are gone: there is no one to tell
            self._roster.forget_remote(keep=event.room)
        elif isinstance(event, Resync):
            current = self._tally
            self._deps.broker.publish(
                self.session_id, StateChanged(current.seq, current.state, snapshot=True)
            )
            latest = await self._deps.broker.latest(self.session_id)
            if latest is not None and latest.seq > self._tally.seq:
                self._apply(Tally.of(latest.seq, latest.state), snapshot=True)
            self._presence_changed = True  # republish ours; pick up the others'
            await self._load_presence()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(_logged(work, self.session_id))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.submit(Wake())

    def close(self) -> None:
        self.submit(Close())


async def _logged(work: Coroutine[Any, Any, Any], session_id: str) -> None:
    try:
        await work
    except Exception:
        log.exception("relay task of %s failed", session_id)
