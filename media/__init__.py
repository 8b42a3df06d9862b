"""Frames, sources, program clock and mixer, audio, encoder, SRT; no Qt, no app imports."""
