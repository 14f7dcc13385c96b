"""Every way out of a fix session, as an exception caught in one place (``session.run``).

``Stop`` subclasses are results, not errors: the session ends with its ``Finished`` event and
the exit code the CLI returns. Errors (``ConfigError``, transport and API errors,
``TestRunError``) stay in ``codeagent.errors`` and map to their own exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class Stop(Exception):
    outcome = "not_fixed"
    exit_code = 1


class Fixed(Stop):
    """The originally failing tests pass and nothing else regressed."""

    outcome = "fixed"
    exit_code = 0

    def __init__(self, description: str, patch: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.patch = patch
        """The work copy's diff, when the strategy has it already (else the session asks)."""


class NothingToFix(Stop):
    outcome = "nothing_to_fix"
    exit_code = 0

    def __init__(self) -> None:
        super().__init__("all tests pass: nothing to fix")


class Flaky(Stop):
    """The tests that failed at first pass when run again: nothing fails reliably to fix."""

    def __init__(self, tests: list[str]) -> None:
        shown = ", ".join(tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
        super().__init__(f"flaky: {shown} failed, then passed when run again; not fixed")


class BudgetExceeded(Stop):
    def __init__(self, what: str) -> None:
        super().__init__(f"budget exceeded: {what}")


class GaveUp(Stop):
    def __init__(self, why: str) -> None:
        super().__init__(f"gave up: {why}")


EXIT_USAGE = 2
EXIT_MODEL = 3
EXIT_TESTS = 4


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits of one session; 0 means none."""

    turns: int = 12
    """Model turns, the warmup included."""
    seconds: float = 180.0
    """Wall time of the session, test runs included."""
    tokens: int = 0
    """Input plus output tokens over all turns (cached input tokens count too)."""

    def exceeded(self, *, turns: int, seconds: float, tokens: int) -> str | None:
        """What is used up, or ``None``."""
        if self.turns and turns >= self.turns:
            return f"{turns} of {self.turns} turns"
        if self.seconds and seconds >= self.seconds:
            return f"{seconds:.0f} of {self.seconds:.0f} seconds"
        if self.tokens and tokens >= self.tokens:
            return f"{tokens} of {self.tokens} tokens"
        return None
