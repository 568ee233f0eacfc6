"""How many SSE connections one notifier process serves at once (pure).

Every open connection costs a file descriptor, its buffers and a task; past the cap a
new one is refused before any stream starts, so a flood of connections degrades into
refusals the client retries (Retry-After) instead of a process out of descriptors or
memory.
"""


class ConnectionSlots:
    """A counter of open connections with a ceiling: `take` one, `release` it when done."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a process must serve at least one connection")
        self.limit = limit
        self._open = 0

    @property
    def open(self) -> int:
        return self._open

    def take(self) -> bool:
        """A slot for a new connection; False when all `limit` are taken."""
        if self._open >= self.limit:
            return False
        self._open += 1
        return True

    def release(self) -> None:
        """The connection ended: its slot is free again."""
        if self._open == 0:
            raise RuntimeError("released a slot that was never taken")
        self._open -= 1
