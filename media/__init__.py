"""Frames, sources, program clock and mixer, audio, encoder, SRT; no Qt, no app imports.

Map of the video/audio core (import from the modules; this package imports nothing):
  frames      Frame (immutable I420), Size, solid, scale_to_fit, rgb_to_yuv
  slot        FrameSlot / SlotFrame: a source's latest frame, capture time, seq
  sources/    Source protocol + ThreadedSource (slate, retry); TestPatternSource,
              FileSource, CameraSource (+ list_cameras), NdiSource (+ list_ndi_sources)
  stamp       draw_stamp / decode_stamp / now_ms / age_ms: timestamps in the picture
  switcher    SwitcherState, Transition, Fade: what the clock renders, per pts
  clock       ProgramClock, ClockConfig, OutputFrame, ClockStats
  genlock     PhaseLock, GenlockStatus: the clock's ticks locked to a reference source
  mixer       Blender: numpy dissolve / dip / fade on I420
  fanout      DropOldestQueue, Fanout: bounded hand-offs that drop and count
  audio/      ToneSource, CaptureSource (+ list_audio_devices), AudioMixer,
              ChannelSettings, LevelMeter, AudioFrame
  inventory   take_inventory(): NDI sources, cameras, audio inputs, with notes
"""
