"""One Go Live, from the button to Stop: the relay, the program stream, phones and invites.

Every long-lived part runs under `app.supervise.supervise`, so any failure, whatever it is,
is retried with capped, jittered backoff and shown on the health board (what is down and
since when) until it works again; only a refusal that retrying cannot cure ends a part, and
the board says what the director must do. A wake from sleep (`app.wake`) makes every link
try again at once instead of waiting out timers set before the suspend.

The relay client (app/relay_client.py) re-sends the director's state after each reconnect.
Once the relay first connects, the program stream starts (app/golive.py: SimulcastOutput to
the session's SRT ingest; its layers reconnect by themselves) and reports StreamChanged each
second; a layer refused for its credentials gets fresh ones (app/srt_renewal.py); viewers'
keyframe requests from the relay go to its encoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from media.srt import RejectReason
from tally import Ack, Directors, ErrorMessage, KeyframeRequest

from ..engine.state import ShowState
from ..engine.tally import TallyOut
from ..golive import (
    OutputFactory,
    ProgramOutput,
    StreamLayer,
    encoder_choice,
    session_targets,
    stream_layer,
)
from ..keyframes import answer_keyframe
from ..relay_client import TAKEN_OVER, Connected, Disconnected, RelayClient, TokenRefused
from ..srt_renewal import CredentialRenewal
from ..supervise import Failure, Nudge, Permanent, supervise
from ..wake import WakeWatch
from . import events as ev
from .cloud_api import CloudError, Invite, NotLoggedIn, SessionInfo, SrtCredentials
from .health import HealthBoard
from .ingest_damage import DamageWatch
from .login import Login
from .recording_info import NO_RECORDINGS, unavailable

log = logging.getLogger(__name__)

PHONES_POLL_S = 5.0
PHONES_RETRY_S = 1.0  # after a failed poll: the board should clear soon after the backend
STREAM_STATS_S = 1.0
RelayFactory = Callable[..., RelayClient]


def clock_text(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


async def ensure_invites(login: Login, access: str, session: SessionInfo) -> tuple[Invite, ...]:
    """One usable camera link per camera and one viewer link: the ones there are, and new
    ones for those missing, revoked or near their expiry (a reused session outlives them).
    A new link keeps the quality ceiling of the newest one it replaces."""
    now = datetime.now(UTC)
    every = await login.api.invites(access, session.id)
    every.sort(key=lambda i: i.created_at or now, reverse=True)  # the newest is shown
    invites = [i for i in every if i.usable(now)]

    def last_quality(role: str, camera: int | None) -> str | None:
        last = next((i for i in every if i.role == role and i.camera_number == camera), None)
        return last.quality if last is not None else None

    bound = {i.camera_number for i in invites if i.role == "camera"}
    for cam in session.cameras:
        if cam.number not in bound:
            quality = last_quality("camera", cam.number)
            invites.append(
                await login.api.create_invite(access, session.id, "camera", cam.number, quality)
            )
    if not any(i.role == "viewer" for i in invites):
        quality = last_quality("viewer", None)
        invites.append(await login.api.create_invite(access, session.id, "viewer", None, quality))
    return tuple(invites)


class OnAir:
    def __init__(
        self,
        login: Login,
        session: SessionInfo,
        srt: SrtCredentials,
        invites: tuple[Invite, ...],
        *,
        tally: TallyOut,
        state: Callable[[], ShowState],
        emit: Callable[[ev.LinkEvent], None],
        ended: Callable[[str], Coroutine[Any, Any, None]],
        relay_factory: RelayFactory,
        output_factory: OutputFactory | None,
        srt_latency_ms: int | None = None,
    ) -> None:
        self._login = login
        self._session = session
        self._srt = srt
        self._invites = invites
        self._tally = tally
        self._state = state
        self._emit = emit
        self._ended = ended
        self._output_factory = output_factory  # None: tally only (no program clock here)
        self._srt_latency_ms = srt_latency_ms  # fixed for this Go Live; None follows the link
        self.health = HealthBoard(emit)
        self._damage = DamageWatch(self.health)
        self.relay = relay_factory(
            f"{login.api.relay_base}/api/relay/{session.id}", self._relay_token
        )
        self.output: ProgramOutput | None = None
        self._nudge = Nudge()
        self._tasks: list[asyncio.Task[None]] = []
        self._stream: asyncio.Task[None] | None = None
        self._takeover = False  # the next stream targets carry o=takeover
        self._conflicts: set[str] = set()  # layers last refused as a second publisher
        self._ending: asyncio.Task[None] | None = None
        self._recordings_kept = True  # False: the backend said it keeps none
        self.wake = WakeWatch(lambda _gap: self.reconnect_now())

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._tally.attach(self.relay, self._state())
        await self.relay.start()
        self._emit(ev.LiveChanged(True, False, "connecting"))
        self.health.down("relay", "connecting")
        self._tasks = [
            self._supervised("relay events", self._relay_events),
            self._supervised("phones", self._poll),
            self._supervised("wake watch", self.wake.run),
        ]

    async def stop(self) -> None:
        tasks = self._tasks + ([self._stream] if self._stream is not None else [])
        self._tasks, self._stream = [], None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # the stream's task stops its output off the loop
        self._tally.detach(self.relay)
        await self.relay.close()
        self.health.clear()

    def reconnect_now(self) -> None:
        """After a wake (or when the director asks): every link tries again at once."""
        self._nudge.fire()
        self.relay.reconnect_now()
        output = self.output
        if output is not None:
            output.reconnect_now()

    def poll_now(self) -> None:
        """Read the phones and the recording now rather than at the next poll."""
        self._nudge.fire()

    def use_srt(self, srt: SrtCredentials) -> None:
        """The director rotated the credentials: every layer reconnects with the new ones
        now (the backend has already closed the old connections)."""
        self._srt = srt
        output = self.output
        if output is not None:
            self._retarget(output, srt)

    def take_over(self) -> None:
        """Be the session's only director and publisher: the relay closes the other
        directors (4409) and the gateway replaces the other publisher (o=takeover)."""
        self.relay.take_over()
        self._takeover = True
        output = self.output
        if output is not None:
            self._retarget(output, self._srt)
        self.health.up("directors")

    # --- the relay ------------------------------------------------------------------------

    async def _relay_token(self) -> str:
        try:
            return await self._login.access()
        except NotLoggedIn as exc:
            self.health.down("login", f"{exc.message}.", "log_in")
            raise TokenRefused(exc.message) from exc

    async def _relay_events(self) -> None:
        self.health.up("relay events")  # (re)started: a failure before is behind us
        async for event in self.relay.events():
            if isinstance(event, Connected):
                self._emit(ev.LiveChanged(True, True, "", self.relay.stats.rtt_ms))
                self.health.up("relay", "login")
                self._nudge.fire()  # the backend is back: poll phones now, not in 5 s
                if self._stream is None:
                    self._stream = self._supervised("program stream", self._run_stream)
            elif isinstance(event, KeyframeRequest):
                answer_keyframe(self.output, event)
            elif isinstance(event, Disconnected):
                self._relay_lost(event)
            elif isinstance(event, Directors):
                self._directors(event)
            elif isinstance(event, Ack):
                self._emit(ev.MessageAcked(event.id, event.camera))
            elif isinstance(event, ErrorMessage):
                self._emit(ev.Notice(f"relay: {event.message or event.code}"))

    def _relay_lost(self, event: Disconnected) -> None:
        why = event.reason or str(event.code)
        if event.retry_in is None:
            if event.code == TAKEN_OVER:
                self._end(f"Another director took this session over at {clock_text(time.time())}.")
                return
            detail = f"stopped: {why}"
            self.health.down("relay", detail, "go_live")
        else:
            detail = f"reconnecting in {event.retry_in:.1f} s ({why})"
            self.health.down("relay", detail)
        self._emit(ev.LiveChanged(True, False, detail))

    def _directors(self, event: Directors) -> None:
        if event.count <= 1 or event.since is None:
            self.health.up("directors")
            return
        others = event.count - 1
        who = "another director is" if others == 1 else f"{others} other directors are"
        detail = f"{who} connected to this session (since {clock_text(event.since)})"
        self.health.down("directors", detail, "take_over")

    def _end(self, reason: str) -> None:
        """Stop this Go Live from inside one of its own tasks (Stop cancels them)."""
        if self._ending is None:
            self._ending = asyncio.get_running_loop().create_task(self._ended(reason))

    # --- the program stream ---------------------------------------------------------------

    async def _run_stream(self) -> None:
        """Build, start and watch the program output until cancelled; a failure stops the
        output and raises, and the supervisor builds it again."""
        factory = self._output_factory
        if factory is None:
            self._emit(ev.StreamChanged(False, (), "tally only: this app sends no video"))
            return
        with contextlib.suppress(CloudError):  # rotated since the session was chosen?
            self._srt = await self._fetch_srt()
        if self._srt.srt_url is None:
            detail = "tally only: this backend takes no video (it has no SRT ingest)"
            self._emit(ev.StreamChanged(False, (), detail))
            return
        try:
            targets = self._targets(self._srt)
            # Opening the encoder may probe hardware: off the loop.
            output = await asyncio.to_thread(factory, targets)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # EncoderUnavailable, a bad address: words, not a traceback
            log.info("program stream not started: %r", exc)
            message = f"The program stream cannot start: {exc}"
            self._emit(ev.StreamChanged(False, (), message))
            self._emit(ev.LinkFailed("live", message))
            raise Permanent(message) from exc
        self.output = output
        starting = asyncio.ensure_future(asyncio.to_thread(output.start))
        renewal = CredentialRenewal()
        try:
            await asyncio.shield(starting)
            self.health.up("program stream")
            self._damage.reset()
            while True:
                stats = output.stats()
                layers = tuple(stream_layer(s) for s in stats.layers)
                encoder = encoder_choice(output, stats)
                self._emit(ev.StreamChanged(True, layers, encoder=encoder))
                self._layers_health(layers)
                if renewal.due(stats):
                    await self._renew_targets(output, renewal)
                if self._takeover and layers and all(layer.connected for layer in layers):
                    self._takeover = False  # ours now; a later reconnect must not kick anyone
                    self._retarget(output, self._srt)
                await asyncio.sleep(STREAM_STATS_S)
        finally:
            self.output = None
            with contextlib.suppress(Exception):
                await starting  # never stop while start() still runs in its thread
            await asyncio.to_thread(output.stop)  # joins threads, drains <= 0.5 s
            self._emit(ev.StreamChanged(False, ()))
            self.health.up_prefix("stream ")

    def _layers_health(self, layers: tuple[StreamLayer, ...]) -> None:
        for layer in layers:
            link = f"stream {layer.name}"
            if layer.connected:
                self._conflicts.discard(layer.name)
                self.health.up(link)
                continue
            # A 1409 is retried quickly, so most looks see "connecting": remember it.
            if layer.reject_code == RejectReason.CONFLICT:
                self._conflicts.add(layer.name)
            elif layer.reject_code is not None:
                self._conflicts.discard(layer.name)
            if layer.name in self._conflicts:
                detail = f"another sender is publishing this layer ({layer.state})"
                self.health.down(link, detail, "take_over")
            else:
                self.health.down(link, layer.state)

    async def _fetch_srt(self) -> SrtCredentials:
        access = await self._login.access()
        return await self._login.api.srt(access, self._session.id)

    def _targets(self, srt: SrtCredentials) -> dict[str, Any]:
        if srt.srt_url is None:
            raise ValueError("this backend has no SRT ingest")
        return session_targets(
            srt.srt_url,
            self._session.id,
            srt.publish_token,
            srt.passphrase,
            self._takeover,
            latency_ms=self._srt_latency_ms,
        )

    def _retarget(self, output: ProgramOutput, srt: SrtCredentials) -> None:
        try:
            output.retarget(self._targets(srt))
        except ValueError as exc:
            log.info("SRT targets not changed: %s", exc)

    async def _renew_targets(self, output: ProgramOutput, renewal: CredentialRenewal) -> None:
        """A layer was refused for its credentials (1403 token, 10 passphrase), or has not
        connected for a while (with several backend processes the session's ingest may have
        moved, docs/scale.md): fetch them again (which renews an expiring publish token and
        says where to send) and hand them to the output. A fetch
        that failed for the network or a 5xx is tried again soon (`renewal` says when); the
        layers keep retrying meanwhile."""
        try:
            srt = await self._fetch_srt()
        except CloudError as exc:
            retry_in = renewal.failed(exc)
            when = "at the next refusal" if retry_in is None else f"again in {retry_in:.1f} s"
            log.info("SRT credentials not renewed after a refusal (%s): %s", when, exc)
            self.health.down("credentials", f"SRT credentials not renewed, {when}: {exc}")
            return
        self._srt = srt
        log.info("SRT credentials fetched again (token until %s)", srt.expires_at)
        self._retarget(output, srt)
        renewal.renewed()
        self.health.up("credentials")

    # --- phones and invites ---------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            wait = PHONES_POLL_S
            try:
                access = await self._login.access()
                participants = tuple(await self._login.api.participants(access, self._session.id))
                self._emit(ev.PhonesChanged(participants))
                self.health.up("phones")
                await self._keep_invites(access)
                await self._read_recordings(access)
                if self.output is not None:
                    await self._read_damage(access)
            except NotLoggedIn as exc:
                self.health.down("login", f"{exc.message}.", "log_in")
                raise Permanent(exc.message) from exc
            except CloudError as exc:
                self.health.down("phones", f"phone list not updated: {exc.message}")
                wait = PHONES_RETRY_S
            relay = self.relay
            if relay.stats.connected:
                self._emit(ev.LiveChanged(True, True, "", relay.stats.rtt_ms))
            await self._nudge.wait(wait)

    async def _read_recordings(self, access: str) -> None:
        if not self._recordings_kept:
            return
        try:
            listing = await self._login.api.recordings(access, self._session.id)
        except CloudError as exc:  # the show goes on
            if exc.code == NO_RECORDINGS:  # --no-recording: say so once, ask no more
                self._recordings_kept = False
                self._emit(
                    ev.RecordingsListed(unavailable(self._session.id, self._session.recording))
                )
            else:
                log.info("the recordings not read: %s", exc.message)
            return
        self._emit(ev.RecordingsListed(listing))

    async def _read_damage(self, access: str) -> None:
        try:
            layers = await self._login.api.srt_health(access, self._session.id)
        except CloudError as exc:  # the phones and the stream go on; an older backend has none
            log.info("the ingest's SRT health not read: %s", exc.message)
            return
        self._damage.seen(layers)

    async def _keep_invites(self, access: str) -> None:
        """Re-issue links before they expire, so a QR code shown today still lets a phone in."""
        now = datetime.now(UTC)
        if all(invite.usable(now) for invite in self._invites):
            self.health.up("invites")
            return
        try:
            invites = await ensure_invites(self._login, access, self._session)
        except CloudError as exc:
            self.health.down("invites", f"expiring links not re-issued yet: {exc.message}")
            return
        self._invites = invites
        self.health.up("invites")
        self._emit(ev.InvitesChanged(invites))

    # --- plumbing -------------------------------------------------------------------------

    def _supervised(
        self, name: str, run: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        work = supervise(name, run, self._failed, nudge=self._nudge)
        return asyncio.create_task(work, name=name)

    def _failed(self, failure: Failure) -> None:
        if failure.retry_in is None:
            self.health.down(failure.task, f"stopped: {failure.error}", "go_live")
        else:
            detail = f"failed ({failure.error!r}); restarting in {failure.retry_in:.1f} s"
            self.health.down(failure.task, detail)
