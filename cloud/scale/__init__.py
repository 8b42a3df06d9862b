"""Several backend processes serving one session's video: who owns each session's SRT
ingest (owner.py, a lease in Redis) and edges that pull a session from its owner (edge.py).
docs/scale.md says why and how."""
