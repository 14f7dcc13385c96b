"""Messages the session's worker posts to the app."""

from __future__ import annotations

from textual.message import Message

from codeagent.agent.events import AgentEvent, Finished


class AgentMessage(Message):
    """One event of the running session (posted from the worker thread)."""

    def __init__(self, event: AgentEvent) -> None:
        super().__init__()
        self.event = event


class SessionEnded(Message):
    """The session is over: its ``Finished`` event, or the one line that says why not."""

    def __init__(self, finished: Finished | None, error: str = "") -> None:
        super().__init__()
        self.finished = finished
        self.error = error


class Applied(Message):
    """The fix was applied to the user's tree (or could not be)."""

    def __init__(self, message: str, ok: bool) -> None:
        super().__init__()
        self.message = message
        self.ok = ok
