"""``candidates()``: every operator at every suspect line of a file, checked, deduped, ranked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from codeagent.agent.candidate import Candidate
from codeagent.agent.repair.catalog import CATALOG, Operator, boost
from codeagent.agent.repair.edits import Edit, Splice, apply, checked, first_change, size
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.source import SourceFile
from codeagent.agent.suspects import Suspect


@dataclass(frozen=True, slots=True)
class _Ranked:
    key: tuple[float, float, int, int, int]
    candidate: Candidate


def candidates(
    path: str,
    source: str,
    suspects: Sequence[Suspect],
    *,
    hint: Hint | None = None,
    limit: int | None = None,
) -> list[Candidate]:
    """The repair candidates for ``path`` (whose text is ``source``) at its suspect lines.

    Suspects of other paths are ignored; a line named twice counts with its best score. Order:
    suspect score (higher first), then the operator's prior split among its alternatives at the
    site and scaled by ``hint`` (likelier first), then size (smaller first). Every candidate
    parses, differs from ``source`` as a tree and from every other candidate as text, and keeps
    every line it does not change byte-identical. A file that does not parse gives ``[]``.
    """
    scores: dict[int, float] = {}
    for suspect in suspects:
        if suspect.path == path:
            scores[suspect.line] = max(suspect.score, scores.get(suspect.line, suspect.score))
    file = _parsed(source) if scores else None
    if file is None:
        return []
    hint = hint or Hint()
    collector = _Collector(file, path)
    for line, score in sorted(scores.items(), key=lambda item: (-item[1], item[0])):
        if not 1 <= line <= file.line_count:
            continue
        for operator in CATALOG:
            edits = list(operator.generate(file, line, hint))
            totals: dict[int, float] = {}
            sites: dict[int, float] = {}
            for edit in edits:
                totals[edit.site] = totals.get(edit.site, 0.0) + edit.weight
                sites[edit.site] = max(sites.get(edit.site, 0.0), edit.site_weight)
            # P(edit) ~ P(pattern) x P(site | pattern) x P(alternative | site), where a site's
            # weight below 1 marks it as less likely than an ordinary one.
            share = operator.prior * boost(operator.name, hint) / max(len(sites), 1)
            for edit in edits:
                prior = share * sites[edit.site] * edit.weight / totals[edit.site]
                collector.add(operator, edit, score, prior)
    return collector.ranked(limit)


@lru_cache(maxsize=8)
def _parsed(source: str) -> SourceFile | None:
    """One parse per text: the agent asks line by line, best suspects first."""
    return SourceFile.parse(source)


Identity = tuple[tuple[int, int, str], ...]


class _Collector:
    """Candidates by text, each kept with its best rank; splices realised once each."""

    def __init__(self, file: SourceFile, path: str) -> None:
        self.file = file
        self.path = path
        self._best: dict[str, _Ranked] = {}
        self._realised: dict[Identity, tuple[str, int, int] | None] = {}

    def add(self, operator: Operator, edit: Edit, score: float, prior: float) -> None:
        identity = tuple((s.start, s.end, s.text) for s in edit.splices)
        if identity not in self._realised:
            self._realised[identity] = _realise(self.file, edit.splices)
        result = self._realised[identity]
        if result is None:
            return
        new_source, line, changed = result
        key = (-score, -prior, changed, line, len(self._best))
        known = self._best.get(new_source)
        if known is not None and known.key <= key:
            return
        description = f"line {line}: {edit.summary}"
        candidate = Candidate(self.path, new_source, line, operator.name, description, changed)
        self._best[new_source] = _Ranked(key, candidate)

    def ranked(self, limit: int | None) -> list[Candidate]:
        ordered = sorted(self._best.values(), key=lambda r: r.key)
        return [r.candidate for r in ordered[:limit]]


def _realise(file: SourceFile, splices: tuple[Splice, ...]) -> tuple[str, int, int] | None:
    """(new text, first changed line, tokens changed), or None if a splice is not valid."""
    safe: list[Splice] = []
    for splice in sorted(splices, key=lambda s: s.start):
        if safe and splice.start < safe[-1].end:
            return None
        good = checked(splice, file.text[splice.start : splice.end])
        if good is None:
            return None
        safe.append(good)
    first = min(first_change(file.text, s) for s in safe)
    changed = sum(size(file.text[s.start : s.end], s.text) for s in safe)
    return apply(file.text, tuple(safe)), file.line_of(first), changed
