"""The ``Host`` the Textual app runs on: the same session as headless ``fix``, applying and
saving patches for the user. Every method runs in one of the app's worker threads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codeagent.agent.conversation import Emit
from codeagent.agent.events import Finished
from codeagent.agent.inbox import Inbox
from codeagent.cli.fix_run import default_patch_path, run_session, write_patch
from codeagent.cli.fix_settings import FixSettings
from codeagent.tools.apply import apply_to_user
from codeagent.tui.app import DEFAULT_REQUEST


class CliHost:
    def __init__(
        self,
        project: Path,
        settings: FixSettings,
        *,
        commit: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.project = project
        self.settings = settings
        self.commit = commit
        self.environ = environ
        """Where sessions find ``OPENAI_API_KEY`` (the environment as it was at start)."""
        self.repo = str(project)

    def run(self, request: str, emit: Emit, inbox: Inbox) -> Finished:
        if request.strip() and request.strip() != DEFAULT_REQUEST:
            inbox.put(request)  # the user's words go to the model with its first question
        return run_session(self.project, self.settings, emit, inbox, environ=self.environ)

    def apply(self, patch: str) -> str:
        applied = apply_to_user(self.project, patch, commit=self.commit)
        where = f"committed on {applied.branch}" if applied.branch else "in your working tree"
        return f"applied to {', '.join(applied.files)}, {where}"

    def save(self, patch: str) -> str:
        path = default_patch_path(self.project)
        write_patch(path, patch)  # the exact bytes; ConfigError when it cannot be written
        return str(path)
