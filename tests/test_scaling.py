"""Linear cost: checking a file 8x larger may not take anywhere near 64x longer.

Each case is one of the inputs that used to be quadratic (one tag with n unknown attributes,
n sibling warnings, a menu whose n branches all trip CF304, n branches with CF301 and CF302).
The whole check runs in process (parse, schema, lint, ordering, the text report) at two sizes;
a linear check takes about 8x the time for 8x the input, a quadratic one about 64x. The bound
(30x) is generous so that a loaded machine does not fail it; it is a ratio, never a timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.conftest import load_script

bench_scaling = load_script("bench_scaling", "tests/benchmarks")
CASES: dict[str, Callable[[int], str]] = bench_scaling.CASES

SMALL = 600
LARGE = 8 * SMALL
BOUND = 30


def check(text: str) -> int:
    """What `callflow validate FILE` does with one file (text and json reports)."""
    return int(bench_scaling.check_in_process(text, with_json=True))


def cost(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        check(text)
        best = min(best, time.process_time() - start)
    return max(best, 1e-4)


@pytest.mark.parametrize("case", [name for name in CASES if name != "elements"])
def test_checking_grows_linearly_with_the_input(case: str) -> None:
    small, large = CASES[case](SMALL), CASES[case](LARGE)
    check(small)  # warm: schema, vocabulary and rules loaded
    ratio = cost(large) / cost(small)
    assert ratio < BOUND, f"{case}: 8x the input took {ratio:.1f}x the time"


@pytest.mark.parametrize("case", [name for name in CASES if name != "elements"])
def test_the_text_report_stays_small_however_many_findings(case: str) -> None:
    assert 0 < check(CASES[case](LARGE)) < 40_000


def xpath_cost(siblings: int) -> float:
    from callflow.document import Document

    document = Document.from_text("<Response>" + "<Say>x</Say><Pause/>" * siblings + "</Response>")
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for element in document.iter_elements():
            assert document.element_at_path(document.xpath_of(element)) is element
        best = min(best, time.process_time() - start)
        document._paths = document._by_path = None  # measure the index's construction too
    return max(best, 1e-4)


def test_xpaths_of_many_siblings_cost_linear_time() -> None:
    # lxml's getpath counts an element's same-named siblings on every call.
    xpath_cost(200)
    assert xpath_cost(16_000) / xpath_cost(2_000) < BOUND
