"""``ReplayHost``: a host for the Textual app that plays recorded events, with no I/O at all.

For deterministic interface tests and snapshots: ``run`` emits the events in order (and puts
what the user typed in ``requests``), ``apply`` records the patch, ``save`` names a path.
"""

from __future__ import annotations

from collections.abc import Sequence

from codeagent.agent.conversation import Emit
from codeagent.agent.events import AgentEvent, Finished
from codeagent.agent.inbox import Inbox
from codeagent.errors import WorkspaceError


class ReplayHost:
    def __init__(self, events: Sequence[AgentEvent], *, repo: str = "sample_repos/calc") -> None:
        self.events = list(events)
        self.repo = repo
        self.requests: list[str] = []
        self.applied: list[str] = []
        self.saved: list[str] = []
        self.refuse_apply = ""
        """When set, ``apply`` refuses with this message (a dirty tree, say)."""

    def run(self, request: str, emit: Emit, inbox: Inbox) -> Finished:
        self.requests.append(request)
        finished: Finished | None = None
        for event in self.events:
            emit(event)
            if isinstance(event, Finished):
                finished = event
        if finished is None:
            raise WorkspaceError("the recording has no finished event")
        return finished

    def apply(self, patch: str) -> str:
        if self.refuse_apply:
            raise WorkspaceError(self.refuse_apply)
        self.applied.append(patch)
        return "applied to calc/ops.py, committed on codeagent/fix-test"

    def save(self, patch: str) -> str:
        self.saved.append(patch)
        return "/tmp/codeagent-fix.patch"
