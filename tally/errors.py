"""The one exception the wire protocol raises."""


class ProtocolError(ValueError):
    """A message, or a value inside one, breaks the protocol.

    `path` says where (``snapshot.state.cameras[2].number``) and `problem` says what. They are
    kept apart so that each enclosing decoder can prefix its own part of the path on the way out.
    """

    def __init__(self, path: str, problem: str) -> None:
        # Both go to ValueError so the exception pickles and compares like any other.
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem

    def within(self, outer: str) -> "ProtocolError":
        """The same error seen from the enclosing value, whose path to this one is `outer`."""
        if not outer:
            return self
        if not self.path:
            path = outer
        elif self.path.startswith("["):
            path = outer + self.path
        else:
            path = f"{outer}.{self.path}"
        return ProtocolError(path, self.problem)
