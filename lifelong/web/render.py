"""Server-side rendering helpers: highlighted code, diffs between versions, the call graph's layout.

Pygments writes class-based markup (its stylesheet is served from the package at
``/static/code.css``), so pages need no inline styles and the Content-Security-Policy can forbid
them. Everything returned as :class:`markupsafe.Markup` was escaped by Pygments.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup
from pygments import highlight as _highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, JavascriptLexer, PythonLexer, TextLexer

LEXERS = {".js": JavascriptLexer, ".py": PythonLexer}
CSS_CLASS = "code"


def lexer_for(filename: str):
    for suffix, lexer in LEXERS.items():
        if filename.endswith(suffix):
            return lexer()
    return TextLexer()


def highlight(code: str, filename: str, linenos: bool = True) -> Markup:
    """``code`` as highlighted HTML with line numbers (the language from the file name)."""
    formatter = HtmlFormatter(cssclass=CSS_CLASS, linenos="table" if linenos else False, wrapcode=True)
    return Markup(_highlight(code, lexer_for(filename), formatter))


def diff(old: str, new: str, old_label: str, new_label: str) -> Markup | None:
    """A unified diff of two versions as highlighted HTML; None when the code is the same."""
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                      fromfile=old_label, tofile=new_label, n=3))
    if not lines:
        return None
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return Markup(_highlight(text, DiffLexer(), HtmlFormatter(cssclass=CSS_CLASS, wrapcode=True)))


@cache
def code_css() -> str:
    """Pygments' stylesheet for the ``.code`` blocks (light, with a dark variant)."""
    light = HtmlFormatter(style="default", cssclass=CSS_CLASS).get_style_defs(f".{CSS_CLASS}")
    dark = HtmlFormatter(style="monokai", cssclass=CSS_CLASS).get_style_defs(f".{CSS_CLASS}")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


@dataclass(frozen=True)
class Node:
    name: str
    x: float
    y: float
    role: str  # "caller", "self", "callee", "missing"


@dataclass(frozen=True)
class Graph:
    """Callers on the left, the skill in the middle, callees on the right (positions in px)."""

    nodes: list[Node]
    edges: list[tuple[Node, Node]]
    width: int
    height: int
    node_w: int = 190
    node_h: int = 30


def call_graph(name: str, callers: list[str], callees: list[str], known: set[str],
               width: int = 720, row: int = 44) -> Graph:
    """Lay out one skill's neighbourhood; a callee that is not in the library is marked missing
    (its caller would fail to run without it)."""
    rows = max(len(callers), len(callees), 1)
    height = rows * row + 20
    col = {"caller": 10, "self": (width - 190) // 2, "callee": width - 200}

    def column(names: list[str], role: str) -> list[Node]:
        top = (height - len(names) * row) / 2
        return [Node(n, col[role], top + i * row + (row - 30) / 2,
                     role if role != "callee" or n in known else "missing") for i, n in enumerate(names)]

    me = Node(name, col["self"], (height - 30) / 2, "self")
    left, right = column(callers, "caller"), column(callees, "callee")
    edges = [(n, me) for n in left] + [(me, n) for n in right]
    return Graph([*left, me, *right], edges, width, height)
