"""The fast path of a kept template's render (the flow server's replies): what
`TemplateRenderer.render_marked` gives for one compiled template, one context and no sample,
with the work that is the same for every render done once.

Done once: the header's defaults, typed and checked (`apply_types` over them alone), and the
template's globals under them, the way Jinja's ``new_context`` would lay them. Per render:
the context laid on top, the template's name, one Jinja ``Context`` made from that mapping
directly, and the bounded render. A context giving a typed variable (whose value must be
converted or checked), a header with problems and anything that goes wrong while the
mapping is made go through `render_marked` itself, which reports them. A property test holds
this module to `render_marked`: the same `Rendered` for every context.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from callflow.templating._header import apply_types, kind_of
from callflow.templating._render import MAIN_TEMPLATE_KEY, Rendered, TemplateRenderer
from callflow.templating._sandbox import MAX_OUTPUT_FACTOR, render_bounded


class PreparedRender:
    """Renders ``compiled`` (shown as ``shown``) again and again, as `render_marked` would."""

    __slots__ = ("_base", "_compiled", "_fast", "_max_bytes", "_renderer", "_shown", "_typed")

    def __init__(
        self, renderer: TemplateRenderer, compiled: jinja2.Template, shown: str, max_bytes: int
    ) -> None:
        self._renderer = renderer
        self._compiled = compiled
        self._shown = shown
        self._max_bytes = max_bytes
        header = renderer._header_of(compiled)  # (the package's own)
        defaults, mistyped = apply_types(header, [("its default", header.defaults)])
        self._typed = frozenset(
            name for name, variable in header.variables.items() if kind_of(variable.type)
        )
        # Jinja's new_context: the template's globals, the values over them.
        self._base = dict(compiled.globals, **defaults)
        # A trusted render is Jinja's own Template.render: left to render_marked.
        self._fast = bool(shown) and not renderer.trusted and not header.problems and not mistyped

    def render_marked(self, context: Mapping[str, object] | None) -> Rendered:
        """The plain path: `TemplateRenderer.render_marked` itself."""
        return self._renderer.render_marked(
            self._compiled, context, shown=self._shown, max_bytes=self._max_bytes
        )

    def render(self, context: Mapping[str, object] | None) -> Rendered:
        """What `render_marked` gives for ``context``."""
        context = context or {}
        if not self._fast or not self._typed.isdisjoint(context):
            return self.render_marked(context)
        compiled = self._compiled
        renderer = self._renderer
        try:
            parent = dict(self._base, **context)
        except TypeError:  # a name that is not a string: render_marked says so
            return self.render_marked(context)
        parent[MAIN_TEMPLATE_KEY] = compiled.name
        if compiled.filename:
            renderer.files.show_as(compiled.filename, self._shown)
        environment = compiled.environment
        jinja_context = environment.context_class(
            environment, parent, compiled.name, compiled.blocks, globals=compiled.globals
        )
        try:
            marked = render_bounded(
                compiled, parent, max_output=self._max_bytes * MAX_OUTPUT_FACTOR,
                context=jinja_context,
            )  # fmt: skip
        except Exception as error:  # every failure inside a template becomes a diagnostic
            problem = renderer._render_diagnostic(error, compiled, ())
            return Rendered(None, self._shown, (), [problem])
        return Rendered(marked, self._shown, (), [])
