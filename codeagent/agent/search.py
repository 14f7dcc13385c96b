"""``Search``: which candidates to validate next, over the program and its improved variants.

A candidate that makes some target tests pass and breaks none is an improvement, not yet a fix:
a fix of two edits is found one edit at a time. But keeping the first improvement for good is
greedy, and a wrong partial fix (the right change at the wrong occurrence) would hide the right
one. So each improvement opens a ``Branch``: the program with that edit kept, its own targets
and its own candidates, and rounds go round-robin over the branches, the original first. A
branch whose candidates run out is dropped; branches are bounded in number and depth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from codeagent.agent.candidate import Candidate
from codeagent.agent.validate import Files, Validator, Verdict

MAX_BRANCHES = 4
MAX_DEPTH = 3
EXTRA_CANDIDATES = 12
"""After a first fix, how many more candidates of its batch may compete with it."""

MakeCandidates = Callable[[Mapping[str, str], set[tuple[str, str]]], list[Candidate]]
"""Candidates for the given sources, leaving out (path, text) pairs already tried."""


@dataclass
class Branch:
    changes: dict[str, str]
    """path -> text: the improvements this branch keeps over the original program."""
    targets: tuple[str, ...]
    """The tests still failing here."""
    steps: tuple[str, ...] = ()
    """The improvements, described."""
    queue: deque[Candidate] = field(default_factory=deque)
    tried: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Win:
    branch: Branch
    candidate: Candidate

    @property
    def changes(self) -> dict[str, str]:
        """Every file the fix changes, with its new text."""
        return {**self.branch.changes, self.candidate.path: self.candidate.new_source}

    @property
    def description(self) -> str:
        return "; ".join([*self.branch.steps, self.candidate.description])


class Search:
    def __init__(
        self,
        files: Files,
        validator: Validator,
        sources: dict[str, str],
        make: MakeCandidates,
    ) -> None:
        self.files = files
        self.validator = validator
        self.original = dict(sources)
        self.make = make
        root = Branch({}, validator.targets)
        root.queue = deque(make(self.original, root.tried))
        self.branches: deque[Branch] = deque([root])

    def sources(self, branch: Branch) -> dict[str, str]:
        return {**self.original, **branch.changes}

    def next_branch(self) -> Branch | None:
        """The branch whose turn it is (round-robin), or ``None`` when all are exhausted."""
        for _ in range(len(self.branches)):
            branch = self.branches[0]
            self.branches.rotate(-1)
            if branch.queue:
                return branch
        return None

    def batch(self, branch: Branch, size: int, first: Sequence[Candidate] = ()) -> list[Candidate]:
        """``first`` (the model's), then the branch's next candidates, untried ones only."""
        out = [c for c in first if (c.path, c.new_source) not in branch.tried]
        while branch.queue and len(out) < size:
            cand = branch.queue.popleft()
            if (cand.path, cand.new_source) not in branch.tried:
                out.append(cand)
        return out

    def validate(
        self,
        branch: Branch,
        batch: Sequence[Candidate],
        check: Callable[[Candidate], Verdict],
        budget: Callable[[], None],
    ) -> tuple[list[tuple[Candidate, Verdict]], list[Win]]:
        """Try ``batch`` in ``branch``'s program: what was tried and the fixes found.

        ``check`` validates one candidate (the validator's, with events around it); ``budget``
        raises when time is up. The work copy is back to the original program afterwards.
        """
        self._enter(branch)
        results: list[tuple[Candidate, Verdict]] = []
        wins: list[Win] = []
        first_win = 0
        try:
            for cand in batch:
                if wins and len(results) >= first_win + EXTRA_CANDIDATES:
                    break
                budget()
                branch.tried.add((cand.path, cand.new_source))
                verdict = check(cand)
                results.append((cand, verdict))
                if verdict.outcome == "fixed":
                    first_win = first_win or len(results)
                    wins.append(Win(branch, cand))
                elif verdict.outcome == "improved" and not wins:
                    self._improved(branch, cand, verdict)
        finally:
            self._leave(branch)
        return results, wins

    def _improved(self, branch: Branch, cand: Candidate, verdict: Verdict) -> None:
        if len(branch.steps) >= MAX_DEPTH or len(self.branches) >= MAX_BRANCHES:
            return
        child = Branch(
            changes={**branch.changes, cand.path: cand.new_source},
            targets=tuple(t for t in branch.targets if t not in verdict.passing_targets),
            steps=(*branch.steps, cand.description),
        )
        child.queue = deque(self.make(self.sources(child), child.tried))
        # Next in line after the branch that found it: improvements are explored early.
        self.branches.appendleft(child)

    def _enter(self, branch: Branch) -> None:
        for path, text in branch.changes.items():
            self.files.write(path, text)
        self.validator.targets = branch.targets

    def _leave(self, branch: Branch) -> None:
        for path in branch.changes:
            self.files.write(path, self.original[path])
