"""Writing builder nodes as Python source: node reprs and `callflow convert --to python`."""

from __future__ import annotations

from collections.abc import Iterable

from callflow.dsl._nodes import Comment, Element, FlowElement, Node, UncheckedElement
from callflow.dsl._values import python_value

#: Longest line the converter writes (the project's ruff line length).
WIDTH = 100
_INDENT = "    "


def string_literal(value: str) -> str:
    """A Python literal for ``value``, in double quotes when that needs no escaping."""
    literal = repr(value)
    if literal.startswith("'") and '"' not in value:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def _value_literal(value: object) -> str:
    return string_literal(value) if isinstance(value, str) else repr(value)


def _mapping_literal(items: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{string_literal(k)}: {string_literal(v)}" for k, v in items) + "}"


class _Call:
    """A constructor call: its name, leading atoms (text), children, then keyword atoms."""

    def __init__(self, name: str, head: list[str], children: list[Node], tail: list[str]):
        self.name = name
        self.head = head
        self.children = children
        self.tail = tail


def _call_of(node: Node) -> _Call:
    if isinstance(node, Comment):
        return _Call("Comment", [string_literal(node.text or "")], [], [])
    if isinstance(node, UncheckedElement):
        extra: list[str] = []
        if node.text is not None:
            extra.append(f"text={string_literal(node.text)}")
        if node.attributes:
            extra.append(f"attributes={_mapping_literal(node.attributes.items())}")
        return _Call("UncheckedElement", [string_literal(node.tag)], list(node.children), extra)
    assert isinstance(node, Element)
    spec = node.SPEC
    head = [string_literal(node.text)] if node.text is not None else []
    tail: list[str] = []
    unchecked: list[tuple[str, str]] = []
    for name, wire in node.attributes.items():
        attribute = spec.by_name.get(name)
        if attribute is None:
            unchecked.append((name, wire))
        else:
            tail.append(f"{attribute.python_name}={_value_literal(python_value(attribute, wire))}")
    if unchecked:
        tail.append(f"unchecked_attributes={_mapping_literal(unchecked)}")
    return _Call(type(node).__name__, head, list(node.children), tail)


def node_source(node: Node) -> str:
    """The one-line Python expression that builds ``node``."""
    call = _call_of(node)
    parts = [*call.head, *(node_source(child) for child in call.children), *call.tail]
    return f"{call.name}({', '.join(parts)}){_comments_call(node)}"


def _comments_call(node: Node) -> str:
    if not isinstance(node, FlowElement) or node.comments == ((), ()):
        return ""
    before, after = node.comments
    parts = [string_literal(text) for text in before]
    if after:
        parts.append("after=[" + ", ".join(string_literal(text) for text in after) + "]")
    return f".with_comments({', '.join(parts)})"


def node_lines(node: Node, indent: int = 0, suffix: str = "") -> list[str]:
    """``node`` as Python source laid out over lines of at most `WIDTH` characters."""
    pad = _INDENT * indent
    flat = node_source(node)
    if len(pad) + len(flat) + len(suffix) <= WIDTH:
        return [pad + flat + suffix]
    call = _call_of(node)
    lines = [f"{pad}{call.name}("]
    for atom in call.head:
        lines.extend(_atom_lines(atom, indent + 1))
    for child in call.children:
        lines.extend(node_lines(child, indent + 1, ","))
    for atom in call.tail:
        lines.extend(_atom_lines(atom, indent + 1))
    lines.append(f"{pad}){_comments_call(node)}{suffix}")
    return lines


def _atom_lines(atom: str, indent: int) -> list[str]:
    """One argument; a long string is split into adjacent literals inside parentheses."""
    pad = _INDENT * indent
    if len(pad) + len(atom) + 1 <= WIDTH:
        return [f"{pad}{atom},"]
    name, _, literal = atom.rpartition("=") if _is_keyword_string(atom) else ("", "", atom)
    if not literal.startswith(('"', "'")):
        return [f"{pad}{atom},"]
    text = _literal_text(literal)
    if text is None:
        return [f"{pad}{atom},"]
    chunks = _chunks(text, WIDTH - len(pad) - len(_INDENT) - 3)
    opening = f"{pad}{name}=(" if name else f"{pad}("
    return [opening, *(pad + _INDENT + string_literal(c) for c in chunks), f"{pad}),"]


def _is_keyword_string(atom: str) -> bool:
    name, sep, rest = atom.partition("=")
    return bool(sep) and name.isidentifier() and rest.startswith(('"', "'"))


def _literal_text(literal: str) -> str | None:
    import ast

    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _chunks(text: str, width: int) -> list[str]:
    """Split at spaces (each chunk keeps its trailing space) into pieces of about ``width``."""
    width = max(width, 20)
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        piece = word if not current else " " + word
        if current and len(string_literal(current + piece)) > width:
            chunks.append(current + " ")
            current = word
        else:
            current += piece
    chunks.append(current)
    return chunks


def flow_script(flow: Node, *, source: str) -> str:
    """A runnable builder script that rebuilds ``flow``; run it to print the XML."""
    # isort's order (ruff's default): CONSTANT-case names, then classes
    names = sorted(
        {type(node).__name__ for node in flow.iter()}, key=lambda n: (not n.isupper(), n)
    )
    imports = f"from callflow.dsl import {', '.join(names)}"
    if len(imports) > WIDTH:
        imports = "from callflow.dsl import (\n" + "".join(f"    {n},\n" for n in names) + ")"
    lines = [
        f'"""Call flow converted from {source} by `callflow convert --to python`."""',
        "",
        imports,
        "",
    ]
    body = node_lines(flow)
    body[0] = "flow = " + body[0]
    lines.extend(body)
    lines += [
        "",
        'if __name__ == "__main__":',
        '    print(flow.to_xml(pretty=True), end="")',
    ]
    return "\n".join(lines) + "\n"
