"""The Python builder: one typed class per call XML tag, each node checked as it is built.

    from callflow.dsl import Gather, Hangup, Response, Say

    flow = Response(Gather(Say("Press 1 for sales."), num_digits=1), Hangup())
    print(flow.to_xml(pretty=True))

The element classes are generated from the schema (`callflow.dsl._elements`, which names
what it exports); `parse` turns XML back into them. The modules behind them are private:
`_source` (where nodes were built), `_content` (content models), `_values` (attribute
values), `_nodes` (the node classes) and `_writer` (serialising).
"""

from __future__ import annotations

from callflow.dsl import _elements
from callflow.dsl._elements import *  # noqa: F403  # the generated classes, as `_elements.__all__` lists them
from callflow.dsl._nodes import Comment, Element, FlowElement, Node, UncheckedElement
from callflow.dsl._parsing import parse

__all__ = ["Comment", "Element", "FlowElement", "Node", "UncheckedElement", "parse"]
__all__ += _elements.__all__
