"""The tally/control wire protocol and the one lamp derivation. Standard library only."""
