"""``Bench``: what a strategy works with, gathered once by the session; ``FixOptions``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from codeagent.agent.conversation import Conversation, Emit, Usage
from codeagent.agent.outcome import Budget
from codeagent.agent.prompts import Prompts, load
from codeagent.agent.suspects import Suspect
from codeagent.agent.validate import Files, Tests, Validator
from codeagent.tools.testresults import TestReport


@dataclass(frozen=True, slots=True)
class FixOptions:
    strategy: str = "guided"
    """``guided`` (the repair engine; the default for the embedded model) or ``tools`` (the
    model drives with function tools; the default for other models)."""
    budget: Budget = field(default_factory=Budget)
    allow_test_edits: bool = False
    test_timeout: float = 120.0
    """Seconds one test run may take (the whole suite with coverage included)."""
    map_tokens: int = 256
    """Repo map budget in the static prefix (small models pay for every token at each turn)."""
    code_lines: int = 60
    """Lines of suspect code in the static prefix."""
    temperature: float = 0.2
    reply_tokens: int = 32
    """Longest model reply in the guided strategy (one line of code)."""


@dataclass
class Bench:
    files: Files
    tests: Tests
    validator: Validator
    conversation: Conversation
    emit: Emit
    usage: Usage
    options: FixOptions
    baseline: TestReport
    """The first run, with coverage: what fails, and what each test ran."""
    suspects: list[Suspect]
    sources: dict[str, str]
    """path -> text of the files the failing tests and the suspects touch (kept current)."""
    repo_map: str = ""
    prompts: Callable[[str], Prompts] = load
