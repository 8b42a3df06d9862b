"""Video sources: each runs on its own thread and writes a latest-frame slot."""
