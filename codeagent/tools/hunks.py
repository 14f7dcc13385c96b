"""Placing and applying the hunks of one file: the matching core of ``tools.patch``.

``apply_hunks(path, text, hunks)`` returns the file's new text or raises ``PatchError``; it never
returns a half-patched text. The placement rules (``tools.patch`` documents them for users):

1. A hunk is looked for at its stated line, shifted by what the earlier hunks of the file added
   or removed and by how far from its own stated line the previous hunk was found (GNU patch's
   habit: a model's line numbers tend to be off by the same amount all through a file).
2. Exact comparison of its context and removed lines, nearest offset first, over the whole file
   after the previous hunk; two matches at the same distance are ambiguous.
3. The same with trailing whitespace ignored.
4. Indentation ignored as well, only if exactly one place matches and the indentation differs by
   one consistent amount; the added lines are then re-indented by that amount.
5. Fuzz: up to 1, then up to 2, context lines dropped from each end (never a removed line), with
   trailing whitespace ignored, then indentation too; only if exactly one place matches.

Context and removed lines are matched ignoring their line ending; the kept context lines are the
file's own (with their endings); added lines take the file's dominant line ending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codeagent.errors import PatchError

_SHOWN_LINES = 8
"""How many of a failed hunk's lines an error message quotes."""


@dataclass(frozen=True, slots=True)
class HunkLine:
    """One body line of a hunk."""

    kind: str
    """``" "`` context, ``"-"`` removed, ``"+"`` added."""
    text: str
    """Without its line ending."""
    crlf: bool = False
    """The patch line ended with ``\\r\\n``."""
    no_eol: bool = False
    """Followed by ``\\ No newline at end of file``: on its side(s) the file ends without one."""


@dataclass(frozen=True, slots=True)
class Hunk:
    """One ``@@`` section, its line counts recounted from the body."""

    header: str
    """The header as the patch wrote it (for messages)."""
    old_start: int
    """The stated first old line, 1-based (0 for an insertion at the top)."""
    anchored: bool
    """The header carried line numbers; a bare ``@@`` is placed by its content alone."""
    lines: tuple[HunkLine, ...]

    @property
    def old(self) -> list[str]:
        """The context and removed lines: what must be found in the file."""
        return [line.text for line in self.lines if line.kind != "+"]

    @property
    def added(self) -> int:
        return sum(line.kind == "+" for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.kind == "-" for line in self.lines)

    @property
    def stated_index(self) -> int:
        """0-based index of the first old line (an insertion: of the line it goes before)."""
        has_old = any(line.kind != "+" for line in self.lines)
        return max(self.old_start - 1 if has_old else self.old_start, 0)

    def edge_context(self) -> tuple[int, int]:
        """How many context lines lead and trail the hunk (the lines fuzz may drop)."""
        kinds = [line.kind for line in self.lines]
        lead = next((i for i, k in enumerate(kinds) if k != " "), len(kinds))
        trail = next((i for i, k in enumerate(reversed(kinds)) if k != " "), len(kinds))
        return lead, trail


@dataclass(frozen=True, slots=True)
class _Place:
    start: int
    """Index in the running text of the first kept old line."""
    lead: int
    """Leading context lines dropped by fuzz."""
    trail: int
    indent: tuple[str, str] = ("", "")
    """Indentation (removed from, added to) each added line when indentation was ignored."""


def _rstrip(line: str) -> str:
    return line.rstrip()


def _strip(line: str) -> str:
    return line.strip()


def content(line: str) -> str:
    """A file line without its line ending (``\\n`` or ``\\r\\n``)."""
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def split_lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` only (``str.splitlines`` also cuts at ``\\f``...)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _newline_of(lines: Sequence[str]) -> str | None:
    """The file's dominant line ending, or None when no line has one."""
    ended = sum(line.endswith("\n") for line in lines)
    if not ended:
        return None
    crlf = sum(line.endswith("\r\n") for line in lines)
    return "\r\n" if 2 * crlf > ended else "\n"


def _finds(keys: Sequence[str], want: Sequence[str], positions: range) -> list[int]:
    first, size = want[0], len(want)
    return [p for p in positions if keys[p] == first and keys[p : p + size] == want]


def _nearest(
    keys: Sequence[str], want: Sequence[str], expected: int, lo: int, hi: int
) -> list[int]:
    """Matches nearest to ``expected`` within [lo, hi]: none, one, or two equally near."""
    expected = min(max(expected, lo), hi)
    if _finds(keys, want, range(expected, expected + 1)):
        return [expected]
    found = _finds(keys, want, range(lo, hi + 1))
    if not found:
        return []
    distance = min(abs(p - expected) for p in found)
    return [p for p in found if abs(p - expected) == distance]


def _indent_shift(file_lines: Sequence[str], patch_lines: Sequence[str]) -> tuple[str, str] | None:
    """The one (remove, add) change of leading whitespace that turns each non-blank patch line's
    indentation into the file's, or None when the lines disagree."""
    shift: tuple[str, str] | None = None
    for theirs, ours in zip(file_lines, patch_lines, strict=True):
        if not theirs.strip():
            continue
        have = theirs[: len(theirs) - len(theirs.lstrip())]
        give = ours[: len(ours) - len(ours.lstrip())]
        common = 0
        while common < min(len(have), len(give)) and have[common] == give[common]:
            common += 1
        this = (give[common:], have[common:])
        if shift is not None and this != shift:
            return None
        shift = this
    return shift or ("", "")


class _Placer:
    """Finds where one hunk goes in the running text; ``place`` returns a ``_Place`` or the reason
    it found none (a sentence for the model)."""

    def __init__(self, texts: list[str], hunk: Hunk, expected: int, floor: int) -> None:
        self.texts, self.hunk, self.expected, self.floor = texts, hunk, expected, floor
        self.old = hunk.old
        self.keyed: dict[Callable[[str], str], list[str]] = {}
        self.uneven: str | None = None
        """Set when a place matched only with uneven indentation (reported if nothing fits)."""

    def keys(self, key: Callable[[str], str]) -> list[str]:
        if key not in self.keyed:
            self.keyed[key] = [key(text) for text in self.texts]
        return self.keyed[key]

    def place(self) -> _Place | str | None:
        """Where the hunk goes, why it cannot go anywhere (str), or None: nothing matched."""
        if not self.old:
            return self._insertion()
        for key, nearest in ((None, True), (_rstrip, True), (_strip, False)):
            found = self._search(key, 0, 0, nearest=nearest and self.hunk.anchored)
            if found is not None:
                return found
        lead, trail = self.hunk.edge_context()
        for fuzz in (1, 2):
            variants = [
                (a, b)
                for a in range(min(fuzz, lead) + 1)
                for b in range(min(fuzz, trail) + 1)
                if max(a, b) == fuzz and a + b < len(self.old)
            ]
            for key in (_rstrip, _strip):
                found = self._fuzzy(key, variants)
                if found is not None:
                    return found
        return None

    def _insertion(self) -> _Place | str:
        if not self.hunk.anchored and self.texts:
            return "it has no context or removed lines and no line numbers to place it by"
        where = min(max(self.expected, self.floor), len(self.texts))
        return _Place(where, 0, 0)

    def _search(
        self, key: Callable[[str], str] | None, lead: int, trail: int, *, nearest: bool
    ) -> _Place | str | None:
        want = self.old[lead : len(self.old) - trail]
        keys = self.texts if key is None else self.keys(key)
        if key is not None:
            want = [key(line) for line in want]
        hi = len(keys) - len(want)
        if hi < self.floor:
            return None
        if nearest:
            found = _nearest(keys, want, self.expected + lead, self.floor, hi)
        else:
            found = _finds(keys, want, range(self.floor, hi + 1))
        if len(found) > 1:
            return self._ambiguous(found)
        return self._placed(found[0], lead, trail, key) if found else None

    def _fuzzy(
        self, key: Callable[[str], str], variants: list[tuple[int, int]]
    ) -> _Place | str | None:
        """A unique place with up to ``fuzz`` edge context lines dropped; places that differ only
        in which lines were dropped are one place."""
        by_anchor: dict[int, _Place] = {}
        for lead, trail in sorted(variants, key=sum):
            want = [key(line) for line in self.old[lead : len(self.old) - trail]]
            keys = self.keys(key)
            for p in _finds(keys, want, range(self.floor, len(keys) - len(want) + 1)):
                placed = self._placed(p, lead, trail, key)
                if placed is not None:
                    by_anchor.setdefault(p - lead, placed)
        if not by_anchor:
            return None
        if len(by_anchor) > 1:
            return self._ambiguous(sorted(by_anchor))
        return next(iter(by_anchor.values()))

    def _placed(
        self, start: int, lead: int, trail: int, key: Callable[[str], str] | None
    ) -> _Place | None:
        """The place, with the indentation shift when indentation was ignored; None (and a
        note) when the indentation differs unevenly, which would corrupt Python."""
        if key is not _strip:
            return _Place(start, lead, trail)
        kept = self.old[lead : len(self.old) - trail]
        shift = _indent_shift(self.texts[start : start + len(kept)], kept)
        if shift is None:
            self.uneven = (
                f"it matches at line {start + 1} only if indentation is ignored, and the "
                "indentation differs by different amounts on different lines"
            )
            return None
        return _Place(start, lead, trail, indent=shift)

    def _ambiguous(self, starts: Sequence[int]) -> str:
        lines = ", ".join(str(s + 1) for s in starts[:5])
        more = f" and {len(starts) - 5} more" if len(starts) > 5 else ""
        return (
            f"it matches equally well at lines {lines}{more}: add context lines (or fix the "
            "line numbers) so that it matches one place only"
        )

    def explain(self) -> str:
        """Why nothing matched: the hunk overlaps the previous one, or how the closest place
        differs."""
        if self.uneven:
            return self.uneven
        if self.floor:
            early = _finds(self.keys(_strip), [o.strip() for o in self.old], range(self.floor))
            if early:
                return (
                    f"it matches at line {early[-1] + 1}, which is not after the previous hunk "
                    f"(that one ends at line {self.floor}): hunks must be in file order and "
                    "must not overlap"
                )
        keys, want = self.keys(_strip), [o.strip() for o in self.old]
        nowhere = (
            "no place in the file has these lines, not even ignoring whitespace or with fuzz 2"
        )
        best, best_at = 0, self.floor
        for p in range(self.floor, len(keys)):
            hits = sum(keys[p + j] == want[j] for j in range(min(len(want), len(keys) - p)))
            nearer = abs(p - self.expected) < abs(best_at - self.expected)
            if hits > best or (hits == best and hits and nearer):
                best, best_at = hits, p
        if not best:
            after = f" after line {self.floor}" if self.floor else ""
            return f"{nowhere}; none of its lines is in the file{after}"
        at = next(
            (
                best_at + j
                for j, line in enumerate(want)
                if keys[best_at + j : best_at + j + 1] != [line]
            ),
            best_at,
        )
        have = repr(self.texts[at]) if at < len(keys) else "the end of the file"
        return (
            f"{nowhere}; the closest is line {best_at + 1} ({best} of its {len(want)} lines "
            f"match), where line {at + 1} is {have} but the hunk has {self.old[at - best_at]!r}"
        )


def _reindent(text: str, shift: tuple[str, str]) -> str | None:
    remove, add = shift
    if not text.strip() or shift == ("", ""):
        return text
    indent = text[: len(text) - len(text.lstrip())]
    if not indent.startswith(remove):
        return None
    return add + text[len(remove) :]


def _failure(path: str, number: int, count: int, hunk: Hunk, why: str) -> PatchError:
    body = [line for line in hunk.lines if line.kind != "+"][:_SHOWN_LINES]
    shown = "\n".join(f"    {line.kind}{line.text}" for line in body)
    more = "\n    ..." if len(hunk.old) > _SHOWN_LINES else ""
    return PatchError(
        f"{path}: hunk {number} of {count} ({hunk.header}) does not apply: {why}.\n"
        f"It looks for these lines (' ' context, '-' removed):\n{shown}{more}"
    )


def apply_hunks(path: str, text: str, hunks: Sequence[Hunk]) -> str:
    """``text`` with ``hunks`` applied in order, or ``PatchError`` naming the first hunk that
    does not fit (``path`` is only for the message)."""
    lines = split_lines(text)
    texts = [content(line) for line in lines]
    newline = _newline_of(lines)
    shift, floor = 0, 0
    for number, hunk in enumerate(hunks, 1):
        expected = hunk.stated_index + shift
        placer = _Placer(texts, hunk, expected, floor)
        placed = placer.place()
        if not isinstance(placed, _Place):
            why = placed or placer.explain()
            raise _failure(path, number, len(hunks), hunk, why)
        end, new_lines = _replacement(lines, placed, hunk, newline)
        if isinstance(new_lines, str):
            raise _failure(path, number, len(hunks), hunk, new_lines)
        lines[placed.start : end] = new_lines
        texts[placed.start : end] = [content(line) for line in new_lines]
        anchor = placed.start - placed.lead
        moved = hunk.added - hunk.removed
        shift = (anchor - hunk.stated_index if hunk.anchored else shift) + moved
        floor = placed.start + len(new_lines)
    fallback = newline or "\n"
    for i in range(len(lines) - 1):
        if not lines[i].endswith("\n"):
            lines[i] += fallback  # a line that ended the file no longer does
    return "".join(lines)


def _replacement(
    lines: Sequence[str], placed: _Place, hunk: Hunk, newline: str | None
) -> tuple[int, list[str] | str]:
    """Where the placed hunk's old lines end in ``lines``, and what replaces them (or why it
    cannot be re-indented)."""
    body = hunk.lines[placed.lead : len(hunk.lines) - placed.trail]
    at, out = placed.start, []
    for line in body:
        if line.kind == " ":
            out.append(lines[at])
        if line.kind != "+":
            at += 1
            continue
        text = _reindent(line.text, placed.indent)
        if text is None:
            return at, (
                f"its added line {line.text!r} is indented less than the "
                f"{len(placed.indent[0])} characters the file's indentation differs by"
            )
        ending = "" if line.no_eol else newline or ("\r\n" if line.crlf else "\n")
        out.append(text + ending)
    return at, out
