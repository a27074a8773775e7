"""Whether a dispatch table covers a schema: the check the simulator's and the graph's tests share.

A table covers the schema when every tag has a handler or is read by the handler of a parent
that may hold it, and names no tag the schema lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from callflow.resources import default_schema_path
from callflow.vocabulary import Vocabulary, load_vocabulary


def unhandled_tags(
    vocabulary: Vocabulary, handled: Iterable[str], reads: Mapping[str, Iterable[str]]
) -> list[str]:
    """The schema's tags that neither have a handler nor are read by a parent's handler."""
    covered = set(handled)
    for name, element in vocabulary.elements.items():
        covered.update(set(reads.get(name, ())) & set(element.children))
    return sorted(set(vocabulary.elements) - covered)


def unknown_names(
    vocabulary: Vocabulary, handled: Iterable[str], reads: Mapping[str, Iterable[str]]
) -> list[str]:
    """Tags a table names that the schema lacks, or reads under a parent that cannot hold them."""
    known = vocabulary.elements
    problems = [f"<{name}>" for name in handled if name not in known]
    for parent, children in reads.items():
        if parent not in known:
            problems.append(f"<{parent}>")
            continue
        problems.extend(
            f"<{child}> in <{parent}>" for child in children if child not in known[parent].children
        )
    return sorted(problems)


def vocabulary_with_another_action(folder: Path, name: str = "Whisper") -> Vocabulary:
    """The schema's vocabulary plus one action tag ``name`` that nothing handles yet."""
    text = default_schema_path().read_text(encoding="utf-8")
    anchor = '<xs:element name="Call" type="CallType"/>'
    assert anchor in text
    text = text.replace(anchor, f'{anchor}\n      <xs:element name="{name}" type="HangupType"/>', 1)
    path = folder / "extended.xsd"
    path.write_text(text, encoding="utf-8")
    extended = load_vocabulary(path)
    assert name in extended.members("Action")
    return extended
