"""Unified diffs: parsed, checked and applied all or nothing; made.

Pure: no I/O. ``apply_patch(text, read)`` asks ``read(path)`` for each file's current text (None:
no such file) and returns every file's whole new text, or raises ``PatchError`` and returns
nothing. Its message names the file, the hunk (header and the lines it looked for) and why, for a
model to correct its diff.

What a patch may look like (models get diffs slightly wrong: ``tools.difftext`` tidies the text
first and says what else it tolerates; its ``find_diff``, which finds the diff in a model's
answer, is importable from here too):

- ``--- a/path`` / ``+++ b/path`` (git's prefixes are stripped: ``a/`` from the old side and
  ``b/`` from the new, unless both sides carry the same one, which is then a directory) or
  ``--- path`` / ``+++ path``; git's C-style quoted names are unquoted.
- ``--- /dev/null`` creates a file (it must not exist); ``+++ /dev/null`` deletes one (its hunks,
  if any, must remove every line); different old and new paths rename (the new path must not
  exist; the caller removes ``FileChange.old_path``). A path may appear in several sections,
  applied in order, unless it takes part in a rename.
- Paths are relative with ``/`` separators; absolute paths, ``..``, ``.git``, backslashes and
  control characters are refused (``check_path``).

Where a hunk goes (``tools.hunks``): at its stated line (shifted by the earlier hunks), else the
nearest exact match anywhere after the previous hunk, else the same ignoring trailing whitespace,
else ignoring indentation (unique match only; added lines are re-indented by the difference),
else fuzz: up to 2 context lines dropped at each end (unique match only). Removed lines always
match, modulo whitespace. Ambiguous places, overlapping or out-of-order hunks are errors. The
file's line endings are kept: matching ignores them and added lines take the file's dominant one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as UnidiffHunk
from unidiff.patch import PatchedFile, PatchSet

from codeagent.errors import PatchError
from codeagent.tools.difftext import NO_NEWLINE, canonical, find_diff
from codeagent.tools.hunks import Hunk, HunkLine, apply_hunks, split_lines

__all__ = [
    "DEV_NULL",
    "FileChange",
    "FilePatch",
    "apply_patch",
    "check_path",
    "find_diff",
    "parse_patch",
    "unified_diff",
]

DEV_NULL = "/dev/null"
_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)|([^\\]+)", re.DOTALL)
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}


@dataclass(frozen=True, slots=True)
class FileChange:
    """What a patch makes of one file."""

    path: str
    """Relative, ``/`` separators: the new path (the old one for a deletion)."""
    old_path: str | None
    """For a rename, the path the file had (the caller removes it); otherwise None."""
    new_text: str | None
    """The file's whole new text; None when the patch deletes the file."""
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class FilePatch:
    """One file's section of a parsed patch."""

    old_path: str | None
    """None: the patch creates the file."""
    new_path: str | None
    """None: the patch deletes the file."""
    hunks: tuple[Hunk, ...]

    @property
    def path(self) -> str:
        """The path the file ends up at (the old one for a deletion)."""
        path = self.new_path or self.old_path
        assert path is not None  # parse_patch refuses /dev/null on both sides
        return path

    @property
    def is_rename(self) -> bool:
        return None not in (self.old_path, self.new_path) and self.old_path != self.new_path


def check_path(path: str) -> str:
    """``path`` normalised (``./`` and doubled ``/`` removed), or ``PatchError`` if it could
    leave the work copy or touch git's own files."""
    if not path:
        raise PatchError("a file path in the patch is empty")
    why = None
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        why = "it contains a control character"
    elif "\\" in path:
        why = "it contains a backslash; use '/' separators"
    elif path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        why = "it is absolute; paths are relative to the repository root"
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if why is None and ".." in parts:
        why = "it has a '..' component"
    elif why is None and any(part.lower() == ".git" for part in parts):
        why = "it is inside .git"
    elif why is None and not parts:
        why = "it names no file"
    if why is not None:
        raise PatchError(f"refusing path {path!r}: {why}")
    return "/".join(parts)


def parse_patch(text: str) -> list[FilePatch]:
    """The files and hunks of a unified diff (see the module docstring for what is tolerated),
    or ``PatchError`` saying what is malformed."""
    text, hunk_meta = canonical(text)
    try:
        patch_set = PatchSet(text)
    except UnidiffParseError as error:
        raise PatchError(f"malformed patch: {error}") from None
    if not patch_set:
        raise PatchError(
            "no file changes found: a patch needs '--- a/PATH' and '+++ b/PATH' lines, each "
            "followed by hunks that start with '@@ -LINE,COUNT +LINE,COUNT @@'"
        )
    metas = iter(hunk_meta)
    return [_file_patch(patched, metas) for patched in patch_set]


def apply_patch(text: str, read: Callable[[str], str | None]) -> list[FileChange]:
    """Every file's new text after ``text``, all or nothing. ``read(path)`` gives a file's
    current text or None if it does not exist; it is called at most once per path."""
    patches = parse_patch(text)
    _refuse_rename_reuse(patches)
    state: dict[str, str | None] = {}
    renamed: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}

    def current(path: str) -> str | None:
        if path not in state:
            state[path] = read(path)
        return state[path]

    for patch in patches:
        new_text = _apply_one(patch, current)
        if patch.old_path is not None and patch.old_path != patch.new_path:
            state[patch.old_path] = None
        if patch.new_path is not None:
            state[patch.new_path] = new_text
        if patch.is_rename:
            renamed[patch.path] = str(patch.old_path)
        added, removed = counts.get(patch.path, (0, 0))
        hunks = patch.hunks
        counts[patch.path] = (
            added + sum(h.added for h in hunks),
            removed + sum(h.removed for h in hunks),
        )
    return [
        FileChange(path, renamed.get(path), state[path], added, removed)
        for path, (added, removed) in counts.items()
    ]


def _apply_one(patch: FilePatch, current: Callable[[str], str | None]) -> str:
    """The new text of one section's file (the deleted text's remains, for a deletion)."""
    if patch.old_path is None:
        if current(patch.path) is not None:
            raise PatchError(f"{patch.path}: the patch creates it, but it already exists")
        return apply_hunks(patch.path, "", patch.hunks)
    old = current(patch.old_path)
    if old is None:
        raise PatchError(f"{patch.old_path}: the patch changes it, but there is no such file")
    if patch.is_rename and current(patch.path) is not None:
        raise PatchError(f"{patch.old_path}: the patch renames it to {patch.path}, which exists")
    new = apply_hunks(patch.old_path, old, patch.hunks)
    if patch.new_path is None and patch.hunks and new:
        left = len(split_lines(new))
        raise PatchError(
            f"{patch.old_path}: the patch deletes it, but its hunks leave {left} line(s) of it: "
            "a deletion must remove every line (or have no hunks)"
        )
    return new


def _refuse_rename_reuse(patches: list[FilePatch]) -> None:
    seen: dict[str, int] = {}
    for patch in patches:
        for path in {patch.old_path, patch.new_path} - {None}:
            seen[str(path)] = seen.get(str(path), 0) + 1
    for patch in patches:
        if patch.is_rename and max(seen[str(patch.old_path)], seen[patch.path]) > 1:
            raise PatchError(
                f"{patch.old_path} -> {patch.path}: a renamed file may appear only once in a patch"
            )


def unified_diff(path: str, old: str | None, new: str | None, *, context: int = 3) -> str:
    """A git-style diff (``diff --git a/PATH b/PATH``) from ``old`` to ``new``; "" when equal.

    None means the file does not exist: ``old`` None creates it (``--- /dev/null``, ``new file
    mode 100644``), ``new`` None deletes it; "" is an existing empty file. A missing final newline
    gets ``\\ No newline at end of file``. ``apply_patch`` of the result reproduces ``new``.
    ``PatchError`` for a path that ``check_path`` refuses.
    """
    if old == new:
        return ""
    path = check_path(path)
    out = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        out.append("new file mode 100644\n")
    elif new is None:
        out.append("deleted file mode 100644\n")
    a, b = split_lines(old or ""), split_lines(new or "")
    # Only the changed window goes to difflib (its matcher is quadratic in the worst case and
    # slow on whole files); hunk headers are shifted back by the lines left out in front.
    skip = _common_prefix(a, b)
    tail = _common_prefix(a[skip:][::-1], b[skip:][::-1])
    start = max(0, skip - context)
    lines = difflib.unified_diff(
        a[start : max(start, len(a) - tail + context)],
        b[start : max(start, len(b) - tail + context)],
        DEV_NULL if old is None else f"a/{path}",
        DEV_NULL if new is None else f"b/{path}",
        n=context,
        lineterm="\n",
    )
    for line in lines:
        text = (
            _HUNK_HEADER.sub(lambda m: _shifted(m, start), line)
            if start and line[:2] == "@@"
            else line
        )
        out.append(text if text.endswith("\n") else f"{text}\n{NO_NEWLINE}")
    return "".join(out)


_HUNK_HEADER = re.compile(r"([-+])(\d+)(,\d+)?")


def _shifted(match: re.Match[str], by: int) -> str:
    """``-12,4`` read in a window that starts ``by`` lines in: ``-(12 + by),4`` (an empty range
    names the line before it, and shifts the same)."""
    return f"{match.group(1)}{int(match.group(2)) + by}{match.group(3) or ''}"


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# --- from unidiff's objects to ours ------------------------------------------------------------


def _file_patch(patched: PatchedFile, metas: Iterator[tuple[str, bool]]) -> FilePatch:
    old_path, new_path = _paths(patched.source_file, patched.target_file)
    hunks = tuple(_hunk_of(hunk, *next(metas)) for hunk in patched)
    label = new_path or old_path
    if old_path is None and new_path is None:
        raise PatchError("a file section has /dev/null on both sides")
    if not hunks and old_path == new_path:
        raise PatchError(
            f"{label}: no hunks; each change needs an '@@ -LINE,COUNT +LINE,COUNT @@' header "
            "followed by its ' ', '-' and '+' lines"
        )
    return FilePatch(old_path, new_path, hunks)


def _hunk_of(hunk: UnidiffHunk, header: str, anchored: bool) -> Hunk:
    lines: list[HunkLine] = []
    for line in hunk:
        if line.line_type == "\\" and lines:
            lines[-1] = HunkLine(lines[-1].kind, lines[-1].text, lines[-1].crlf, no_eol=True)
        elif line.line_type in (" ", "-", "+"):
            value = line.value[:-1] if line.value.endswith("\n") else line.value
            crlf = value.endswith("\r")
            lines.append(HunkLine(line.line_type, value[:-1] if crlf else value, crlf))
    return Hunk(header, hunk.source_start, anchored, tuple(lines))


def _paths(source: str, target: str) -> tuple[str | None, str | None]:
    """Old and new path from the header names: unquoted, git's a/ b/ stripped, checked."""
    old, new = _unquote(source.strip()), _unquote(target.strip())
    old_prefixed = old is not None and old.startswith("a/") and not (new or "").startswith("a/")
    new_prefixed = new is not None and new.startswith("b/") and not (old or "").startswith("b/")
    if old is not None:
        old = check_path(old[2:] if old_prefixed else old)
    if new is not None:
        new = check_path(new[2:] if new_prefixed else new)
    return old, new


def _unquote(name: str) -> str | None:
    """A header's file name: None for /dev/null; git's C-style quoting undone."""
    if name == DEV_NULL:
        return None
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    raw = bytearray()
    for match in _ESCAPE.finditer(name[1:-1]):
        escape, plain = match[1], match[2]
        if plain is not None:
            raw += plain.encode()
        elif escape[0] in "01234567":
            raw.append(int(escape, 8) & 0xFF)
        else:
            raw += _ESCAPES.get(escape, escape).encode()
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise PatchError(f"file name {name} is not UTF-8") from None
