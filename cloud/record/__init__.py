"""Recording, DVR and HLS: one segmenter per live session writes fragmented-MP4 segments
of the program's hi layer and its sound (no re-encoding), and the API plays them back
(docs/recording.md)."""
