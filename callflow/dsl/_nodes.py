"""Builder nodes: checked values that know where the author built them.

`Node` holds what every node has (attributes as written on the wire, text, children, the
raw source site) and the rules of ``with`` blocks; `Element` checks a schema element's
keywords, text and children the moment it is built, from the `ElementSpec` the generated
class carries; `UncheckedElement` and `Comment` stand outside the schema; `FlowElement` is
a document root that serialises. Nothing here knows a tag name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import ClassVar, Self

from lxml import etree

from callflow.document import Document, load_bytes
from callflow.dsl import _fast
from callflow.dsl._content import EMPTY, ElementSpec, derive
from callflow.dsl._source import Site, keyword_location, site_location
from callflow.dsl._values import XML_NAME, AttributeSpec, illegal_character, value_hint
from callflow.dsl._writer import COMMENT_TAG, to_lxml, write
from callflow.errors import BuildError, ValidationError
from callflow.sourcemap import SourceLocation, SourceMap

# The `with` blocks open in this context, innermost last.
_OPEN_BLOCKS: ContextVar[tuple[Node, ...]] = ContextVar("callflow_dsl_open_blocks", default=())


class Node:
    """A piece of a call flow. Nodes are values: equal when they would serialise alike.

    A node records ``location``, where the author built it. A node built inside an open
    ``with`` block joins that block; passing it explicitly to another node (or ``add``)
    while the block is still open moves it there instead, so fragments never appear twice.
    """

    __slots__ = (
        "_attributes",
        "_children",
        "_open",
        "_pending_in",
        "_state",
        "_tag",
        "_text",
        "_where",
    )

    _tag: str  # the XML tag ("#comment" for a comment)
    _attributes: dict[str, str]
    _children: list[Node]
    _text: str | None
    _where: SourceLocation | Site  # a raw Site until `location` is first read
    _pending_in: Node | None  # the open block this node joined, while it may still move
    _state: int  # an element's ContentMachine state after its children so far
    _open: int  # how many `with` blocks are open on this node (it is on the stack that often)

    __hash__ = None  # type: ignore[assignment]  # mutable while a `with` block is open

    #: Which content-model states are complete, for the writer (None: the node is always
    #: complete); an element class shares its machine's list, which grows as it learns.
    _final: ClassVar[list[bool] | None] = None
    #: Whether the node may hold children (and so open a ``with`` block).
    _holds_children: ClassVar[bool] = True

    @property
    def tag(self) -> str:
        return self._tag

    @property
    def location(self) -> SourceLocation:
        """Where the author built this node (the `.py` line, or the XML line if parsed)."""
        where = self._where
        if not isinstance(where, SourceLocation):
            where = self._where = site_location(where)
        return where

    @property
    def attributes(self) -> Mapping[str, str]:
        """The XML attributes as written on the wire, in the order given."""
        return dict(self._attributes)

    @property
    def text(self) -> str | None:
        return self._text

    @property
    def children(self) -> tuple[Node, ...]:
        return tuple(self._children)

    def _value_key(self) -> tuple[object, ...]:
        return (self.tag, self._attributes, self._text, self._children)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return type(self) is type(other) and self._value_key() == other._value_key()

    def __repr__(self) -> str:
        from callflow.dsl._pysource import node_source

        return node_source(self)

    def iter(self) -> Iterator[Node]:
        """This node and every node below it, in document order."""
        yield self
        for child in self._children:
            yield from child.iter()

    def to_element(self) -> etree._Element:
        """This node as a fresh lxml element tree (checked complete first)."""
        return to_lxml(self, None, [])

    # -- building ---------------------------------------------------------------

    def _start(
        self,
        tag: str,
        where: SourceLocation | Site,
        attributes: dict[str, str] | None = None,
        text: str | None = None,
        children: list[Node] | None = None,
        state: int = 0,
    ) -> None:
        """Set every field of a new node (empty unless given)."""
        self._tag = tag
        self._attributes = {} if attributes is None else attributes
        self._children = [] if children is None else children
        self._text = text
        self._where = where
        self._pending_in = None
        self._state = state
        self._open = 0

    def _join_open_block(self) -> None:
        """Join the innermost open ``with`` block, if any."""
        blocks = _OPEN_BLOCKS.get()
        if not blocks:
            return
        block = blocks[-1]
        if self._children and _holds(self, block):
            raise BuildError(f"<{block.tag}> cannot contain itself", self.location)
        block._joined_by(self)

    def _joined_by(self, child: Node) -> None:
        """``child``, built while this block is the innermost on the open-block stack, joins
        it: an open block only collects (see `_append`); one that has closed, though still
        on a copied stack (a task started inside it), checks the child as `_append` does."""
        if self._open:
            self._children.append(child)
        else:
            self._append(child)
        child._pending_in = self

    def _take(self, items: Iterable[object], *, existing: bool = False) -> None:
        """Append children given as arguments, taking each back from the block it joined."""
        for child in _flatten(items, self):
            # Only an existing node (add, with) can end up inside one of its own children.
            if existing and any(node is self for node in child.iter()):
                raise BuildError(
                    f"<{self.tag}> cannot contain itself", child.location, "build a new node"
                )
            if child._pending_in is not None:
                child._pending_in._release(child)
            self._append(child)

    def _release(self, child: Node) -> None:
        """Let go of ``child``, which joined this open block and is claimed elsewhere."""
        children = self._children
        index = len(children) - 1
        while index >= 0 and children[index] is not child:  # usually the last one
            index -= 1
        if index >= 0:
            del children[index]
        child._pending_in = None

    def _append(self, child: Node) -> None:
        """Add one child; while a block is open, children are only collected (`__exit__`
        checks them): one built inside may still be claimed by a call being evaluated."""
        self._children.append(child)

    def _add(self, children: tuple[object, ...]) -> Self:
        """Append children (nodes, iterables of nodes, or None to skip); returns the node.

        The generated classes expose this as ``add`` with their own child types.
        """
        self._take(children, existing=True)
        return self

    def __enter__(self) -> Self:
        """Open a ``with`` block on this node: the nodes built until it closes join it."""
        if not self._holds_children:
            raise BuildError(self._no_block_message(), self.location)
        self._open += 1
        _OPEN_BLOCKS.set((*_OPEN_BLOCKS.get(), self))
        return self

    def _no_block_message(self) -> str:
        return f"<{self.tag}> holds no children; it cannot open a `with` block"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        blocks = _OPEN_BLOCKS.get()
        if blocks and blocks[-1] is self:
            _OPEN_BLOCKS.set(blocks[:-1])
            self._open -= 1
        else:  # blocks entered and exited by hand may close out of order
            _OPEN_BLOCKS.set(tuple(block for block in blocks if block is not self))
            self._open = 0
        if exc_type is None:
            self._close()
        else:
            self._let_go()

    def _let_go(self) -> None:
        """The children that joined this block can no longer be claimed elsewhere."""
        for child in self._children:
            if child._pending_in is self:
                child._pending_in = None

    def _close(self) -> None:
        """The block closed without an error: let go of its children and check them, and
        that nothing is missing (raises at the first problem)."""
        self._let_go()

    def _check_complete(self) -> None:
        """Raise when the node lacks a child it needs (serialising checks this first)."""


def _holds(node: Node, target: Node) -> bool:
    """Whether ``target`` is somewhere below ``node`` (flows are shallow: recursion is fine)."""
    for child in node._children:
        if child is target or (child._children and _holds(child, target)):
            return True
    return False


def _flatten(items: Iterable[object], parent: Node) -> Iterator[Node]:
    for item in items:
        if item is None:
            continue
        if isinstance(item, Node):
            yield item
        elif isinstance(item, str | bytes):
            raise BuildError(
                f"<{parent.tag}> got the string {item!r} as a child; children are nodes",
                parent.location,
                hint="text to speak goes in Say('...'), a URL to play in Play('...')",
            )
        elif isinstance(item, Iterable):
            yield from _flatten(item, parent)
        else:
            raise BuildError(
                f"<{parent.tag}> got {type(item).__name__} {item!r} as a child; "
                "children are nodes (or lists of nodes, or None)",
                parent.location,
            )


def _last_element(nodes: Iterable[Node]) -> Element | None:
    """The last element among ``nodes`` (comments and unchecked elements skipped)."""
    last = None
    for node in nodes:
        if isinstance(node, Element):
            last = node
    return last


class Element(Node):
    """A schema element: its keyword arguments, text and children are checked when built."""

    __slots__ = ()

    SPEC: ClassVar[ElementSpec]

    def __init_subclass__(cls, **keywords: object) -> None:
        super().__init_subclass__(**keywords)
        spec = cls.__dict__.get("SPEC")
        if spec is not None:
            cls._final = spec.machine.final
            cls._holds_children = bool(spec.children)

    def _build(
        self, children: tuple[object, ...], attributes: Mapping[str, object], content: object
    ) -> None:
        """Check and keep what the generated ``__init__`` was given, the plain way: the
        ``__init__`` asks `_fast.build` first and comes here when it declines."""
        # Frames 0 and 1 are this method and the generated __init__: callflow's own.
        self._start(self.SPEC.tag, _fast.author_site(sys._getframe(2)))
        self._set_attributes(attributes)
        if content is not None:
            self._set_text(content)
        elif self.SPEC.text_required:
            raise self._error("needs its text as the first argument", self.SPEC.text)
        if children:
            if not self.SPEC.children:
                raise BuildError(f"<{self.tag}> holds no children", self.location)
            self._take(children)
        self._join_open_block()

    def _set_attributes(self, attributes: Mapping[str, object]) -> None:
        spec = self.SPEC
        unchecked: object = None
        for python_name, value in attributes.items():
            attribute = spec.by_python.get(python_name)
            if attribute is None and python_name == "unchecked_attributes":
                unchecked = value
            elif attribute is None:
                raise self._unknown_keyword(python_name, value)
            elif value is not None:
                try:
                    self._attributes[attribute.name] = _fast.convert(attribute, value)
                except (TypeError, ValueError) as reason:
                    message = f"{python_name}={value!r}: {reason}"
                    raise self._error(message, attribute, value, keyword=python_name) from None
            elif attribute.required:
                message = f"`{python_name}` is required, got None"
                raise self._error(message, attribute, keyword=python_name)
        for attribute in spec.required:
            if attribute.name not in self._attributes:
                raise self._error(f"the keyword `{attribute.python_name}` is required", attribute)
        if unchecked is not None:
            self._add_unchecked(unchecked)

    def _keyword_location(self, keyword: str | None) -> SourceLocation:
        """Where the author wrote ``keyword=`` in the call that built this node (the call's
        own location when it is not written there, or for a parsed node)."""
        if keyword is not None and not isinstance(self._where, SourceLocation):
            found = keyword_location(self._where, keyword)
            if found is not None:
                return found
        return self.location

    def _error(
        self,
        message: str,
        attribute: AttributeSpec | None = None,
        value: object = None,
        *,
        keyword: str | None = None,
    ) -> BuildError:
        return BuildError(
            f"{type(self).__name__}(): {message}",
            self._keyword_location(keyword),
            value_hint(self.tag, attribute, value),
        )

    def _unknown_keyword(self, python_name: str, value: object) -> BuildError:
        from callflow.vocabulary import closest

        spec = self.SPEC
        names = list(spec.by_python)
        known_wire = spec.by_name.get(python_name)
        hint = ""
        if known_wire is not None:
            hint = (
                f"write `{known_wire.python_name}=` (the Python name of the XML attribute "
                f"`{python_name}`); "
            )
        elif (guess := closest(python_name, names)) is not None:
            hint = f"did you mean `{guess}`? "
        listing = ", ".join(names) if names else "no attributes"
        hint += f"{type(self).__name__}() takes {listing}"
        hint += "; unchecked_attributes={...} passes attributes the schema does not know"
        return BuildError(
            f"{type(self).__name__}(): unknown keyword argument `{python_name}`={value!r}",
            self._keyword_location(python_name),
            hint,
        )

    def _add_unchecked(self, unchecked: object) -> None:
        if not isinstance(unchecked, Mapping):
            raise self._error(
                "unchecked_attributes must be a mapping of XML name to str",
                keyword="unchecked_attributes",
            )
        for name, value in unchecked.items():
            self._add_unchecked_attribute(name, value)

    def _add_unchecked_attribute(self, name: object, value: object) -> None:
        keyword = "unchecked_attributes"
        if not isinstance(name, str) or not XML_NAME.fullmatch(name):
            raise self._error(
                f"unchecked attribute name {name!r} is not an XML name", keyword=keyword
            )
        known = self.SPEC.by_name.get(name) or self.SPEC.by_python.get(name)
        if known is not None:
            raise self._error(
                f"`{name}` is a known attribute; write {known.python_name}=… instead of "
                "passing it through unchecked_attributes",
                known,
                keyword=keyword,
            )
        if not isinstance(value, str):
            raise self._error(
                f"unchecked attribute {name}={value!r}: expected a str, got {type(value).__name__}",
                keyword=keyword,
            )
        bad = illegal_character(value)
        if bad is not None:
            raise self._error(
                f"unchecked attribute {name}: contains {bad}, not allowed in XML", keyword=keyword
            )
        self._attributes[name] = value

    def _set_text(self, content: object) -> None:
        spec = self.SPEC.text
        if spec is None:
            raise self._error("takes no text")
        if not isinstance(content, str):
            raise self._error(
                f"its text must be a str, got {type(content).__name__} {content!r}", spec
            )
        reason = _fast.check_text(spec, content)
        if reason is not None:
            raise self._error(f"text {content!r}: {reason}", spec)
        self._text = content or None

    def _append(self, child: Node) -> None:
        if isinstance(child, Element) and not self._open:
            following = self.SPEC.machine.step(self._state, child.SPEC.tag)
            if following < 0:
                raise self._rejected(child, _last_element(self._children), self._state)
            self._state = following
        self._children.append(child)

    def _close(self) -> None:
        """Let go of the children collected while the block was open and check them, in one
        pass; then that the element is complete."""
        machine = self.SPEC.machine
        moves = machine.moves
        state, previous = 0, None
        for child in self._children:
            if child._pending_in is self:
                child._pending_in = None
            if isinstance(child, Element):
                # A move already learnt is a lookup; `step` learns the others.
                following = moves[state].get(child._tag)
                if following is None:
                    following = machine.step(state, child._tag)
                if following < 0:
                    self._let_go()  # the children after this one too
                    raise self._rejected(child, previous, state)
                state, previous = following, child
        self._state = state
        if not machine.final[state]:
            self._check_complete()  # raises, saying what is missing

    def _rejected(self, child: Element, previous: Element | None, state: int) -> BuildError:
        """Why ``child`` may not follow ``previous`` (the children so far led to ``state``)."""
        if child.tag not in self.SPEC.children:
            return self._illegal_child(child)
        return self._misplaced_child(child, previous, state)

    def _allowed_next(self, state: int | None = None) -> list[str]:
        model = self.SPEC.machine.model(self._state if state is None else state)
        return [tag for tag in self.SPEC.children if derive(model, tag) != EMPTY]

    def _illegal_child(self, child: Element) -> BuildError:
        from callflow.vocabulary import closest

        allowed = self.SPEC.children
        if not allowed:
            return BuildError(f"<{self.tag}> holds no children; got <{child.tag}>", child.location)
        guess = closest(child.tag, allowed)
        listing = ", ".join(f"<{t}>" for t in allowed)
        hint = f"did you mean <{guess}>? " if guess else ""
        return BuildError(
            f"<{self.tag}> cannot hold <{child.tag}>",
            child.location,
            f"{hint}<{self.tag}> holds {listing}",
        )

    def _misplaced_child(self, child: Element, previous: Element | None, state: int) -> BuildError:
        allowed = self._allowed_next(state)
        after = f" after <{previous.tag}>" if previous is not None else " first"
        hint = (
            "allowed at this point: " + ", ".join(f"<{t}>" for t in allowed)
            if allowed
            else f"nothing more may follow inside <{self.tag}>"
        )
        return BuildError(
            f"<{child.tag}> cannot come{after} inside <{self.tag}>", child.location, hint
        )

    def _check_complete(self) -> None:
        state = self._state  # the writer asks every node: one call, no more
        if state < 0 or not self.SPEC.machine.final[state]:
            missing = " or ".join(f"<{t}>" for t in self._allowed_next())
            raise BuildError(
                f"<{self.tag}> is incomplete: it needs {missing}",
                self.location,
                f"add {missing} inside <{self.tag}>",
            )

    @classmethod
    def _from_wire(
        cls,
        attributes: Mapping[str, str],
        text: str | None,
        location: SourceLocation,
        *,
        strict: bool = True,
    ) -> Self:
        """A node from XML attribute and text values (used by `callflow.parse`)."""
        node = cls.__new__(cls)
        node._start(cls.SPEC.tag, location)
        for name, value in attributes.items():
            attribute = cls.SPEC.by_name.get(name)
            if attribute is None:
                if strict:
                    raise node._unknown_keyword(name, value)
                node._add_unchecked({name: value})
                continue
            reason = attribute.check(value)
            if reason is not None:
                raise node._error(f"{name}={value!r}: {reason}", attribute, value)
            node._attributes[name] = value
        for attribute in cls.SPEC.attributes:
            if attribute.required and attribute.name not in node._attributes:
                raise node._error(f"the attribute `{attribute.name}` is required", attribute)
        if text is not None:
            node._set_text(text)
        return node


class UncheckedElement(Node):
    """The escape hatch for a tag the schema does not know yet: nothing about it is checked
    except that it is well-formed XML. Validation then reports it as the schema sees it."""

    __slots__ = ()

    def __init__(
        self,
        tag: str,
        *children: Node | Iterable[Node] | None,
        text: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        self._start(tag, _fast.author_site(sys._getframe(1)))
        self._setup(tag, text, attributes or {})
        self._take(children)
        self._join_open_block()

    def _setup(self, tag: str, text: str | None, attributes: Mapping[str, str]) -> None:
        if not isinstance(tag, str) or not XML_NAME.fullmatch(tag):
            raise BuildError(f"UncheckedElement(): {tag!r} is not an XML tag name", self.location)
        self._tag = tag
        for name, value in attributes.items():
            if not isinstance(name, str) or not XML_NAME.fullmatch(name):
                raise BuildError(
                    f"UncheckedElement(): attribute name {name!r} is not an XML name",
                    self.location,
                )
            if not isinstance(value, str):
                raise BuildError(
                    f"UncheckedElement(): attribute {name}={value!r} must be a str",
                    self.location,
                )
            bad = illegal_character(value)
            if bad is not None:
                raise BuildError(
                    f"UncheckedElement(): attribute {name} contains {bad}, not allowed in XML",
                    self.location,
                )
            self._attributes[name] = value
        if text is not None:
            bad = illegal_character(text)
            if bad is not None:
                raise BuildError(
                    f"UncheckedElement(): text contains {bad}, not allowed in XML", self.location
                )
        self._text = text or None

    def add(self, *children: Node | Iterable[Node] | None) -> Self:
        """Append children (nodes, iterables of nodes, or None to skip); returns the node."""
        return self._add(children)

    @classmethod
    def _from_wire(
        cls, tag: str, attributes: Mapping[str, str], text: str | None, location: SourceLocation
    ) -> UncheckedElement:
        node = cls.__new__(cls)
        node._start(tag, location)
        node._setup(tag, text, attributes)
        return node


class Comment(Node):
    """An XML comment among the children: ``Comment("why this branch exists")``.

    Line breaks are kept as a parser reads them back: a comment cannot escape a carriage
    return, so ``\r\n`` and ``\r`` become ``\n`` (XML's end-of-line rule), and a flow's
    comments survive serialising and parsing unchanged.
    """

    __slots__ = ()

    _holds_children = False

    def __init__(self, text: str) -> None:
        self._start(COMMENT_TAG, _fast.author_site(sys._getframe(1)))
        self._setup(text)
        self._join_open_block()

    def _setup(self, text: str) -> None:
        if not isinstance(text, str):
            raise BuildError(f"Comment(): expected a str, got {type(text).__name__}", self.location)
        bad = illegal_character(text)
        if bad is not None:
            raise BuildError(f"Comment(): contains {bad}, not allowed in XML", self.location)
        if "--" in text or text.endswith("-"):
            raise BuildError(
                "Comment(): an XML comment cannot contain '--' or end with '-'", self.location
            )
        self._text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

    @classmethod
    def _from_wire(cls, text: str, location: SourceLocation) -> Comment:
        node = cls.__new__(cls)
        node._start(COMMENT_TAG, location)
        node._setup(text)
        return node

    def _no_block_message(self) -> str:
        return "a Comment holds no children; it cannot open a `with` block"


_DECLARATION_TEXT = '<?xml version="1.0" encoding="UTF-8"?>\n'
_DECLARATION = _DECLARATION_TEXT.encode("ascii")
_NO_COMMENTS: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


class FlowElement(Element):
    """A document root (``<Response>``): serialises to XML and to a `Document`.

    Its one field of its own, the comments around it, is set only by `with_comments`
    (``comments`` reads none until then): building a root sets no more fields than building
    any other node.
    """

    __slots__ = ("_comments",)

    _comments: tuple[tuple[str, ...], tuple[str, ...]]

    def _value_key(self) -> tuple[object, ...]:
        return (*super()._value_key(), self.comments)

    @property
    def comments(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The XML comments written before and after the root element."""
        return getattr(self, "_comments", _NO_COMMENTS)

    def with_comments(self, *before: str, after: Iterable[str] = ()) -> Self:
        """Put XML comments around the root element (a file's header comment, say).

        Each text is written as given inside ``<!--`` and ``-->``; returns the flow.
        """
        checked = []
        for text in (*before, *after):
            checked.append(Comment._from_wire(text, self.location).text or "")
        self._comments = (tuple(checked[: len(before)]), tuple(checked[len(before) :]))
        return self

    def _tree(self, located: list[tuple[etree._Element, SourceLocation]]) -> etree._Element:
        root = to_lxml(self, None, located)
        before, after = self.comments
        for text in before:
            root.addprevious(etree.Comment(text))
        for text in reversed(after):
            root.addnext(etree.Comment(text))
        return root

    def to_bytes(self, pretty: bool = False) -> bytes:
        """UTF-8 XML with a declaration; the same flow always gives the same bytes."""
        if not pretty:
            return self._compact().encode("utf-8")
        root = self._tree([])
        body = etree.tostring(root.getroottree(), encoding="UTF-8", pretty_print=True)
        return _DECLARATION + body

    def to_xml(self, pretty: bool = False) -> str:
        """The XML as a str (with its declaration); `to_bytes` gives the same as UTF-8."""
        if not pretty:
            return self._compact()
        return self.to_bytes(pretty).decode("utf-8")

    def _compact(self) -> str:
        """The compact document, written directly: byte for byte what lxml writes for the
        same tree (a test holds the two together), at a fraction of the cost."""
        out = [_DECLARATION_TEXT]
        before, after = self.comments
        for text in before:
            out.append(f"<!--{text}-->")
        write(self, out)
        for text in after:
            out.append(f"<!--{text}-->")
        return "".join(out)

    def to_document(self, name: str | None = None) -> Document:
        """A `Document` whose source map points each element at the line that built it.

        The text is pretty-printed; ``name`` defaults to the file that built this node.
        """
        located: list[tuple[etree._Element, SourceLocation]] = []
        root = self._tree(located)
        tree = root.getroottree()
        elements = {tree.getpath(element): location for element, location in located}
        data = _DECLARATION + etree.tostring(tree, encoding="UTF-8", pretty_print=True)
        file = name if name is not None else self.location.file
        source_map = SourceMap(file, identity=False, elements=elements)
        document, diagnostics = load_bytes(data, file, source_map=source_map)
        if document is None:  # pragma: no cover - the builder only writes well-formed XML
            raise ValidationError(f"{file}: the built flow is not well-formed", diagnostics)
        for element in document.iter_elements():
            location = elements.get(document.xpath_of(element))
            if location is not None and element.sourceline is not None:
                source_map.lines.setdefault(element.sourceline, location)
        return document
