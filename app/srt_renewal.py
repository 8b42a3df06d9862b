"""Fresh SRT credentials for a program output when the gateway refuses a layer for them.

A session's publish token expires (the backend's `--srt-token-ttl-s`), and the director
can rotate the token or the passphrase from anywhere. A connected layer survives expiry,
but a reconnect with an old token is refused as forbidden (1403) before the handshake
completes, and one with an old passphrase as a bad secret (10). Reading the session's
credentials again renews an expiring token, so after each new such refusal the output's
owner (Go Live, app/session_link/; `returnfeed send --cloud`, app/send.py) fetches them and
retargets the output, and the refused layer retries at once. Credentials that did not
change leave it on the sender's slow schedule for refusals: no loop of fetches.

`CredentialRenewal` says when to fetch: after a new credentials refusal, and, when a fetch
failed (the backend's HTTP side still starting, a 5xx, the network), again on a short capped
backoff until one succeeds, instead of at the next refusal, which the slow schedule puts
5 to 60 s away.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from app.session_link.cloud_api import CloudApi, CloudError, CloudUnreachable, SrtCredentials
from media.send.backoff import Backoff, BackoffPolicy
from media.send.link import LinkPhase
from media.send.output import OutputStats
from media.srt import RejectReason

# Refusals that new credentials can cure; a conflict (1409) or a bad streamid cannot.
CREDENTIAL_REFUSALS = (RejectReason.FORBIDDEN, RejectReason.BADSECRET)

# A failed fetch is tried again after 0.5 s, doubling to 2 s (+-20 %): as soon as the
# sender's quick schedule finds a restarted listener, and no load on a backend that is down.
FETCH_RETRY = BackoffPolicy(first_s=0.5, max_s=2.0)

# A layer that has not connected for this long (no answer, the link broke) reads the target
# again, and again each time this passes: with several backend processes the session's ingest
# moves to another one when its owner dies (docs/scale.md), and the read says where.
UNREACHABLE_S = 2.0
_DOWN = (LinkPhase.CONNECTING, LinkPhase.RETRYING)


class RefusalWatch:
    """Tells, from an output's stats, when a layer was newly refused for its credentials."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}  # credentials refusals per layer counted so far

    def credentials_refused(self, stats: OutputStats) -> bool:
        """Whether any layer got a 1403 or a 10 since the last look (each counts once).

        Counted from the layers' refusals by reason, never from the state they show now: a
        layer woken by a retarget leaves "rejected" at once, and a look can land between
        a refusal being counted and the layer saying so.
        """
        found = False
        for layer in stats.layers:
            count = sum(layer.refusals.get(code, 0) for code in CREDENTIAL_REFUSALS)
            if count > self._seen.get(layer.name, 0):
                found = True
            self._seen[layer.name] = count
        return found


class CredentialRenewal:
    """When an output's owner should fetch the session's SRT credentials again.

    Each look at the stats (`due`) says whether to fetch now: a layer was newly refused for
    its credentials, or an earlier fetch failed and its retry time has come. The owner then
    fetches, retargets the output with what it got and says `renewed()`, or says `failed()`
    with what went wrong:

        renewal = CredentialRenewal()
        while on_air:
            if renewal.due(output.stats()):
                try:
                    output.retarget(targets(await fetch()))
                except CloudError as exc:
                    renewal.failed(exc)
                else:
                    renewal.renewed()
            await asyncio.sleep(1)

    A retry is consumed when `due` hands it out, so an owner that reports nothing gets no
    loop of fetches, only the next refusal.
    """

    def __init__(
        self,
        retry: BackoffPolicy = FETCH_RETRY,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._watch = RefusalWatch()
        self._backoff = Backoff(retry, rng)
        self._clock = clock
        self._retry_at: float | None = None  # a fetch failed: fetch again from then
        self._down_since: float | None = None  # a layer has not connected since then

    @property
    def retry_in(self) -> float | None:
        """Seconds until a failed fetch is tried again; None when none is pending."""
        if self._retry_at is None:
            return None
        return max(0.0, self._retry_at - self._clock())

    def due(self, stats: OutputStats) -> bool:
        """Whether to fetch now. Look at every poll: each refusal is counted once."""
        refused = self._watch.credentials_refused(stats)
        retry = self._retry_at is not None and self._clock() >= self._retry_at
        if refused or retry or self._unreachable(stats):
            self._retry_at = None
            return True
        return False

    def _unreachable(self, stats: OutputStats) -> bool:
        """Whether a layer has been unable to connect for UNREACHABLE_S since it last did or
        since the last look that said so."""
        if not any(layer.phase in _DOWN for layer in stats.layers):
            self._down_since = None
            return False
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
            return False
        if now - self._down_since < UNREACHABLE_S:
            return False
        self._down_since = now
        return True

    def renewed(self) -> None:
        """The fetch worked and the output has the credentials."""
        self._retry_at = None
        self._backoff.reset()

    def failed(self, error: BaseException | None = None) -> float | None:
        """The fetch failed: due again after the returned delay (s), or, for a failure that
        retrying cannot cure (`worth_retrying`), None: at the next refusal only."""
        if error is not None and not worth_retrying(error):
            self._retry_at = None
            return None
        delay = self._backoff.next()
        self._retry_at = self._clock() + delay
        return delay


def worth_retrying(error: BaseException) -> bool:
    """Whether a failed fetch may work if tried again: no answer, a timeout, a 5xx, 408 or
    429. Not a refusal (401 login ended, 403, 404 session gone) or a bad address."""
    if isinstance(error, CloudUnreachable):
        return True
    if isinstance(error, CloudError):
        return error.status is None or error.status >= 500 or error.status in (408, 429)
    return False


async def fetch_credentials(cloud_url: str, access: str, session_id: str) -> SrtCredentials:
    """The session's SRT credentials from the backend, as its owner (renews an expiring
    token); CloudError if it says no or cannot be reached."""
    api = CloudApi(cloud_url)
    try:
        return await api.srt(access, session_id)
    finally:
        await api.aclose()
