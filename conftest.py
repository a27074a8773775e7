"""Collects README.md and the pages under docs/ for the doc-test harness (tests/docs/harness.py)."""

from tests.docs.harness import DOCS

pytest_collect_file = DOCS.pytest()
