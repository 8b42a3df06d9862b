"""Fresh SRT credentials for a program output when the gateway refuses a layer for them.

A session's publish token expires (the backend's `--srt-token-ttl-s`), and the director
can rotate the token or the passphrase from anywhere. A connected layer survives expiry,
but a reconnect with an old token is refused as forbidden (1403) before the handshake
completes, and one with an old passphrase as a bad secret (10). Reading the session's
credentials again renews an expiring token, so after each new such refusal the output's
owner (Go Live, app/session_link/link.py; `returnfeed send --cloud`, app/send.py) fetches
them and retargets the output, and the refused layer retries at once. Credentials that did
not change leave it on the sender's slow schedule for refusals: no loop of fetches.
"""

from __future__ import annotations

from app.session_link.cloud_api import CloudApi, SrtCredentials
from media.send.output import OutputStats
from media.srt import RejectReason

# Refusals that new credentials can cure; a conflict (1409) or a bad streamid cannot.
CREDENTIAL_REFUSALS = (RejectReason.FORBIDDEN, RejectReason.BADSECRET)


class RefusalWatch:
    """Tells, from an output's stats, when a layer was newly refused for its credentials."""

    def __init__(self) -> None:
        self._rejects: dict[str, int] = {}  # refusals per layer seen so far

    def credentials_refused(self, stats: OutputStats) -> bool:
        """Whether any layer got a 1403 or a 10 since the last look (each counts once)."""
        found = False
        for layer in stats.layers:
            before = self._rejects.get(layer.name, 0)
            self._rejects[layer.name] = layer.rejects
            # A refused layer waits >= 5 s in this state: a 1 s poll sees each refusal.
            if layer.rejects > before and layer.reject_code in CREDENTIAL_REFUSALS:
                found = True
        return found


async def fetch_credentials(cloud_url: str, access: str, session_id: str) -> SrtCredentials:
    """The session's SRT credentials from the backend, as its owner (renews an expiring
    token); CloudError if it says no or cannot be reached."""
    api = CloudApi(cloud_url)
    try:
        return await api.srt(access, session_id)
    finally:
        await api.aclose()
