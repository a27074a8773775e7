"""Completion, hover, code actions and go to definition, registered on the server.

Everything the editor is offered about tags and attributes comes from the XSD, through
`callflow.vocabulary`: the tags allowed inside the open element, the attributes a tag takes,
their enumerations, and the documentation written in ``xs:annotation``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from callflow.lsp import _cursor
from callflow.lsp._checking import buffer_kind

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from callflow.lsp._server import CallflowLanguageServer
    from callflow.vocabulary import AttributeInfo, ElementInfo, Vocabulary

log = logging.getLogger(__name__)

#: Counts a string's length in the client's position units.
Units = Callable[[str], int]

_DEFAULT = re.compile(r"Default: ([^\s]+?)\.?(?:\s|$)")
_SUPPRESSION = {
    "xml": "<!-- callflow: ignore {code} -->",
    "template": "{{# callflow: ignore {code} #}}",
}


def vocabulary() -> Vocabulary:
    from callflow.vocabulary import load_vocabulary

    return load_vocabulary()


def offset_of(document: TextDocument, position: types.Position) -> int:
    """The character offset in ``document.source`` of an LSP position (client units)."""
    lines = document.lines
    line = min(position.line, len(lines))
    offset = sum(len(text) for text in lines[:line])
    if line < len(lines):
        column = document.position_codec.position_from_client_units(lines, position).character
        offset += min(column, len(lines[line].rstrip("\r\n")))
    return offset


def position_of(text: str, offset: int, units: Units = len) -> types.Position:
    """The LSP position of character ``offset``; ``units`` counts a string in the client's
    position encoding (UTF-16 code units unless the client chose another)."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line, units(text[start:offset]))


# ---------------------------------------------------------------- completion


def completions(text: str, offset: int, kind: str) -> list[types.CompletionItem]:
    """What may be written at ``offset``: tags, attributes or values, from the schema."""
    cursor = _cursor.cursor_at(text, offset, template=kind == "template")
    words = vocabulary()
    if cursor.kind in (_cursor.TAG, _cursor.TEXT):
        parent = words.element(cursor.parent) if cursor.parent else None
        names = parent.children if parent is not None else words.roots
        lead = "<" if cursor.kind == _cursor.TEXT else ""
        return [_tag_item(words.elements[name], lead) for name in names if name in words.elements]
    if cursor.kind == _cursor.CLOSING and cursor.parent:
        return [types.CompletionItem(cursor.parent, kind=types.CompletionItemKind.Class)]
    if cursor.kind == _cursor.ATTRIBUTE and cursor.tag:
        element = words.element(cursor.tag)
        if element is None:
            return []
        used = set(cursor.attributes)
        return [
            _attribute_item(element, info)
            for name, info in element.attributes.items()
            if name not in used
        ]
    if cursor.kind == _cursor.VALUE and cursor.tag and cursor.attribute:
        element = words.element(cursor.tag)
        info = element.attributes.get(cursor.attribute) if element else None
        if info is None:
            return []
        return [
            types.CompletionItem(value, kind=types.CompletionItemKind.EnumMember)
            for value in allowed_values(info)
        ]
    return []


def allowed_values(info: AttributeInfo) -> tuple[str, ...]:
    """An attribute's enumeration, or the few values a pattern of alternatives allows."""
    if info.enumeration:
        return info.enumeration
    values: list[str] = []
    if len(info.patterns) == 1 and re.fullmatch(r"\[[^\]\\^]+\]", info.patterns[0]):
        return _character_class(info.patterns[0][1:-1])  # one key: [0-9*#+]
    for pattern in info.patterns:
        for alternative in pattern.split("|"):
            pairs = re.findall(r"\[([A-Za-z])([A-Za-z])\]", alternative)
            if not pairs or "".join(f"[{a}{b}]" for a, b in pairs) != alternative:
                return ()
            values.append("".join(a.upper() for a, _ in pairs))
    return tuple(values)


def _character_class(body: str) -> tuple[str, ...]:
    found: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            found.extend(chr(c) for c in range(ord(body[index]), ord(body[index + 2]) + 1))
            index += 3
        else:
            found.append(body[index])
            index += 1
    return tuple(found)


def _tag_item(element: ElementInfo, lead: str) -> types.CompletionItem:
    return types.CompletionItem(
        element.name,
        kind=types.CompletionItemKind.Class,
        detail=f"<{element.name}>",
        documentation=types.MarkupContent(types.MarkupKind.Markdown, tag_markdown(element)),
        insert_text=lead + element.name,
    )


def _attribute_item(element: ElementInfo, info: AttributeInfo) -> types.CompletionItem:
    return types.CompletionItem(
        info.name,
        kind=types.CompletionItemKind.Property,
        detail=type_text(info) + (" (required)" if info.required else ""),
        documentation=types.MarkupContent(
            types.MarkupKind.Markdown, attribute_markdown(element, info)
        ),
        insert_text=f'{info.name}="$1"',
        insert_text_format=types.InsertTextFormat.Snippet,
        sort_text=("0" if info.required else "1") + info.name,
    )


# ---------------------------------------------------------------- hover


def type_text(info: AttributeInfo) -> str:
    from callflow.schema import TYPE_DESCRIPTIONS

    description = TYPE_DESCRIPTIONS.get(info.type_name)
    if description is None and info.enumeration:
        description = "one of " + ", ".join(info.enumeration)
    description = description or TYPE_DESCRIPTIONS.get(info.base, "text")
    return f"{info.type_name}: {description}"


def tag_markdown(element: ElementInfo) -> str:
    parts = [f"**`<{element.name}>`**"]
    if element.documentation:
        parts.append(element.documentation)
    if element.children:
        parts.append("Children: " + ", ".join(f"`{c}`" for c in element.children))
    if element.attributes:
        parts.append("Attributes: " + ", ".join(f"`{a}`" for a in element.attributes))
    elif not element.children:
        parts.append("No attributes.")
    return "\n\n".join(parts)


def attribute_markdown(element: ElementInfo, info: AttributeInfo) -> str:
    parts = [f"**`{info.name}`** of `<{element.name}>`"]
    if info.documentation:
        parts.append(info.documentation)
    facts = [f"Type: {type_text(info)}"]
    if info.type_name == "Milliseconds":
        facts.append("Unit: milliseconds")
    default = _DEFAULT.search(info.documentation)
    if default is not None:
        facts.append(f"Default: `{default.group(1)}`")
    facts.append("Required" if info.required else "Optional")
    values = allowed_values(info)
    if values:
        facts.append("Values: " + ", ".join(f"`{v}`" for v in values))
    parts.append("\n".join(f"- {fact}" for fact in facts))
    return "\n\n".join(parts)


def hover(text: str, offset: int, kind: str) -> tuple[str, int, int] | None:
    """Markdown about the tag or attribute name at ``offset``, and the word's span."""
    word, start, end = _cursor.word_at(text, offset)
    if not word:
        return None
    cursor = _cursor.cursor_at(text, start, template=kind == "template")
    if cursor.kind in (_cursor.JINJA, _cursor.COMMENT):
        return None
    words = vocabulary()
    if text[max(0, start - 1) : start] == "<" or text[max(0, start - 2) : start] == "</":
        element = words.element(word)
        return (tag_markdown(element), start, end) if element else None
    if cursor.kind == _cursor.ATTRIBUTE and cursor.tag:
        element = words.element(cursor.tag)
        info = element.attributes.get(word) if element else None
        if element is not None and info is not None:
            return attribute_markdown(element, info), start, end
    return None


# ---------------------------------------------------------------- code actions


def suppression_edit(text: str, line: int, code: str, kind: str) -> types.TextEdit | None:
    """The edit that writes ``callflow: ignore CODE`` for ``line`` (0-based)."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    current = lines[line]
    if kind == "script":
        end = types.Position(line, len(current))
        return types.TextEdit(types.Range(end, end), f"  # callflow: ignore {code}")
    indent = current[: len(current) - len(current.lstrip())]
    comment = _SUPPRESSION[kind].format(code=code)
    start = types.Position(line, 0)
    return types.TextEdit(types.Range(start, start), f"{indent}{comment}\n")


def fix_actions(
    path: str, text: str, wanted: types.Range, uri: str, units: Units = len
) -> list[types.CodeAction]:
    """Every safe fix (`callflow.fix`) whose problem lies in ``wanted``, and one that makes
    them all; XML buffers only (a template's text is not its output)."""
    from callflow.fix import edits_for, fix_document, tag_spans
    from callflow.lint import config_for, iter_active_findings
    from callflow.sources import load_flows

    sources = load_flows(text, filename=path)
    document = sources[0].document if len(sources) == 1 else None
    if document is None:
        return []
    config = config_for(Path(path))
    spans = tag_spans(document)
    if spans is None:
        return []
    by_element = dict(zip(document.iter_elements(), spans, strict=True))
    actions: list[types.CodeAction] = []
    for finding, location in iter_active_findings(document, config):
        if finding.fix is None or not wanted.start.line <= location.line - 1 <= wanted.end.line:
            continue
        edits = edits_for(finding.fix, by_element, text)
        if not edits:
            continue
        text_edits = [
            types.TextEdit(
                types.Range(position_of(text, e.start, units), position_of(text, e.end, units)),
                e.replacement,
            )
            for e in edits
        ]
        actions.append(
            types.CodeAction(
                f"Fix {finding.code}: {finding.hint or finding.message}",
                kind=types.CodeActionKind.QuickFix,
                edit=types.WorkspaceEdit(changes={uri: text_edits}),
                is_preferred=True,
            )
        )
    if actions:
        result = fix_document(document, config)
        if result.changed and not result.refused:
            whole = types.Range(types.Position(0, 0), position_of(text, len(text), units))
            actions.append(
                types.CodeAction(
                    f"Fix all safe problems ({len(result.applied)})",
                    kind=types.CodeActionKind.SourceFixAll,
                    edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(whole, result.fixed)]}),
                )
            )
    return actions


# ---------------------------------------------------------------- go to definition

_REFERENCE = re.compile(
    r"""\{%-?\s*(?:include|import|from|extends)\s+(?P<quote>["'])(?P<name>[^"']+)(?P=quote)"""
)
_IMPORT_AS = re.compile(r"""\{%-?\s*import\s+["'](?P<name>[^"']+)["']\s+as\s+(?P<alias>\w+)""")
_FROM_IMPORT = re.compile(
    r"""\{%-?\s*from\s+["'](?P<name>[^"']+)["']\s+import\s+(?P<names>[\w\s,]+?)(?:\s+with\s+context)?\s*-?%\}"""
)


def template_file(name: str, path: str) -> str | None:
    """The file a template name in ``path`` stands for, through the front door."""
    from callflow.sources import template_reference

    return template_reference(name, path)


def _macro_in(text: str, macro: str) -> int | None:
    found = re.search(r"\{%-?\s*macro\s+" + re.escape(macro) + r"\s*\(", text)
    return found.start() if found else None


def _read(path: str) -> str | None:
    from callflow.errors import InputError
    from callflow.sources import read_input

    try:
        return read_input(path, what="template").decode("utf-8", "replace")
    except InputError:
        return None


def definition(path: str, text: str, offset: int) -> tuple[str, int] | None:
    """(file, offset) of what the name at ``offset`` refers to: an included, imported or
    extended template, or a macro (this file's, or one imported)."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    column = offset - line_start
    for match in _REFERENCE.finditer(line):
        if match.start("name") - 1 <= column <= match.end("name") + 1:
            found = template_file(match.group("name"), path)
            return (found, 0) if found else None
    word = _cursor.word_at(text, offset)[0]
    if not word:
        return None
    pieces = word.split(".")
    if len(pieces) == 2:  # alias.macro
        alias, macro = pieces
        for match in _IMPORT_AS.finditer(text):
            if match.group("alias") == alias:
                return _macro_in_file(match.group("name"), macro, path)
        return None
    macro = pieces[-1]
    here = _macro_in(text, macro)
    if here is not None:
        return path, here
    for match in _FROM_IMPORT.finditer(text):
        names = [n.split(" as ")[0].strip() for n in match.group("names").split(",")]
        aliases = {
            (n.split(" as ")[1].strip() if " as " in n else n.strip()): n.split(" as ")[0].strip()
            for n in match.group("names").split(",")
        }
        if macro in aliases:
            return _macro_in_file(match.group("name"), aliases[macro], path)
        if macro in names:
            return _macro_in_file(match.group("name"), macro, path)
    return None


def _macro_in_file(name: str, macro: str, path: str) -> tuple[str, int] | None:
    found = template_file(name, path)
    if found is None:
        return None
    source = _read(found)
    if source is None:
        return None
    at = _macro_in(source, macro)
    return found, at if at is not None else 0


# ---------------------------------------------------------------- registration


def register(server: CallflowLanguageServer) -> None:
    """Add the editing features to ``server``."""
    from callflow.lint import RULES
    from callflow.lsp._server import uri_path

    def document_of(ls: CallflowLanguageServer, uri: str) -> tuple[TextDocument, str, str] | None:
        path = uri_path(uri)
        if path is None:
            return None
        kind = buffer_kind(path)
        if kind is None:
            return None
        return ls.workspace.get_text_document(uri), path, kind

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["<", " ", '"', "'", "/"]),
    )
    def completion(
        ls: CallflowLanguageServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        found = document_of(ls, params.text_document.uri)
        if found is None or found[2] == "script":
            return None
        document, _, kind = found
        items = completions(document.source, offset_of(document, params.position), kind)
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: CallflowLanguageServer, params: types.HoverParams) -> types.Hover | None:
        found = document_of(ls, params.text_document.uri)
        if found is None or found[2] == "script":
            return None
        document, _, kind = found
        text = document.source
        answer = hover(text, offset_of(document, params.position), kind)
        if answer is None:
            return None
        markdown, start, end = answer
        return types.Hover(
            types.MarkupContent(types.MarkupKind.Markdown, markdown),
            types.Range(
                position_of(text, start, document.position_codec.client_num_units),
                position_of(text, end, document.position_codec.client_num_units),
            ),
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]
        ),
    )
    def code_action(
        ls: CallflowLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        found = document_of(ls, uri)
        if found is None:
            return None
        document, path, kind = found
        text = document.source
        actions: list[types.CodeAction] = []
        if kind == "xml":
            actions.extend(
                fix_actions(path, text, params.range, uri, document.position_codec.client_num_units)
            )
        seen: set[tuple[str, int]] = set()
        for diagnostic in params.context.diagnostics:
            code = diagnostic.code
            if not isinstance(code, str) or code not in RULES:
                continue  # only lint rules can be silenced
            line = diagnostic.range.start.line
            if (code, line) in seen:
                continue
            seen.add((code, line))
            edit = suppression_edit(text, line, code, kind)
            if edit is None:
                continue
            actions.append(
                types.CodeAction(
                    f"Ignore {code} here (callflow: ignore {code})",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=types.WorkspaceEdit(changes={uri: [edit]}),
                )
            )
        return actions

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(
        ls: CallflowLanguageServer, params: types.DefinitionParams
    ) -> types.Location | None:
        found = document_of(ls, params.text_document.uri)
        if found is None or found[2] != "template":
            return None
        document, path, _ = found
        target = definition(path, document.source, offset_of(document, params.position))
        if target is None:
            return None
        file, at = target
        from callflow.lsp._server import path_uri

        source = document.source if file == path else (_read(file) or "")
        position = position_of(source, at, document.position_codec.client_num_units)
        return types.Location(path_uri(os.path.abspath(file)), types.Range(position, position))
