"""Qt models of the show, fed by the bridge's signals; no widgets, so tests need none."""
