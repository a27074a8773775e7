"""What a template's ``{{ … }}`` values become in its output: the finalizer every value goes
through (XML escaping, the control-character policy, booleans as call XML spells them) and the
code generator that trusts it.

Jinja writes an autoescaped ``{{ value }}`` as ``escape(finalize(value))``. Callflow's
finalizer already escapes, and always returns `Markup`, so Jinja's ``escape`` around it only
copies that Markup again (two calls and two Markup objects a value, about a third of a small
template's render). `FinalizedOutputGenerator` writes ``finalize(value)`` alone where the
environment's finalizer is one `finalizer` made; everywhere else (``{% autoescape false %}``,
a context whose escaping is decided at run time, another finalizer) it writes what Jinja
writes. The text is the same: a property test holds both to each other.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any, Literal

import markupsafe
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Expr

from callflow.errors import TemplateError

ControlCharacters = Literal["reject", "strip"]

# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates, U+FFFE, U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_WHITESPACE_REFERENCES = {9: "&#9;", 10: "&#10;", 13: "&#13;"}
_SPECIAL = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")  # either of those
#: What makes a value's output differ from its text: what XML escaping replaces, and the above.
_NOT_AS_IT_IS = re.compile("[\x00-\x1f&<>'\"\ud800-\udfff\ufffe\uffff]")

_Markup = markupsafe.Markup
_new_str = str.__new__
_escape = markupsafe.escape

#: The finalizers `finalizer` made: they always return Markup (see the module's docstring).
_MARKUP_FINALIZERS: weakref.WeakSet[Callable[[object], object]] = weakref.WeakSet()


def escaped(text: str) -> markupsafe.Markup:
    """``markupsafe.escape(text)``: a text holding none of ``& < > ' "`` (the usual value)
    is made Markup as it is, without markupsafe's Python wrapper and Markup's own checks."""
    if type(text) is str and _NOT_AS_IT_IS.search(text) is None:
        return _new_str(_Markup, text)
    return _escape(text)


def finalizer(policy: ControlCharacters) -> Callable[[object], object]:
    """The finalizer of a renderer whose ``control_characters`` is ``policy``."""
    markup = _Markup
    forbidden, special, as_it_is = _FORBIDDEN.search, _SPECIAL.search, _NOT_AS_IT_IS.search

    def finalize(value: object) -> object:
        """Every ``{{ … }}`` value becomes escaped text that parses back to exactly itself."""
        if isinstance(value, markup):
            # Macro output, caller(), or a value the author marked |safe; as Jinja's escape
            # gives it (a subclass of Markup by its own __html__).
            return value if type(value) is markup else _escape(value)
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"  # the spelling call XML booleans use
        else:
            text = str(value)
        if type(text) is str and as_it_is(text) is None:
            return _new_str(markup, text)  # the usual value: nothing to escape or check
        if special(text) is not None:
            if forbidden(text) is not None:
                text = _without_forbidden(text, policy)
            if "\t" in text or "\n" in text or "\r" in text:
                # As references: attribute values keep them (not spaces), text a lone CR.
                return markup(str(_escape(text)).translate(_WHITESPACE_REFERENCES))
        return _escape(text)

    _MARKUP_FINALIZERS.add(finalize)
    return finalize


def _without_forbidden(text: str, policy: ControlCharacters) -> str:
    if policy == "strip":
        return _FORBIDDEN.sub("", text)
    bad = _FORBIDDEN.search(text)
    assert bad is not None
    raise TemplateError(
        f"a value holds the control character U+{ord(bad.group()):04X}, which XML 1.0 "
        f"forbids: {_preview(text)}"
    )


def _preview(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


class FinalizedOutputGenerator(CodeGenerator):
    """Jinja's code generator, writing ``finalize(value)`` instead of
    ``escape(finalize(value))`` where the finalizer is one of `finalizer`'s (it already
    escaped) and the output is escaped whatever happens at run time."""

    def _output_child_pre(self, node: Expr, frame: Frame, finalize: Any) -> None:
        context = frame.eval_ctx
        if (
            context.autoescape
            and not context.volatile
            and finalize.src is not None
            and self.environment.finalize in _MARKUP_FINALIZERS
        ):
            # `_output_child_post` closes both: "(finalize(value))".
            self.write("(" + finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)
