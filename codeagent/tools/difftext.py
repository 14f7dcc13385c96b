"""A model's diff text: found in its answer and tidied so that ``unidiff`` reads what it meant.

The lenient front end of ``tools.patch``; pure. ``find_diff(text)`` picks the diff out of a
model's answer; ``canonical(text)`` rewrites a diff as text that ``unidiff.PatchSet`` parses the
way the model meant it, or raises ``PatchError`` saying what is malformed. Tolerated (models get
diffs slightly wrong):

- ``diff --git`` headers with or without ``---``/``+++`` lines; several files; several hunks per
  file; ``\\ No newline at end of file`` (in any language).
- Hunk line counts are recounted from the body: a header's counts only decide where the body ends
  when they fit it. A hunk body ends at the next ``@@``, file header or line that is not a hunk
  line; blank lines inside it are context lines that lost their leading space; blank lines at its
  end are separators. A bare ``@@`` (no line numbers) is placed by its content alone.
- Prose and blank lines between files are ignored; a ``+``/``-``/`` `` line outside any hunk is an
  error (it would otherwise be a change silently dropped). A whole patch fenced in ```` ``` ````
  is unwrapped.

Refused here: copies, binary patches, symlinks, submodules and combined (merge) diffs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from codeagent.errors import PatchError
from codeagent.tools.hunks import content, split_lines

NO_NEWLINE = "\\ No newline at end of file\n"
"""The line that marks a missing final newline, in the English that ``unidiff`` expects."""
_HUNK_HEADER = re.compile(r"^@@+\s*-(\d+)(?:,(\d+))?\s+\+(\d+)(?:,(\d+))?\s*(?:@@+ ?(.*))?$")
_GIT_EXTENDED = re.compile(
    r"^(old mode|new mode|deleted file mode|new file mode|similarity index|dissimilarity index"
    r"|rename from|rename to|copy from|copy to|index) "
)
_UNSUPPORTED_MODES = {"120000": "symlinks", "160000": "submodules"}
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_DIFF_LANGUAGES = {"diff", "patch", "udiff"}
_DIFF_LINE = re.compile(
    r"^(diff |--- |\+\+\+ |@@|index |new file mode|deleted file mode|old mode|new mode"
    r"|similarity index|dissimilarity index|rename from|rename to|copy from|copy to|[ +\-\\]|$)"
)


def find_diff(text: str) -> str | None:
    """The unified diff in a model's answer: the ```` ```diff ```` / ```` ```patch ```` fenced
    blocks (joined), else a fenced block that holds a diff, else a bare diff from its first
    ``diff --git`` or ``---``/``+++`` pair to its last diff-like line; None if there is none."""
    blocks = list(_fenced_blocks(text))
    tagged = [body for language, body in blocks if language in _DIFF_LANGUAGES]
    if tagged:
        return "".join(tagged)
    for _, body in blocks:
        if (found := _bare_diff(body)) is not None:
            return found
    return _bare_diff(text)


def _fenced_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(language, body) of each fenced block; a closing fence is indented no more than its
    opening one, so a diff's `` ``` `` context line does not close it."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        i += 1
        if opening is None:
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        language = (opening["info"].split() or [""])[0].lower()
        body: list[str] = []
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (
                closing
                and closing["fence"].startswith(fence)
                and len(closing["indent"]) <= indent
                and not closing["info"].strip()
            ):
                break
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            i += 1
        i += 1
        yield language, "".join(f"{line}\n" for line in body)


def _bare_diff(text: str) -> str | None:
    lines = text.split("\n")
    start = next((i for i in range(len(lines)) if _starts_file(lines, i)), None)
    if start is None:
        return None
    end = start
    while end < len(lines) and _DIFF_LINE.match(lines[end]):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "".join(f"{line}\n" for line in lines[start:end])


def _starts_file(lines: list[str], i: int) -> bool:
    """A file header starts at ``lines[i]``: ``diff --git`` or a ``---``/``+++`` pair."""
    if i >= len(lines):
        return False
    line = lines[i]
    if line.startswith("diff --git "):
        return True
    return line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def canonical(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """``text`` rewritten so that ``unidiff`` parses what a model meant: hunk headers recounted,
    blank context lines given their space, markers in English, prose dropped, ``diff --git``
    blocks turned into ``---``/``+++`` lines (``unidiff`` would let a ``diff --git`` line
    override a ``--- /dev/null`` that follows it). Also each hunk's (original header, has line
    numbers), in order. A patch that is all one fenced block is unwrapped first."""
    if text.lstrip().startswith(("```", "~~~")):
        text = find_diff(text) or text
    lines = split_lines(text if text.endswith("\n") else text + "\n")
    bare = [content(line) for line in lines]
    out: list[str] = []
    metas: list[tuple[str, bool]] = []
    in_file = False
    i = 0
    while i < len(lines):
        line = bare[i]
        if line.startswith("diff --git "):
            i = _git_block(lines, bare, i, out)
            in_file = True
        elif _starts_file(bare, i):
            out += lines[i : i + 2]
            i, in_file = i + 2, True
        elif line.startswith("@@@"):
            raise PatchError(f"combined (merge) diffs are not supported: {line!r}")
        elif line.startswith("@@"):
            if not in_file:
                raise PatchError(
                    f"hunk {line!r} comes before any '--- a/PATH' / '+++ b/PATH' header"
                )
            i = _hunk(lines, bare, i, out, metas)
        elif line.startswith(("Binary files ", "GIT binary patch")):
            raise PatchError(f"binary patches are not supported: {line!r}")
        elif in_file and _is_hunk_line(bare, i) and line.strip(" "):
            raise PatchError(
                f"line {i + 1} ({line!r}) is outside any hunk: every change must follow an "
                "'@@ -LINE,COUNT +LINE,COUNT @@' header"
            )
        else:
            i += 1  # prose, separators, other tools' headers
    return "".join(out), metas


def _git_block(lines: list[str], bare: list[str], i: int, out: list[str]) -> int:
    """Drop a ``diff --git`` block followed by ``---``/``+++`` lines; turn one without them (a
    pure rename, an empty new or deleted file, or a model that left them out) into them."""
    end = i + 1
    while end < len(lines) and _GIT_EXTENDED.match(bare[end]):
        words = bare[end].split()
        if words[0] == "copy":
            raise PatchError(f"copies are not supported: {bare[end]!r}")
        if words[-1] in _UNSUPPORTED_MODES:
            raise PatchError(f"{_UNSUPPORTED_MODES[words[-1]]} are not supported: {bare[end]!r}")
        end += 1
    if _starts_file(bare, end):
        return end
    try:
        (header,) = PatchSet("".join(f"{line}\n" for line in bare[i:end]))
    except (UnidiffParseError, ValueError):
        raise PatchError(f"cannot read the file names in {bare[i]!r}") from None
    out += [f"--- {header.source_file}\n", f"+++ {header.target_file}\n"]
    return end


def _is_hunk_line(bare: list[str], i: int) -> bool:
    """``bare[i]`` can be a line of a hunk body (a blank one included), not a file header."""
    line = bare[i]
    if line.startswith("--- ") and _starts_file(bare, i):
        return False
    if line == "---":
        return False  # a Markdown rule after the diff (a removed "--" line is rarer)
    return not line or line[0] in " +-\\"


def _hunk(
    lines: list[str], bare: list[str], i: int, out: list[str], metas: list[tuple[str, bool]]
) -> int:
    header = _HUNK_HEADER.match(bare[i])
    counts = None
    if header is not None:
        counts = (int(header[2] or 1), int(header[4] or 1))
    end = _counted_end(lines, bare, i + 1, counts) if counts else None
    if end is None:
        end = _scanned_end(bare, i + 1)
    body = [_canonical_line(lines[j], bare[j]) for j in range(i + 1, end)]
    old = sum(line[0] in " -" for line in body)
    new = sum(line[0] in " +" for line in body)
    if not old and not new:
        raise PatchError(f"hunk {bare[i]!r} has no lines")
    starts = (int(header[1]), int(header[3])) if header else (int(old > 0), int(new > 0))
    section = f" {header[5]}" if header and header[5] else ""
    out.append(f"@@ -{starts[0]},{old} +{starts[1]},{new} @@{section}\n")
    out += body
    metas.append((bare[i], header is not None))
    return end


def _counted_end(lines: list[str], bare: list[str], j: int, counts: tuple[int, int]) -> int | None:
    """Where the body ends by the header's counts, or None if the counts do not fit it. Counts
    that fit are trusted even over a ``--- ``/``+++ `` pair (a removed ``-- x`` and an added
    ``++ y``): a diff tool's counts are right, and a model's wrong ones fail safely there."""
    old, new = counts
    while old > 0 or new > 0:
        if j >= len(lines):
            return None
        line = bare[j]
        kind = line[0] if line else " "
        if kind not in " +-\\":
            return None
        old -= kind in " -"
        new -= kind in " +"
        if old < 0 or new < 0:
            return None
        j += 1
    if j < len(bare) and bare[j].startswith("\\"):
        j += 1
    after = j
    while after < len(bare) and not bare[after]:
        after += 1
    if after < len(bare) and _is_hunk_line(bare, after):
        return None  # more hunk lines follow: the counts are short
    return j


def _scanned_end(bare: list[str], j: int) -> int:
    start = j
    while j < len(bare) and _is_hunk_line(bare, j):
        j += 1
    while j > start and not bare[j - 1]:
        j -= 1  # trailing blank lines separate, they are not context
    return j


def _canonical_line(line: str, bare: str) -> str:
    if not bare:
        return " " + line
    if bare.startswith("\\"):
        return NO_NEWLINE
    return line
