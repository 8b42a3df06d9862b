"""The tally relay: one WebSocket per client, one room per session (docs/relay.md).

The route lives in `cloud.relay.endpoint`; this package's top level stays import-light so
that `cloud.backend` can build a relay without importing the web layer.
"""

from tally import MAX_MESSAGE_BYTES

# Frames up to this size reach the parser and get an `error` reply when over 16 KiB; larger
# ones are cut off by the WebSocket layer (close 1009) before they are buffered.
RELAY_MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES
