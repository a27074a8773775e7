"""Key positions in TOML: every key and array item of any document is found at its place."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.scenarios._positions import key_positions

# The module is private; its rule is what every scenario error location rests on.

BARE = re.compile(r"[A-Za-z0-9_-]+")
keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=6),
)
scalars = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
tables = st.dictionaries(keys, values, max_size=4)


def toml_key(key: str) -> str:
    return key if BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any, *, multiline: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        items = [toml_value(v, multiline=multiline) for v in value]
        if multiline and items:
            return "[\n  " + ",\n  ".join(items) + ",\n]"
        return "[" + ", ".join(items) + "]"
    inner = ", ".join(f"{toml_key(k)} = {toml_value(v, multiline=False)}" for k, v in value.items())
    return "{ " + inner + " }" if inner else "{}"


def write(
    document: dict[str, Any], sections: dict[str, dict[str, Any]], arrays: list[dict[str, Any]]
) -> str:
    lines = [
        f"{toml_key(k)} = {toml_value(v, multiline=True)}  # note" for k, v in document.items()
    ]
    for name, table in sections.items():
        lines.append(f"\n[section.{toml_key(name)}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v, multiline=True)}" for k, v in table.items())
    for table in arrays:
        lines.append("\n[[call]]")
        lines.extend(f"{toml_key(k)} = {toml_value(v, multiline=True)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def paths(value: Any, prefix: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(paths(v, (*prefix, i)))
    return found


@settings(max_examples=60, deadline=None)
@given(
    tables.filter(lambda t: not ({"section", "call"} & set(t))),
    st.dictionaries(keys, tables, max_size=2),
    st.lists(tables, max_size=3),
)
def test_every_key_and_item_is_found_where_it_was_written(
    document: dict[str, Any], sections: dict[str, dict[str, Any]], arrays: list[dict[str, Any]]
) -> None:
    text = write(document, sections, arrays)
    data = tomllib.loads(text)
    positions = key_positions(text)
    lines = text.splitlines()
    for path in paths(data, ())[1:]:
        assert path in positions, (path, text)
        line, column = positions[path]
        last = path[-1]
        if isinstance(last, str):
            written = lines[line - 1][column - 1 :]
            # A key is found where it starts; a table by its header.
            assert written.startswith((toml_key(last), "[")), (path, text)


def test_dotted_keys_and_headers() -> None:
    text = 'a.b = 1\n[t]\n"x y".z = [1,\n 2]\n[[call]]\nname = "n"\n[call.expect]\nheard = ["h"]\n'
    positions = key_positions(text)
    assert positions[("a", "b")] == (1, 3)
    assert positions[("t", "x y", "z")] == (3, 7)
    assert positions[("t", "x y", "z", 1)] == (4, 2)
    assert positions[("call", 0, "expect", "heard", 0)] == (8, 10)


def test_multiline_strings_do_not_confuse_lines() -> None:
    text = "a = \"\"\"one\n[not a table]\nb = 2\"\"\"\nc = '''x\n'''\nd = 1\n"
    positions = key_positions(text)
    assert positions[("d",)] == (6, 1)
    assert ("b",) not in positions and ("not a table",) not in positions


def test_the_cost_is_linear_in_the_size_of_the_file(
    in_fresh_process: Callable[[], bool],
) -> None:
    if in_fresh_process():
        return
    import cProfile
    import pstats

    from callflow.scenarios import parse_scenario_text

    # Counted in function calls rather than seconds: the count does not depend on the load.
    def cost(calls: int) -> int:
        text = 'flow = "menu.xml"\n' + "".join(
            f'[[call]]\nname = "call {i}"\npress = ["1", ""]\n'
            f'expect = {{ heard = ["a", "b"], ended = {{ by = "flow", tag = "t{i}" }} }}\n'
            for i in range(calls)
        )
        profile = cProfile.Profile()
        profile.enable()
        parse_scenario_text(text, Path("big.calls.toml"))
        profile.disable()
        total: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        return total

    small, large = cost(200), cost(2000)
    # Ten times the calls: ten times the work (quadratic would be a hundred).
    assert large < small * 11
