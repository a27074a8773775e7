"""Diagnostics and their locations: codes, equality, ordering, ranking, collapsing, capping."""

from __future__ import annotations

import json
import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callflow.diagnostics import (
    CODES,
    Diagnostic,
    Severity,
    cap_repeats,
    collapse_repeats,
    has_errors,
    in_order,
    ranked,
    register_code,
    sort_key,
)
from callflow.sourcemap import SourceLocation, SourceMap


def make(
    code: str = "CF203",
    severity: Severity = Severity.ERROR,
    message: str = "unknown attribute",
    file: str = "flow.xml",
    line: int = 1,
    column: int | None = 1,
    chain: tuple[str, ...] = (),
) -> Diagnostic:
    return Diagnostic(code, severity, message, SourceLocation(file, line, column, chain))


severities = st.sampled_from(list(Severity))
locations = st.builds(
    SourceLocation,
    st.sampled_from(["a.xml", "b.xml", "flows/c.xml.j2"]),
    st.integers(1, 40),
    st.none() | st.integers(1, 20),
    st.sampled_from([(), ("called from a.py:3",), ("with sample `closed`",)]),
)
diagnostics = st.builds(
    Diagnostic,
    st.sampled_from(["CF101", "CF203", "CF305", "CF320"]),
    severities,
    st.sampled_from(["m", "n"]),
    locations,
)


# ------------------------------------------------------------------ codes


def test_every_registered_code_is_cf_and_digits_with_a_title() -> None:
    assert CODES
    for code, title in CODES.items():
        assert re.fullmatch(r"CF\d{3,4}", code), code
        assert title and title == title.strip(), code


def test_registering_a_code_twice_with_its_title_is_harmless() -> None:
    register_code("CF203", CODES["CF203"])
    assert CODES["CF203"] == "unknown attribute"


def test_a_code_cannot_be_registered_again_with_another_title() -> None:
    with pytest.raises(ValueError, match="CF203 is already registered as 'unknown attribute'"):
        register_code("CF203", "something else")
    assert CODES["CF203"] == "unknown attribute"


# ------------------------------------------------------------------ one diagnostic


def test_severities_rank_errors_first_then_warnings_then_infos() -> None:
    assert [s.rank for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)] == [0, 1, 2]


def test_equal_diagnostics_hash_alike_and_the_snippet_does_not_count() -> None:
    a = make()
    b = Diagnostic(a.code, a.severity, a.message, a.location, snippet="<Say/>")
    assert a == b and hash(a) == hash(b)
    assert a != make(message="other")
    assert a != make(column=2)
    assert a.__eq__("CF203") is NotImplemented


def test_str_is_location_code_message_with_control_characters_shown() -> None:
    assert str(make(message="bad \x1b[2J value", line=2, column=3)) == (
        "flow.xml:2:3: CF203 bad \\x1b[2J value"
    )


def test_repr_names_code_severity_place_and_message() -> None:
    assert repr(make(severity=Severity.WARNING)) == (
        "Diagnostic(CF203 warning at flow.xml:1:1: 'unknown attribute')"
    )


def test_is_error_only_for_errors() -> None:
    assert make().is_error
    assert not make(severity=Severity.WARNING).is_error


def test_to_dict_is_the_json_form_with_a_null_column() -> None:
    found = Diagnostic(
        "CF305",
        Severity.WARNING,
        "m",
        SourceLocation("f.xml", 4, None, ("called from a.py:2",)),
        xpath="/Response/Pause[1]",
        hint="h",
    )
    assert found.to_dict() == {
        "file": "f.xml",
        "line": 4,
        "column": None,
        "code": "CF305",
        "severity": "warning",
        "message": "m",
        "hint": "h",
        "xpath": "/Response/Pause[1]",
        "chain": ["called from a.py:2"],
    }
    json.dumps(found.to_dict())


# ------------------------------------------------------------------ many diagnostics


def test_in_order_is_file_line_column_then_the_more_severe() -> None:
    later = make(file="z.xml")
    no_column = make(line=3, column=None)
    warning = make(line=3, column=5, severity=Severity.WARNING)
    error = make(line=3, column=5, code="CF205")
    first = make(line=2, column=9)
    assert in_order([later, warning, error, no_column, first]) == [
        first,
        no_column,
        error,
        warning,
        later,
    ]


def test_ranked_puts_every_error_before_any_warning() -> None:
    warning = make(line=1, severity=Severity.WARNING)
    info = make(line=1, severity=Severity.INFO)
    error = make(line=9)
    assert ranked([info, warning, error]) == [error, warning, info]


@given(st.lists(diagnostics, max_size=30))
def test_in_order_and_ranked_sort_without_losing_or_adding(found: list[Diagnostic]) -> None:
    ordered = in_order(found)
    assert sorted(map(repr, ordered)) == sorted(map(repr, found))
    assert [sort_key(d) for d in ordered] == sorted(sort_key(d) for d in found)
    best = ranked(found)
    assert sorted(map(repr, best)) == sorted(map(repr, found))
    ranks = [d.severity.rank for d in best]
    assert ranks == sorted(ranks)
    for rank in set(ranks):
        same = [sort_key(d) for d in best if d.severity.rank == rank]
        assert same == sorted(same)


@given(st.lists(diagnostics, max_size=20))
def test_has_errors_is_whether_any_is_an_error(found: list[Diagnostic]) -> None:
    assert has_errors(found) == any(d.severity is Severity.ERROR for d in found)
    assert has_errors(iter(found)) == has_errors(found)


def test_a_repeated_problem_is_reported_once_with_a_count_and_the_other_ways_there() -> None:
    one = make(chain=("with sample `open`",))
    two = make(chain=("with sample `closed`",))
    three = make(chain=("with sample `open`",))
    (collapsed,) = collapse_repeats([one, two, three])
    assert collapsed.message == "unknown attribute (3 times)"
    assert collapsed.location.chain == ("with sample `open`", "also with sample `closed`")
    assert (collapsed.location.line, collapsed.location.column) == (1, 1)


def test_collapsing_keeps_different_places_apart_in_their_order() -> None:
    found = [make(line=2), make(line=1), make(line=2, code="CF205")]
    assert collapse_repeats(found) == found


@given(st.lists(diagnostics, max_size=30))
def test_collapsing_leaves_one_report_per_place(found: list[Diagnostic]) -> None:
    def place(d: Diagnostic) -> tuple[object, ...]:
        loc = d.location
        return (d.code, d.message.split(" (")[0], loc.file, loc.line, loc.column)

    collapsed = collapse_repeats(found)
    assert [place(d) for d in collapsed] == list(dict.fromkeys(place(d) for d in found))
    assert collapse_repeats(collapsed) == collapsed


def test_capping_leaves_short_lists_alone() -> None:
    found = [make(line=n) for n in range(1, 4)]
    assert cap_repeats(found, 3) == found


@given(st.lists(diagnostics, max_size=40), st.integers(1, 5))
def test_capping_keeps_at_most_the_limit_per_code_and_file_and_counts_the_rest(
    found: list[Diagnostic], limit: int
) -> None:
    capped = cap_repeats(found, limit)
    counted = re.compile(r"… and ([\d,]+) more (CF\d+) in this file")
    for key in {(d.location.file, d.code) for d in found}:
        total = sum((d.location.file, d.code) == key for d in found)
        shown = [d for d in capped if (d.location.file, d.code) == key]
        kept = [d for d in shown if not counted.fullmatch(d.message)]
        counts = [d for d in shown if counted.fullmatch(d.message)]
        assert len(kept) == min(total, limit)
        assert len(counts) == (1 if total > limit else 0)
        for count in counts:
            match = counted.fullmatch(count.message)
            assert match is not None and int(match[1].replace(",", "")) == total - limit
            assert count.snippet == ""  # a count quotes nothing


# ------------------------------------------------------------------ locations


def test_a_location_prints_as_the_editor_form() -> None:
    assert str(SourceLocation("a.xml", 3, 7)) == "a.xml:3:7"
    assert str(SourceLocation("a.xml", 3)) == "a.xml:3"


def test_lines_and_columns_are_at_least_one() -> None:
    location = SourceLocation("a.xml", 0, 0)
    assert (location.line, location.column) == (1, 1)
    assert SourceLocation("a.xml", -5).line == 1


def test_a_location_is_immutable() -> None:
    location = SourceLocation("a.xml", 3, 7)
    with pytest.raises(AttributeError, match="immutable"):
        location.line = 4  # type: ignore[misc]


def test_locations_compare_and_hash_by_their_fields() -> None:
    a = SourceLocation("a.xml", 3, 7, ("called from x.py:1",))
    assert a == SourceLocation("a.xml", 3, 7, ("called from x.py:1",))
    assert hash(a) == hash(SourceLocation("a.xml", 3, 7, ("called from x.py:1",)))
    assert a != SourceLocation("a.xml", 3, 7)
    assert SourceLocation("a.xml", 3, None) < SourceLocation("a.xml", 3, 1)
    assert SourceLocation("a.xml", 9) < SourceLocation("b.xml", 1)


def test_a_location_survives_pickling_and_keeps_its_chain() -> None:
    location = SourceLocation("a.xml", 3, 7, ("in macro `menu`",))
    assert pickle.loads(pickle.dumps(location)) == location
    assert repr(location) == (
        "SourceLocation(file='a.xml', line=3, column=7, chain=('in macro `menu`',))"
    )


def test_with_column_keeps_everything_else() -> None:
    location = SourceLocation("a.xml", 3, 7, ("x",))
    assert location.with_column(None) == SourceLocation("a.xml", 3, None, ("x",))


@given(st.text(max_size=20), st.integers(-5, 10**6), st.none() | st.integers(-5, 10**6))
def test_any_location_has_a_positive_line_and_column(
    file: str, line: int, column: int | None
) -> None:
    location = SourceLocation(file, line, column)
    assert location.line >= 1 and (location.column is None or location.column >= 1)
    assert str(location).startswith(f"{file}:{location.line}")


def test_a_source_map_prefers_the_element_then_the_line_then_identity() -> None:
    by_element = SourceLocation("menu.py", 12)
    by_line = SourceLocation("menu.xml.j2", 4)
    source_map = SourceMap(
        "out.xml",
        identity=True,
        lines={2: by_line},
        elements={"/Response/Say[1]": by_element},
    )
    assert source_map.resolve(2, 5, "/Response/Say[1]") == by_element
    assert source_map.resolve(2, 5) == by_line
    assert source_map.resolve(3, 5) == SourceLocation("out.xml", 3, 5)
    assert source_map.whole_document() == SourceLocation("out.xml", 1)


def test_without_identity_an_unmapped_line_goes_to_the_nearest_mapped_line_above() -> None:
    source_map = SourceMap(
        "t.xml.j2",
        identity=False,
        lines={3: SourceLocation("t.xml.j2", 10), 8: SourceLocation("t.xml.j2", 20)},
    )
    assert source_map.resolve(5) == SourceLocation("t.xml.j2", 10)
    assert source_map.resolve(99) == SourceLocation("t.xml.j2", 20)
    assert source_map.resolve(1) == SourceLocation("t.xml.j2", 1)
    assert source_map.resolve(None) == SourceLocation("t.xml.j2", 1)
