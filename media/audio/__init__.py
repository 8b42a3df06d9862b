"""Program audio: sources (test tone, PortAudio capture), a mixer with AFV, and meters."""
