"""Unified diffs: parsed, checked and applied all or nothing; made; found in a model's answer.

Pure: no I/O. ``apply_patch(text, read)`` asks ``read(path)`` for each file's current text (None:
no such file) and returns every file's whole new text, or raises ``PatchError`` and returns
nothing. Its message names the file, the hunk (header and the lines it looked for) and why, for a
model to correct its diff.

What a patch may look like (models get diffs slightly wrong; these are tolerated):

- ``--- a/path`` / ``+++ b/path`` (git's prefixes are stripped: ``a/`` from the old side and
  ``b/`` from the new, unless both sides carry the same one, which is then a directory) or
  ``--- path`` / ``+++ path``; ``diff --git`` headers with or without them; several files; several
  hunks per file; ``\\ No newline at end of file`` (in any language).
- ``--- /dev/null`` creates a file (it must not exist); ``+++ /dev/null`` deletes one (its hunks,
  if any, must remove every line); different old and new paths rename (the new path must not
  exist; the caller removes ``FileChange.old_path``). Copies, binary patches, symlinks and
  submodules are refused. A path may appear in several sections, applied in order, unless it takes
  part in a rename.
- Hunk line counts are recounted from the body: a header's counts only decide where the body ends
  when they fit it. A hunk body ends at the next ``@@``, file header or line that is not a hunk
  line; blank lines inside it are context lines that lost their leading space; blank lines at its
  end are separators. A bare ``@@`` (no line numbers) is placed by its content alone.
- Prose and blank lines between files are ignored; a ``+``/``-``/`` `` line outside any hunk is an
  error (it would otherwise be a change silently dropped). A whole patch fenced in ```` ``` ````
  is unwrapped.
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
from codeagent.tools.hunks import Hunk, HunkLine, apply_hunks, content, split_lines

DEV_NULL = "/dev/null"
_NO_NEWLINE = "\\ No newline at end of file\n"
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
    if text.lstrip().startswith(("```", "~~~")):
        text = find_diff(text) or text
    canonical, hunk_meta = _canonical(text)
    try:
        patch_set = PatchSet(canonical)
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
    lines = difflib.unified_diff(
        split_lines(old or ""),
        split_lines(new or ""),
        DEV_NULL if old is None else f"a/{path}",
        DEV_NULL if new is None else f"b/{path}",
        n=context,
        lineterm="\n",
    )
    out.extend(line if line.endswith("\n") else f"{line}\n{_NO_NEWLINE}" for line in lines)
    return "".join(out)


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


# --- the lenient front end: canonical text for unidiff, with recounted hunks -------------------


def _canonical(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """``text`` rewritten so that ``unidiff`` parses what a model meant: hunk headers recounted,
    blank context lines given their space, markers in English, prose dropped, ``diff --git``
    blocks turned into ``---``/``+++`` lines (``unidiff`` would let a ``diff --git`` line
    override a ``--- /dev/null`` that follows it). Also each hunk's (original header, has line
    numbers), in order."""
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
        return _NO_NEWLINE
    return line


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
