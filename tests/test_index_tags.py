"""Tags per language: the definitions and references a user would point at, from real grammars."""

from __future__ import annotations

import pytest

from codeagent.index.languages import language_of
from codeagent.index.parse import extract

SOURCES = {
    "calc.py": (
        b"import os\nLIMIT = 3\n\nclass Base:\n    pass\n\n@register\nclass Calc(Base):\n"
        b"    def add(self, a,\n            b):\n        return helper(a) + self.mul(b)\n\n"
        b"def helper(x):\n    return os.path.join(x)\n"
    ),
    "shape.js": (
        b"class Shape extends Base { area() { return compute(this.w); } }\n"
        b"function compute(x) { return new Shape(); }\nconst arrow = (a) => util.fmt(a);\n"
    ),
    "geo.ts": (
        b"interface Point { x: number; dist(o: Point): number; }\n"
        b"class Circle extends Shape implements Point { area(): number { return helper(1); } }\n"
        b"export function helper(n: number): number { return Math.abs(n); }\n"
    ),
    "view.tsx": b"function Button(p: Props) { return render(p); }\n",
    "server.go": (
        b"package main\ntype Server struct { port int }\n"
        b"func (s *Server) Start() error { return listen(s.port) }\n"
        b"func listen(p int) error { fmt.Println(p); return nil }\n"
    ),
    "point.rs": (
        b"struct Point { x: i32 }\ntrait Shape { fn area(&self) -> f64; }\n"
        b"impl Shape for Point { fn area(&self) -> f64 { compute(self.x) } }\n"
        b'fn compute(x: i32) -> f64 { println!("{}", x); 0.0 }\n'
    ),
    "Account.java": (
        b"public class Account extends Base {\n  public int balance() { return compute(1); }\n}\n"
    ),
    "area.c": b"struct point { int x; };\nint area(struct point *p) { return compute(p->x); }\n",
    "widget.cpp": (
        b"class Widget : public Base { public: int size() const { return compute(w); } };\n"
        b"int Widget::grow(int n) { return helper(n); }\n"
    ),
}

EXPECTED = {
    # file: (definitions as (kind, name), references that must be found)
    "calc.py": (
        {("constant", "LIMIT"), ("class", "Base"), ("class", "Calc"), ("method", "add"),
         ("function", "helper")},
        {"helper", "mul", "join", "Base", "register"},
    ),
    "shape.js": (
        {("class", "Shape"), ("method", "area"), ("function", "compute"), ("function", "arrow")},
        {"compute", "Shape", "fmt", "Base"},
    ),
    "geo.ts": (
        {("interface", "Point"), ("method", "dist"), ("class", "Circle"), ("method", "area"),
         ("function", "helper")},
        {"helper", "abs", "Shape", "Point"},
    ),
    "view.tsx": ({("function", "Button")}, {"render", "Props"}),
    "server.go": (
        {("class", "Server"), ("method", "Start"), ("function", "listen")},
        {"listen", "Println"},
    ),
    "point.rs": (
        {("class", "Point"), ("interface", "Shape"), ("method", "area"), ("function", "compute"),
         ("impl", "Point")},
        {"compute", "println", "Shape"},
    ),
    "Account.java": ({("class", "Account"), ("method", "balance")}, {"compute", "Base"}),
    "area.c": ({("class", "point"), ("function", "area")}, {"compute"}),
    "widget.cpp": (
        {("class", "Widget"), ("method", "size"), ("method", "grow")},
        {"compute", "helper", "Base"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_definitions_and_references(name: str) -> None:
    language = language_of(name)
    assert language is not None
    tags = extract(SOURCES[name], language)
    defs = {(d.kind, d.name) for d in tags.definitions}
    want_defs, want_refs = EXPECTED[name]
    assert want_defs <= defs, defs
    assert want_refs <= set(tags.references), tags.references
    assert not tags.has_errors


def test_signatures_lines_and_nesting() -> None:
    tags = extract(SOURCES["calc.py"], "python")
    by_name = {d.name: d for d in tags.definitions}
    add = by_name["add"]
    assert add.signature == "def add(self, a, b):"  # a two-line header, on one line
    assert (add.line, add.end_line) == (9, 11)
    assert tags.definitions[add.parent].name == "Calc"
    assert by_name["Calc"].signature == "class Calc(Base):"  # the decorator is not the header
    assert tags.references["helper"] == (11,)


def test_syntax_errors_still_yield_the_readable_parts() -> None:
    source = b"def good(a):\n    return a\n\ndef broken(:\n    pass\n\nclass After:\n    pass\n"
    tags = extract(source, "python")
    assert tags.has_errors
    names = {d.name for d in tags.definitions}
    assert {"good", "After"} <= names


def test_non_utf8_bytes_do_not_break_extraction() -> None:
    source = "def café():\n    return 'ü'\n".encode("latin-1")
    tags = extract(source, "python")
    assert len(tags.definitions) == 1
    assert tags.definitions[0].name.startswith("caf")


def test_unknown_extensions_are_not_code() -> None:
    for path in ("README.md", "data.json", "Makefile", ".py", "x/.hidden.py.bak", "noext"):
        assert language_of(path) is None, path
    assert language_of("pkg/mod.PY") == "python"
    assert language_of("include/thing.h") == "cpp"
