"""The simulcast encoder: program frames into H.264 layers (hi/lo) plus Opus, off the clock.

  encoder = SimulcastEncoder(EncoderConfig())         # picks NVENC/QSV/... or libx264
  encoder.set_sink("hi", sender.offer)                # LayerUnit per tick, never blocks
  encoder.start(clock.subscribe("program", "encoder", maxsize=2))
  encoder.request_keyframe("hi")                      # IDR at the next frame

config     LayerConfig, EncoderConfig, AudioConfig, HI, LO, PTS_HZ (the shared timeline)
codecs     per-encoder settings (constrained baseline, zero latency, SPS/PPS per IDR)
detect     pick_encoder("auto"), trial_open(name): hardware found by really opening it
video      LayerEncoder: one layer, decimated by pts, scaled, IDR on request
audio      OpusEncoder: 20 ms Opus frames stamped on the program clock
simulcast  SimulcastEncoder: the encode thread, stats
units      EncodedVideo, EncodedAudio, LayerUnit
nal        nal_types, has_idr: H.264 Annex B inspection
"""
