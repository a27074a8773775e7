"""The conversion's public entry points and result (re-exported by `callflow.twiml`)."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity, has_errors, in_order
from callflow.document import Document
from callflow.errors import InputError
from callflow.sourcemap import SourceLocation, SourceMap
from callflow.twiml import _codes as codes
from callflow.twiml._convert import convert_tree
from callflow.twiml._report import iter_input_parts
from callflow.twiml._state import MARK_OPEN, element_paths
from callflow.twiml._values import reserved_character

#: Lint codes the conversion explains itself: a TwiML ``action`` becomes ``<Gather url>``
#: (legacy set A beside the canonical attributes), and the CF1003 note at the Gather says so.
_EXPLAINED = ("CF316", "CF319")


class TwimlConversion:
    """The result of converting one TwiML document (or template).

    ``document``: the OpenTact `Document` (for a template, its skeleton with placeholders),
    None when nothing could be converted; ``text``: what to write (XML, or template text);
    ``diagnostics``: the migration report in source order, located in the TwiML file;
    ``source``: the parsed TwiML `Document`.
    """

    __slots__ = ("_accounted", "diagnostics", "document", "source", "text")

    def __init__(
        self,
        document: Document | None,
        text: str | None,
        diagnostics: Sequence[Diagnostic],
        source: Document | None = None,
        accounted: frozenset[tuple[etree._Element, str | None]] = frozenset(),
    ) -> None:
        self.document = document
        self.text = text
        self.diagnostics = in_order(diagnostics)
        self.source = source
        self._accounted = accounted

    @property
    def ok(self) -> bool:
        """True when there is a converted document and the report holds no error."""
        return self.document is not None and not has_errors(self.diagnostics)

    def unaccounted(self) -> list[tuple[etree._Element, str | None]]:
        """TwiML elements and attributes neither converted nor reported (always empty)."""
        if self.source is None:
            return []
        return [part for part in iter_input_parts(self.source) if part not in self._accounted]

    def __repr__(self) -> str:
        state = "ok" if self.ok else "not ok"
        return f"TwimlConversion({state}, {len(self.diagnostics)} diagnostic(s))"


def _check_base_url(base_url: str | None) -> None:
    if base_url is None:
        return
    import re

    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", base_url, re.IGNORECASE):
        raise InputError(
            f"base URL {base_url!r} is not an absolute http(s) URL (e.g. https://app.example.com/)"
        )


def convert_twiml(
    source: str | bytes | os.PathLike[str],
    *,
    base_url: str | None = None,
    filename: str | None = None,
    max_bytes: int | None = None,
) -> TwimlConversion:
    """Convert a TwiML document (a path, XML text or bytes) to OpenTact call XML.

    Never raises for bad input: unreadable or malformed TwiML comes back as diagnostics
    (``document`` None). Raises `InputError` for a ``base_url`` that is not absolute.
    A path ending in ``.xml.j2`` is converted as a template (`convert_twiml_template`).
    """
    from callflow.document import MAX_DOCUMENT_BYTES
    from callflow.sources import DEFAULT_POLICY, ReadPolicy, load_flows, read_flow_file

    _check_base_url(base_url)
    limit = max_bytes if max_bytes is not None else MAX_DOCUMENT_BYTES
    if isinstance(source, str | os.PathLike) and not (
        isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<")
    ):
        path = Path(source)
        if path.name.lower().endswith(".py"):
            where = SourceLocation(filename or str(path), 1, None)
            message = "a Python file is not TwiML; convert a TwiML document or template"
            return TwimlConversion(
                None, None, [Diagnostic("CF008", Severity.ERROR, message, where)]
            )
        if path.name.lower().endswith(".j2"):
            data, problems = _read_template(path, filename or str(path), limit)
            if data is None:
                return TwimlConversion(None, None, problems)
            return convert_twiml_template(
                data, base_url=base_url, filename=filename or str(path), max_bytes=limit
            )
    policy = DEFAULT_POLICY if max_bytes is None else ReadPolicy(max_bytes=limit)
    if _named_file(source):
        # TwiML is often kept as *.twiml, *.txt or a Bin's export: read a named file as XML
        # whatever its suffix, as the front door does for a file the user insists on.
        assert not isinstance(source, bytes)
        read = read_flow_file(str(source), policy=policy)
        if isinstance(read, Diagnostic):
            return TwimlConversion(None, None, [read])
        loaded = load_flows(read, filename=filename or str(source), policy=policy)
    else:
        loaded = load_flows(source, filename=filename, policy=policy)
    problems = [d for item in loaded for d in item.diagnostics]
    documents = [item.document for item in loaded if item.document is not None]
    if len(documents) != 1 or has_errors(problems):
        if not problems:
            where = SourceLocation(filename or str(source), 1, None)
            problems = [
                Diagnostic(
                    codes.NOT_TWIML,
                    Severity.ERROR,
                    "expected one TwiML document",
                    where,
                    hint="convert one file at a time",
                )
            ]
        return TwimlConversion(None, None, problems)
    return _convert_document(documents[0], base_url)


def _named_file(source: object) -> bool:
    if isinstance(source, bytes) or (
        isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<")
    ):
        return False
    assert isinstance(source, str | os.PathLike)
    path = Path(source)
    return str(source) != "-" and not path.name.lower().endswith(".xml") and path.is_file()


def _read_template(path: Path, name: str, max_bytes: int) -> tuple[bytes | None, list[Diagnostic]]:
    from callflow.sources import ReadPolicy, read_flow_file

    data = read_flow_file(str(path), policy=ReadPolicy(max_bytes=max_bytes))
    if isinstance(data, Diagnostic):
        where = SourceLocation(name, 1, None)
        return None, [Diagnostic(data.code, data.severity, data.message, where, hint=data.hint)]
    return data, []


def _convert_document(source: Document, base_url: str | None) -> TwimlConversion:
    reserved = reserved_character(source.text, source.name)
    if reserved is not None:
        # Refused whole: the one error accounts for every element and attribute.
        return TwimlConversion(None, None, [reserved], source, frozenset(iter_input_parts(source)))
    tree, state = convert_tree(source, base_url)
    accounted = frozenset(state.mapped | state.reported)
    if source.root.tag != "Response":
        return TwimlConversion(None, None, state.diagnostics, source, accounted)
    document, problems = checked_output(tree, state.origins, source, explained=state.explained)
    return TwimlConversion(
        document,
        _serialise(tree) if document is not None else None,
        [*state.diagnostics, *problems],
        source,
        accounted,
    )


def _serialise(tree: etree._Element) -> str:
    body = etree.tostring(tree, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def checked_output(
    tree: etree._Element,
    origins: Mapping[etree._Element, object],
    source: Document,
    *,
    templated: bool = False,
    explained: Collection[etree._Element] = (),
) -> tuple[Document | None, list[Diagnostic]]:
    """Parse, validate and lint the converted tree; findings are located in the TwiML."""
    from callflow.check import check_document
    from callflow.document import MAX_DOCUMENT_BYTES

    text = _serialise(tree)
    from callflow.sources import ReadPolicy, load_flows

    # Read back through the front door, as any flow is, with room for what the TwiML grew to.
    policy = ReadPolicy(max_bytes=max(MAX_DOCUMENT_BYTES, 4 * len(text)))
    # Named as XML whatever the source was: the converted skeleton of a template is XML here.
    name = source.name[: -len(".j2")] if source.name.lower().endswith(".j2") else source.name
    (loaded,) = load_flows(text.encode("utf-8"), filename=name, policy=policy)
    parsed = loaded.document
    if parsed is None:  # pragma: no cover - lxml wrote it, lxml reads it
        return None, loaded.diagnostics
    lines: dict[int, SourceLocation] = {}
    quiet: set[etree._Element] = set()
    for built, read in zip(tree.iter(), parsed.root.iter(), strict=False):
        if built in explained:
            quiet.add(read)
        origin = origins.get(built)
        if origin is None or read.sourceline is None or read.sourceline in lines:
            continue
        element = getattr(origin, "element", None)
        attribute = getattr(origin, "attribute", None)
        if element is not None:
            lines[read.sourceline] = source.locate(element, attribute)
    smap = SourceMap(source.name, identity=False, lines=lines)
    document = _ConvertedDocument(parsed.root, text, smap)
    found = check_document(document, ignore=_EXPLAINED)
    if quiet:
        # A menu's generated Callbacks: the CF1003 note at the Gather covers them (CF307).
        silenced = {document.xpath_of(element) for element in quiet}
        found = [d for d in found if not (d.code == "CF307" and d.xpath in silenced)]
    if templated and found:
        by_path = {document.xpath_of(element): element for element in document.iter_elements()}
        found = [d for d in found if not _on_placeholder(by_path, d)]
    reported = []
    for diagnostic in found:
        if diagnostic.is_error:
            diagnostic = Diagnostic(
                codes.OUTPUT_INVALID,
                Severity.ERROR,
                f"the converted document is not valid: {diagnostic.message}",
                diagnostic.location,
                xpath=diagnostic.xpath,
                hint=diagnostic.hint,
            )
        reported.append(diagnostic)
    return document, reported


class _ConvertedDocument(Document):
    """A converted document: element paths from one walk, however many findings ask.

    lxml's ``getpath`` counts an element's earlier siblings, so one path per lint finding
    costs O(n·findings) on a wide document: 2,000 converted ``<Callback>`` tags (each with
    a CF307 finding) took 2.2 of 7.4 seconds that way.
    """

    __slots__ = ("_paths",)

    def __init__(self, root: etree._Element, text: str, source_map: SourceMap) -> None:
        super().__init__(root, text, source_map)
        self._paths: dict[etree._Element, str] | None = None

    def xpath_of(self, element: etree._Element) -> str:
        if self._paths is None:
            self._paths = element_paths(self.root)
        path = self._paths.get(element)
        return path if path is not None else super().xpath_of(element)


def _on_placeholder(by_path: Mapping[str, etree._Element], diagnostic: Diagnostic) -> bool:
    """A finding about a template expression's value: only a rendering can check it."""
    element = by_path.get(diagnostic.xpath or "")
    if element is None:
        return False
    values = [element.text or "", *(str(v) for v in element.attrib.values())]
    return any(MARK_OPEN in value for value in values) or any(
        isinstance(child, etree._ProcessingInstruction) for child in element
    )


def convert_twiml_template(
    source: str | bytes,
    *,
    base_url: str | None = None,
    filename: str = "<template>",
    max_bytes: int | None = None,
) -> TwimlConversion:
    """Convert a Jinja template that renders TwiML into one that renders OpenTact XML."""
    from callflow.twiml._template import convert_template

    _check_base_url(base_url)
    return convert_template(source, base_url=base_url, filename=filename, max_bytes=max_bytes)
