"""The local control API (HTTP + WebSocket on loopback, token-protected): docs/control-api.md."""
