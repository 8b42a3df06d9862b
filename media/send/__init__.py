"""The program out over SRT: one MPEG-TS per layer, one SRT caller per layer, reconnecting.

  output = SimulcastOutput(clock, {"hi": SrtTarget(...), "lo": SrtTarget(...)})
  output.start(); output.stats(); output.request_keyframe(); output.retarget(...); output.stop()

output   SimulcastOutput, OutputStats, LayerStats: encoder + senders, one snapshot
sender   LayerSender: a layer's thread, queue, reconnect loop, SenderStats
target   SrtTarget, LatencyProfile (LAN 20 ms / WAN 120 ms), profile_for, parse_srt_url
link     LinkState, LinkPhase, describe_reject: connection state in words
backoff  Backoff, BackoffPolicy: 0.25 s -> 2 s with jitter; refusals 5 s -> 60 s
silence  AckSilence: a listener that stopped acknowledging is gone (faster than libsrt)
ts       TsMuxer: H.264 + Opus MPEG-TS, each frame written the moment it is encoded
"""
