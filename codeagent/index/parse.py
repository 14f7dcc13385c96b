"""Tag extraction with tree-sitter: source bytes in, ``FileTags`` out (pure).

A file with syntax errors still yields the tags of the parts tree-sitter could read
(``has_errors`` says so); bytes that are not UTF-8 are decoded with replacement characters, so
every file yields tags, never an exception.
"""

from __future__ import annotations

from tree_sitter import Node, QueryCursor

from codeagent.index.languages import grammar
from codeagent.index.tags import Definition, FileTags

SIGNATURE_CHARS = 160
_CONTAINERS = frozenset({"class", "interface", "impl"})
"""Kinds whose directly nested functions are methods."""


def extract(source: bytes, language: str) -> FileTags:
    g = grammar(language)
    tree = g.parser().parse(source)
    found: list[tuple[int, int, str, str, Node]] = []  # start byte, -end byte, name, kind, node
    refs: dict[str, list[int]] = {}
    for _, captures in QueryCursor(g.query).matches(tree.root_node):
        names = captures.get("name")
        if names:
            kind, node = _definition(captures)
            if node is not None:
                name = _text(names[0])
                found.append((node.start_byte, -node.end_byte, name, kind, node))
        for ref in captures.get("reference", ()):
            refs.setdefault(_text(ref), []).append(ref.start_point[0] + 1)
    return FileTags(
        language=language,
        definitions=_nest(found, source),
        references={k: tuple(v) for k, v in sorted(refs.items())},
        has_errors=tree.root_node.has_error,
    )


def _definition(captures: dict[str, list[Node]]) -> tuple[str, Node | None]:
    for key, nodes in captures.items():
        if key.startswith("definition."):
            return key.removeprefix("definition."), nodes[0]
    return "", None


def _nest(found: list[tuple[int, int, str, str, Node]], source: bytes) -> tuple[Definition, ...]:
    """Definitions in source order, each with its enclosing definition; a function directly
    inside a class, interface or impl block is a ``method``."""
    found.sort(key=lambda f: (f[0], f[1]))
    out: list[Definition] = []
    stack: list[tuple[int, int]] = []  # (end byte, index)
    seen: set[tuple[int, int]] = set()
    for start, neg_end, name, kind, node in found:
        if (start, neg_end) in seen:
            continue  # two patterns matched the same node
        seen.add((start, neg_end))
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent = stack[-1][1] if stack else -1
        nested = kind == "function" and parent >= 0 and out[parent].kind in _CONTAINERS
        out.append(
            Definition(
                name=name,
                kind="method" if nested else kind,
                line=node.start_point[0] + 1,
                end_line=node.end_point[0] + 1,
                signature=_signature(node, source),
                parent=parent,
            )
        )
        stack.append((-neg_end, len(out) - 1))
    return tuple(out)


def _signature(node: Node, source: bytes) -> str:
    """The definition's header: up to its body, else its first line; on one line."""
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None and body.start_byte > node.start_byte else None
    if end is None:
        newline = source.find(b"\n", node.start_byte, node.end_byte)
        end = newline if newline != -1 else node.end_byte
    text = " ".join(source[node.start_byte : end].decode("utf-8", "replace").split())
    if len(text) > SIGNATURE_CHARS:
        text = text[: SIGNATURE_CHARS - 1] + "…"
    return text


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")
