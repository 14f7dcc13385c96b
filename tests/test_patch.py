"""Unified diffs: made, parsed, checked and applied all or nothing (codeagent.tools.patch).

Round trips run over a deterministic generator of varied edits (hypothesis is not installed);
git itself checks that our diffs are what it would accept and that its diffs apply here.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from codeagent.errors import PatchError
from codeagent.tools.patch import (
    FileChange,
    apply_patch,
    check_path,
    find_diff,
    parse_patch,
    unified_diff,
)

# Lines chosen to trip a diff parser: blank and blank-looking, lines that look like headers,
# markers or hunk headers once a '+', '-' or ' ' is put in front, repeats.
VOCABULARY = [
    "def f(x):",
    "    return x",
    "    return x + 1",
    "",
    "    ",
    "x = 1",
    "-- a removed line looks like a header",
    "++ an added line too",
    "@@ -1,2 +1,2 @@",
    "\\ No newline at end of file",
    "    if x:",
    "        pass",
    "class A:",
    "# comment",
    "trailing   ",
    "\tindented with a tab",
    "```",
]


def files(mapping: dict[str, str]) -> Callable[[str], str | None]:
    """A reader over ``mapping`` that fails the test if a path is read twice."""
    seen: set[str] = set()

    def read(path: str) -> str | None:
        assert path not in seen, f"{path} read twice"
        seen.add(path)
        return mapping.get(path)

    return read


def applied(patch: str, mapping: dict[str, str]) -> dict[str, str | None]:
    return {change.path: change.new_text for change in apply_patch(patch, files(mapping))}


def random_lines(rng: random.Random) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(rng.randint(0, 30))]


def edited(rng: random.Random, lines: list[str]) -> list[str]:
    lines = list(lines)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(lines))
        action = rng.choice(["insert", "delete", "replace"])
        if action == "insert" or not lines[at:]:
            lines[at:at] = [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 3))]
        elif action == "delete":
            del lines[at : at + rng.randint(1, 3)]
        else:
            lines[at] = rng.choice(VOCABULARY)
    return lines


def joined(rng: random.Random, lines: list[str], newline: str) -> str:
    text = "".join(line + newline for line in lines)
    if lines and rng.random() < 0.3:
        text = text[: -len(newline)]  # no newline at end of file
    return text


def pairs(count: int) -> list[tuple[str, str, int]]:
    rng = random.Random(20240607)
    out = []
    for _ in range(count):
        newline = rng.choice(["\n", "\n", "\r\n"])
        old = random_lines(rng)
        new = edited(rng, old)
        out.append((joined(rng, old, newline), joined(rng, new, newline), rng.choice([0, 1, 3])))
    return out


ROUND_TRIPS = pairs(400)


def test_round_trip_reproduces_the_new_text_for_varied_edits() -> None:
    differing = 0
    for old, new, context in ROUND_TRIPS:
        patch = unified_diff("pkg/mod.py", old, new, context=context)
        if old == new:
            assert patch == ""
            continue
        differing += 1
        assert applied(patch, {"pkg/mod.py": old}) == {"pkg/mod.py": new}, patch
    assert differing > 350


def test_round_trip_of_several_files_in_one_patch() -> None:
    (a_old, a_new, _), (b_old, b_new, _) = ROUND_TRIPS[1], ROUND_TRIPS[2]
    assert a_old != a_new
    assert b_old != b_new
    patch = unified_diff("a.py", a_old, a_new) + unified_diff("sub/b.py", b_old, b_new)
    result = applied(patch, {"a.py": a_old, "sub/b.py": b_old})
    assert result == {"a.py": a_new, "sub/b.py": b_new}


@pytest.mark.parametrize(
    ("old", "new"),
    [(None, "x = 1\n"), (None, "no newline"), (None, ""), ("x = 1\n", None), ("", None)],
)
def test_round_trip_of_created_and_deleted_files(old: str | None, new: str | None) -> None:
    patch = unified_diff("m.py", old, new)
    (change,) = apply_patch(patch, files({} if old is None else {"m.py": old}))
    assert (change.path, change.old_path, change.new_text) == ("m.py", None, new)


def test_unified_diff_writes_git_headers_and_the_no_newline_marker() -> None:
    assert unified_diff("m.py", "same\n", "same\n") == ""
    assert unified_diff("m.py", "a\nb\n", "a\nc") == (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
        "\\ No newline at end of file\n"
    )
    assert unified_diff("m.py", None, "a\n") == (
        "diff --git a/m.py b/m.py\nnew file mode 100644\n--- /dev/null\n+++ b/m.py\n"
        "@@ -0,0 +1 @@\n+a\n"
    )
    assert unified_diff("m.py", "a\n", None).startswith(
        "diff --git a/m.py b/m.py\ndeleted file mode 100644\n--- a/m.py\n+++ /dev/null\n"
    )


SOURCE = "".join(f"line {n}\n" for n in range(1, 41))


def test_a_hunk_is_found_when_lines_were_added_above_it() -> None:
    new = SOURCE.replace("line 30\n", "line thirty\n")
    patch = unified_diff("m.py", SOURCE, new)
    moved = "".join(f"extra {n}\n" for n in range(7)) + SOURCE
    assert applied(patch, {"m.py": moved}) == {"m.py": moved.replace("line 30\n", "line thirty\n")}


def test_the_nearest_of_several_exact_matches_wins_and_a_tie_is_refused() -> None:
    text = "a\nx\nb\n" * 3  # "x" on lines 2, 5 and 8
    patch = "--- a/m.py\n+++ b/m.py\n@@ -6,1 +6,1 @@\n-x\n+y\n"  # stated line 6: nearest is 5
    assert applied(patch, {"m.py": text}) == {"m.py": "a\nx\nb\na\ny\nb\na\nx\nb\n"}
    tie = "--- a/m.py\n+++ b/m.py\n@@ -5,1 +5,1 @@\n-x\n+y\n"  # "x" on lines 2 and 8
    with pytest.raises(PatchError, match="equally well at lines 2, 8"):
        apply_patch(tie, files({"m.py": "a\nx\nb\nc\nd\ne\nf\nx\ng\n"}))


def test_wrong_header_counts_are_recounted_from_the_body() -> None:
    patch = (
        "--- a/m.py\n+++ b/m.py\n"
        "@@ -2,9 +2,1 @@\n line 2\n-line 3\n+line three\n line 4\n"  # counts too large
        "@@ -20,1 +20,1 @@\n line 20\n-line 21\n+line 21a\n+line 21b\n line 22\n"  # too small
    )
    expected = SOURCE.replace("line 3\n", "line three\n").replace(
        "line 21\n", "line 21a\nline 21b\n"
    )
    assert applied(patch, {"m.py": SOURCE}) == {"m.py": expected}
    assert [len(hunk.lines) for hunk in parse_patch(patch)[0].hunks] == [4, 5]


def test_blank_context_lines_that_lost_their_space_are_context() -> None:
    text = "def f():\n    a = 1\n\n    return a\n"
    patch = (
        "--- a/m.py\n+++ b/m.py\n@@ -1,4 +1,4 @@\n def f():\n-    a = 1\n+    a = 2\n\n"
        "     return a\n"
    )
    assert applied(patch, {"m.py": text}) == {"m.py": text.replace("1", "2")}
    inside_short_counts = (
        "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def f():\n-    a = 1\n+    a = 2\n\n"
        "-    return a\n+    return -a\n"
    )
    result = applied(inside_short_counts, {"m.py": text})
    assert result == {"m.py": "def f():\n    a = 2\n\n    return -a\n"}


def test_trailing_whitespace_differences_are_tolerated_and_the_real_line_removed() -> None:
    text = "def f():   \n    return 1  \n\n"
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n"
    assert applied(patch, {"m.py": text}) == {"m.py": "def f():   \n    return 2\n\n"}


def test_indentation_differences_reindent_the_added_lines() -> None:
    text = "class A:\n    def f(self):\n        if x:\n            return 1\n        return 0\n"
    patch = (
        "--- a/m.py\n+++ b/m.py\n@@ -3,3 +3,4 @@\n"
        "     if x:\n-        return 1\n+        log()\n+        return 2\n     return 0\n"
    )  # the model's hunk is one level (4 spaces) less indented than the file
    result = applied(patch, {"m.py": text})["m.py"]
    assert result == (
        "class A:\n    def f(self):\n        if x:\n"
        "            log()\n            return 2\n        return 0\n"
    )


def test_an_indentation_only_match_must_be_unique() -> None:
    text = "def f():\n    return 1\n\ndef g():\n        return 1\n"
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1,1 +1,1 @@\n-  return 1\n+  return 2\n"
    with pytest.raises(PatchError, match="equally well at lines 2, 5"):
        apply_patch(patch, files({"m.py": text}))


def test_indentation_that_differs_by_different_amounts_is_refused() -> None:
    text = "if a:\n    x = 1\n    y = 2\n"
    removed = "-if a:\n-  x = 1\n-    y = 2\n"  # 0 and 2 columns off: no one shift
    patch = f"--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n{removed}+if a:\n+  x = 3\n+    y = 2\n"
    with pytest.raises(PatchError, match="differs by different amounts"):
        apply_patch(patch, files({"m.py": text}))


def test_an_added_line_that_cannot_be_reindented_is_refused() -> None:
    text = "def f():\n    return 1\n"
    patch = (
        "--- a/m.py\n+++ b/m.py\n@@ -2 +2,2 @@\n-        return 1\n+        return 2\n+top = 1\n"
    )
    with pytest.raises(PatchError, match="'top = 1' is indented less than"):
        apply_patch(patch, files({"m.py": text}))
    assert applied(patch.replace("+top", "+    top"), {"m.py": text}) == {
        "m.py": "def f():\n    return 2\ntop = 1\n"
    }


def test_git_quoted_file_names_are_unquoted() -> None:
    patch = (
        '--- "a/caf\\303\\251 \\"q\\".py"\n+++ "b/caf\\303\\251 \\"q\\".py"\n@@ -1 +1 @@\n-a\n+b\n'
    )
    assert applied(patch, {'café "q".py': "a\n"}) == {'café "q".py': "b\n"}


def test_fuzz_may_drop_an_edge_context_line_whose_indentation_is_off() -> None:
    text = "if a:\n    if b:\n        x = 1\n"
    patch = (
        "--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n if a:\n   if b:\n-      x = 1\n+      x = 2\n"
    )
    assert applied(patch, {"m.py": text}) == {"m.py": "if a:\n    if b:\n        x = 2\n"}


def test_line_numbers_off_by_the_same_amount_are_followed() -> None:
    text = "".join(f"l{n}\n" if n not in (22, 40) else "target\n" for n in range(1, 51))
    patch = (  # both hunks stated 10 lines too early; "target" is also 8 lines before hunk 2's
        "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-l11\n+L11\n@@ -30 +30 @@\n-target\n+TARGET\n"
    )
    lines = applied(patch, {"m.py": text})["m.py"]
    assert lines is not None
    assert lines.split("\n")[21:40:18] == ["target", "TARGET"]


def test_fuzz_drops_up_to_two_wrong_edge_context_lines_and_no_more() -> None:
    head = "--- a/m.py\n+++ b/m.py\n@@ -10,6 +10,6 @@\n WRONG\n wrong\n"
    tail = "-line 13\n+line 13!\n line 14\n line 15\n"
    result = applied(head + " line 12\n" + tail, {"m.py": SOURCE})
    assert result == {"m.py": SOURCE.replace("line 13\n", "line 13!\n")}
    with pytest.raises(PatchError, match="hunk 1 of 1"):  # three wrong lines at the top
        apply_patch(head + " Wrong\n" + tail, files({"m.py": SOURCE}))


def test_crlf_files_keep_their_line_endings() -> None:
    text = "a\r\nb\r\nc\r\n"
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n"
    assert applied(patch, {"m.py": text}) == {"m.py": "a\r\nB\r\nB2\r\nc\r\n"}


def test_no_newline_at_end_of_file() -> None:
    marked = "--- a/m.py\n+++ b/m.py\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n"
    assert applied(marked, {"m.py": "a"}) == {"m.py": "a\nb\n"}
    unmarked = "--- a/m.py\n+++ b/m.py\n@@ -1 +1,2 @@\n a\n+b\n"  # a model forgot the marker
    assert applied(unmarked, {"m.py": "a"}) == {"m.py": "a\nb\n"}
    localised = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b\n\\ Kein Zeilenumbruch am Dateiende.\n"
    assert applied(localised, {"m.py": "a\n"}) == {"m.py": "b"}


def test_new_deleted_and_renamed_files() -> None:
    new = "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    assert apply_patch(new, files({})) == [FileChange("pkg/new.py", None, "a\nb\n", 2, 0)]
    with pytest.raises(PatchError, match="already exists"):
        apply_patch(new, files({"pkg/new.py": "x\n"}))
    gone = "--- a/old.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n"
    assert apply_patch(gone, files({"old.py": "a\nb\n"})) == [
        FileChange("old.py", None, None, 0, 2)
    ]
    with pytest.raises(PatchError, match="leave 1 line"):
        apply_patch(gone, files({"old.py": "a\nb\nc\n"}))
    renamed = "diff --git a/x.py b/y.py\nsimilarity index 100%\nrename from x.py\nrename to y.py\n"
    assert apply_patch(renamed, files({"x.py": "k\n"})) == [FileChange("y.py", "x.py", "k\n", 0, 0)]
    edited = "--- a/x.py\n+++ b/y.py\n@@ -1 +1 @@\n-k\n+K\n"
    assert apply_patch(edited, files({"x.py": "k\n"})) == [FileChange("y.py", "x.py", "K\n", 1, 1)]
    with pytest.raises(PatchError, match="which exists"):
        apply_patch(edited, files({"x.py": "k\n", "y.py": ""}))
    with pytest.raises(PatchError, match="no such file"):
        apply_patch(edited, files({}))


def test_git_new_file_header_without_mode_line_still_creates() -> None:
    patch = "diff --git a/n.py b/n.py\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x\n"
    assert apply_patch(patch, files({})) == [FileChange("n.py", None, "x\n", 1, 0)]


def test_a_failing_second_file_fails_the_whole_patch() -> None:
    good = unified_diff("a.py", "a\n", "b\n")
    bad = "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-not there\n+x\n"
    assert applied(good, {"a.py": "a\n"}) == {"a.py": "b\n"}
    with pytest.raises(PatchError, match=r"^b\.py: hunk 1 of 1"):
        apply_patch(good + bad, files({"a.py": "a\n", "b.py": "something else\n"}))


def test_removed_lines_that_do_not_match_name_the_hunk() -> None:
    patch = (
        "--- a/m.py\n+++ b/m.py\n@@ -2,2 +2,2 @@\n line 2\n-line 3\n+line three\n"
        "@@ -20,3 +20,3 @@ def g():\n line 20\n-line twenty-one\n+line 21!\n line 22\n"
    )
    with pytest.raises(PatchError) as caught:
        apply_patch(patch, files({"m.py": SOURCE}))
    message = str(caught.value)
    assert message.startswith("m.py: hunk 2 of 2 (@@ -20,3 +20,3 @@ def g():) does not apply")
    assert "\n     line 20\n    -line twenty-one\n" in message
    assert "line 21 is 'line 21' but the hunk has 'line twenty-one'" in message


def test_hunks_apply_in_order_and_may_not_overlap() -> None:
    first = "--- a/m.py\n+++ b/m.py\n@@ -5,2 +5,2 @@\n line 5\n-line 6\n+six\n"
    overlapping = "@@ -5,1 +5,1 @@\n-line 5\n+five\n"  # hunk 1 kept line 5 as context
    with pytest.raises(PatchError, match="line 5, which is not after the previous hunk"):
        apply_patch(first + overlapping, files({"m.py": SOURCE}))
    later_first = "--- a/m.py\n+++ b/m.py\n@@ -20 +20 @@\n-line 20\n+twenty\n"
    with pytest.raises(PatchError, match="hunks must be in file order"):
        apply_patch(later_first + "@@ -5 +5 @@\n-line 5\n+five\n", files({"m.py": SOURCE}))


def test_a_bare_hunk_header_is_placed_by_a_unique_match_only() -> None:
    patch = "--- a/m.py\n+++ b/m.py\n@@\n line 12\n-line 13\n+line 13!\n"
    assert applied(patch, {"m.py": SOURCE}) == {"m.py": SOURCE.replace("line 13\n", "line 13!\n")}
    with pytest.raises(PatchError, match="equally well"):
        apply_patch(patch, files({"m.py": SOURCE + SOURCE}))


def test_one_file_in_two_sections_is_patched_in_sequence() -> None:
    first = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-line 1\n+one\n"
    second = "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n one\n-line 2\n+two\n"
    result = apply_patch(first + second, files({"m.py": SOURCE}))
    assert result == [FileChange("m.py", None, "one\ntwo\n" + SOURCE[14:], 2, 2)]


@pytest.mark.parametrize(
    "path",
    ["../x.py", "/etc/passwd", "a/../../x.py", "x/../../y", "C:\\x.py", ".git/hooks/pre-commit"],
)
def test_paths_that_could_escape_are_refused(path: str) -> None:
    for header in (f"--- a/{path}\n+++ b/{path}\n", f"--- {path}\n+++ {path}\n"):
        with pytest.raises(PatchError, match="refusing path"):
            apply_patch(header + "@@ -1 +1 @@\n-a\n+b\n", files({path: "a\n"}))
    with pytest.raises(PatchError, match="refusing path"):
        check_path(path)


def test_check_path_normalises_and_refuses_nul() -> None:
    assert check_path("./pkg//mod.py") == "pkg/mod.py"
    with pytest.raises(PatchError, match="control character"):
        check_path("pkg/mod\x00.py")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not a diff\n", "no file changes found"),
        ("", "no file changes found"),
        ("--- a/m.py\n+++ b/m.py\n-line 1\n+one\n", "outside any hunk"),
        ("@@ -1 +1 @@\n-a\n+b\n", "before any"),
        ("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n", "has no lines"),
        ("--- a/m.py\n+++ b/m.py\n", "no hunks"),
        ("diff --git a/m.py b/m.py\nBinary files a/m.py and b/m.py differ\n", "binary"),
        ("diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n", "symlinks"),
        ("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-line 1\n+one\nProse.\n+orphan\n", "outside any"),
    ],
)
def test_malformed_patches_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(PatchError, match=why):
        apply_patch(text, files({"m.py": SOURCE}))


def test_a_fenced_patch_is_unwrapped() -> None:
    fenced = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-line 1\n+one\n```\n"
    assert applied(fenced, {"m.py": SOURCE}) == {"m.py": SOURCE.replace("line 1\n", "one\n", 1)}


DIFF = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b\n"


def test_find_diff_in_fenced_blocks() -> None:
    answer = f"Here is the fix:\n\n```diff\n{DIFF}```\n\nand another:\n~~~patch\n{DIFF}~~~\n"
    assert find_diff(answer) == DIFF + DIFF
    untagged = f"```\n{DIFF}```\n"
    assert find_diff(untagged) == DIFF
    in_a_list = "1. Apply:\n   ```diff\n" + "".join(f"   {line}\n" for line in DIFF.splitlines())
    assert find_diff(in_a_list + "   ```\n") == DIFF
    with_fence_context = "```diff\n--- a/r.md\n+++ b/r.md\n@@ -1,2 +1,2 @@\n ```\n-a\n+b\n```\n"
    assert (
        find_diff(with_fence_context) == "--- a/r.md\n+++ b/r.md\n@@ -1,2 +1,2 @@\n ```\n-a\n+b\n"
    )


def test_find_diff_in_bare_answers_and_none_without_a_diff() -> None:
    assert find_diff(f"I changed a to b.\n{DIFF}\nThat fixes it.\n") == DIFF
    git = f"diff --git a/m.py b/m.py\nindex 1..2 100644\n{DIFF}"
    assert find_diff(git) == git
    assert find_diff("No diff here.\n```python\nprint('--- x')\n```\n") is None
    assert find_diff("") is None


def git(repo: Path, *args: str) -> str:
    """git's stdout, its line endings untouched (a CRLF file's diff keeps its \\r)."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false", *args],
        cwd=repo, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip


def test_git_apply_accepts_our_diffs(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    cases = [pair for pair in ROUND_TRIPS if pair[0] != pair[1]][:40]
    for n, (old, _, _) in enumerate(cases):
        (tmp_path / f"f{n}.py").write_bytes(old.encode())
    created = "made\n"
    patch = "".join(unified_diff(f"f{n}.py", o, w, context=c) for n, (o, w, c) in enumerate(cases))
    patch += unified_diff("made.py", None, created)
    (tmp_path / "p.diff").write_bytes(patch.encode())
    git(tmp_path, "apply", "--unidiff-zero", "p.diff")
    for n, (_, new, _) in enumerate(cases):
        assert (tmp_path / f"f{n}.py").read_bytes() == new.encode()
    assert (tmp_path / "made.py").read_text() == created


def test_gits_own_diffs_apply(tmp_path: Path) -> None:
    before = {
        "keep.py": SOURCE,
        "crlf.py": "a\r\nb\r\nc\r\n",
        "tail.py": "x\ny",
        "moved.py": SOURCE,
        "gone.py": "bye\n",
    }
    git(tmp_path, "init", "-q")
    for name, text in before.items():
        (tmp_path / name).write_bytes(text.encode())
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "before")
    after = {
        "keep.py": SOURCE.replace("line 20\n", "twenty\n"),
        "crlf.py": "a\r\nB\r\nc\r\n",
        "tail.py": "x\ny\nz\n",
        "moved2.py": SOURCE.replace("line 2\n", "two\n"),
        "new.py": "hello\n",
    }
    (tmp_path / "gone.py").unlink()
    (tmp_path / "moved.py").unlink()
    for name, text in after.items():
        (tmp_path / name).write_bytes(text.encode())
    git(tmp_path, "add", "-A")
    patch = git(tmp_path, "diff", "--cached", "-M", "HEAD")
    changes = {c.path: c for c in apply_patch(patch, files(before))}
    assert {path: c.new_text for path, c in changes.items()} == {**after, "gone.py": None}
    assert changes["moved2.py"].old_path == "moved.py"
