"""The SRT -> WebRTC gateway: SRT ingest, per-session fan-out, WHEP viewers (docs/gateway.md).

One `Gateway` per backend process owns it all: `ingest.Ingest` (the SRT listener and one
demux thread per publisher), a `feed.SessionFeed` per live session, and a `viewer.Viewer`
per WHEP peer with its own bounded rings (`feed.Tap`) and quality manager (`quality`).
"""

from cloud.gateway.gateway import Gateway, GatewayConfig

__all__ = ["Gateway", "GatewayConfig"]
