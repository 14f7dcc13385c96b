"""``Host``: what the app may ask of the world. The CLI implements it; tests give a fake."""

from __future__ import annotations

from typing import Protocol

from codeagent.agent.events import AgentEvent, Finished
from codeagent.agent.inbox import Inbox


class Host(Protocol):
    repo: str
    """The project being fixed, for the title."""

    def run(self, request: str, emit: Emit, inbox: Inbox) -> Finished:
        """A whole fix session (called in a worker thread); ``request`` is what the user asked
        for. Raises ``CodeagentError`` with one line for what stops it before it starts."""
        ...

    def apply(self, patch: str) -> str:
        """Apply ``patch`` to the user's tree; returns what was done. ``CodeagentError``."""
        ...

    def save(self, patch: str) -> str:
        """Keep ``patch`` where the user can find it; returns the path."""
        ...


class Emit(Protocol):
    def __call__(self, event: AgentEvent) -> None: ...
