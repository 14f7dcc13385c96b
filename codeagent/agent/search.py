"""``Search``: which candidates to validate next, over the program and its improved variants.

A candidate that makes some target tests pass and breaks none is an improvement, not yet a fix:
a fix of two edits is found one edit at a time. But keeping the first improvement for good is
greedy, and a wrong partial fix (the right change at the wrong occurrence) would hide the right
one. So each improvement opens a ``Branch``: the program with that edit kept, its own targets
and its own candidates, and rounds go to the branches in turn, the deeper ones more often. A
branch whose candidates run out is dropped; branches are bounded in number and depth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from codeagent.agent.candidate import Candidate
from codeagent.agent.validate import Files, Validator, Verdict

MAX_BRANCHES = 4
MAX_DEPTH = 3
EXTRA_CANDIDATES = 12
"""After a first fix, how many more candidates of its batch may compete with it."""

MakeCandidates = Callable[[Mapping[str, str], set[tuple[str, str]]], Iterable[Candidate]]
"""Candidates for the given sources, best first, leaving out (path, text) pairs already tried;
made lazily: a batch takes only the candidates it needs."""


class Pending:
    """The candidates of a branch still to try: an iterator with a look-ahead of one."""

    def __init__(self, found: Iterable[Candidate] = ()) -> None:
        self._found: Iterator[Candidate] = iter(found)
        self._next: Candidate | None = None

    def __bool__(self) -> bool:
        if self._next is None:
            self._next = next(self._found, None)
        return self._next is not None

    def popleft(self) -> Candidate:
        if not self:
            raise IndexError("no candidate left")
        found, self._next = self._next, None
        assert found is not None
        return found


@dataclass
class Branch:
    changes: dict[str, str]
    """path -> text: the improvements this branch keeps over the original program."""
    targets: tuple[str, ...]
    """The tests still failing here."""
    steps: tuple[str, ...] = ()
    """The improvements, described."""
    queue: Pending = field(default_factory=Pending)
    tried: set[tuple[str, str]] = field(default_factory=set)
    served: int = 0
    """Rounds this branch has had."""


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
        self.root = Branch({}, validator.targets)
        """The original program (kept when its candidates run out: the model may add some)."""
        self.root.queue = Pending(make(self.original, self.root.tried))
        self.branches: deque[Branch] = deque([self.root])

    def sources(self, branch: Branch) -> dict[str, str]:
        return {**self.original, **branch.changes}

    def next_branch(self) -> Branch | None:
        """The branch whose turn it is, or ``None`` when all are exhausted.

        Weighted round-robin: a branch gets rounds in proportion to ``2 ** depth``, so the
        programs closer to passing are explored more, and the original still gets its share
        (a wrong partial fix must not starve the right one)."""
        live = [b for b in self.branches if b.queue]
        self.branches = deque(live)
        if not live:
            return None
        branch = min(live, key=lambda b: (b.served / 2 ** len(b.steps), -len(b.steps)))
        branch.served += 1
        return branch

    def batch(self, branch: Branch, size: int, first: Sequence[Candidate] = ()) -> list[Candidate]:
        """``first`` (the model's), then the branch's next candidates, untried ones only."""
        out: list[Candidate] = []
        seen: set[tuple[str, str]] = set()
        pending = iter(first)
        while len(out) < size:
            cand = next(pending, None)
            if cand is None:
                if not branch.queue:
                    break
                cand = branch.queue.popleft()
            key = (cand.path, cand.new_source)
            if key not in branch.tried and key not in seen:
                seen.add(key)
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
        try:
            with self.validator.deferred():
                return self._run(branch, batch, check, budget)
        finally:
            self._leave(branch)

    def _run(
        self,
        branch: Branch,
        batch: Sequence[Candidate],
        check: Callable[[Candidate], Verdict],
        budget: Callable[[], None],
    ) -> tuple[list[tuple[Candidate, Verdict]], list[Win]]:
        results: list[tuple[Candidate, Verdict]] = []
        wins: list[Win] = []
        first_win = 0
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
        return results, wins

    def _improved(self, branch: Branch, cand: Candidate, verdict: Verdict) -> None:
        if len(branch.steps) >= MAX_DEPTH or len(self.branches) >= MAX_BRANCHES:
            return
        child = Branch(
            changes={**branch.changes, cand.path: cand.new_source},
            targets=tuple(t for t in branch.targets if t not in verdict.passing_targets),
            steps=(*branch.steps, cand.description),
        )
        child.queue = Pending(self.make(self.sources(child), child.tried))
        child.served = branch.served  # it starts level with its parent, then gets more rounds
        self.branches.append(child)

    def _enter(self, branch: Branch) -> None:
        for path, text in branch.changes.items():
            self.files.write(path, text)
        self.validator.targets = branch.targets

    def _leave(self, branch: Branch) -> None:
        for path in branch.changes:
            self.files.write(path, self.original[path])
