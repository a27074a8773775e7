"""The doc-test harness itself: it runs each kind of block, and it fails a page that is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sybil import Document

from tests.docs.harness import make_sybil, matches, normalise, parse_info

ROOT = Path(__file__).resolve().parents[2]
FENCE = "```"


def page(tmp_path: Path, text: str) -> Document:
    path = tmp_path / "page.md"
    path.write_text(text.replace("'''", FENCE), encoding="utf-8")
    return make_sybil(tmp_path, ["*.md"]).parse(path)


def run_page(document: Document) -> list[str]:
    """Evaluate every block of a page as pytest would; the failures, one line each."""
    from tests.docs.harness import setup_page, teardown_page

    failures: list[str] = []
    setup_page(document.namespace)
    try:
        for example in document:
            try:
                example.evaluate()
            except Exception as error:  # a failing block is what these tests look for
                failures.append(f"line {example.line}: {type(error).__name__}: {error}")
    finally:
        teardown_page(document.namespace)
    return failures


def test_info_lines_give_the_language_and_the_title() -> None:
    assert parse_info('xml title="flows/menu.xml"') == ("xml", "flows/menu.xml")
    assert parse_info("console") == ("console", None)
    assert parse_info("") == ("", None)
    assert parse_info("jinja title='a.xml.j2' linenums=\"1\"") == ("jinja", "a.xml.j2")


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "c"], False),
        (["a", "..."], ["a", "x", "y"], True),
        (["...", "z"], ["a", "z"], True),
        (["...", "z"], ["a", "y"], False),
        (["a", "...", "c", "...", "e"], ["a", "b", "c", "d", "e"], True),
        (["a", "...", "c"], ["a", "c"], True),
        (["a"], ["a", "extra"], False),
        ([], [], True),
    ],
)
def test_a_wildcard_line_matches_any_number_of_lines(
    expected: list[str], actual: list[str], result: bool
) -> None:
    assert matches(expected, actual) is result


def test_output_shows_the_page_folder_as_home_and_ignores_trailing_whitespace(
    tmp_path: Path,
) -> None:
    assert normalise(f"{tmp_path}/flows/a.xml: ok   \n\n", tmp_path) == ["~/flows/a.xml: ok"]


def test_a_good_page_passes_every_kind_of_block(tmp_path: Path) -> None:
    document = page(
        tmp_path,
        """# A page

'''xml title="flows/menu.xml"
<Response><Say>Hi</Say></Response>
'''

'''python
import pathlib
text = pathlib.Path("flows/menu.xml").read_text()
'''

'''python
assert "<Say>Hi</Say>" in text   # the same namespace as the block above
'''

'''console
$ cat flows/menu.xml
<Response><Say>Hi</Say></Response>
$ pwd; echo "$HOME"
~
~
$ printf 'one  \\ntwo\\nthree\\n'
one
...
$ callflow validate flows/menu.xml
1 file checked, no problems
$ ls nothing 2>&1 | sed 's/.*/&/' >/dev/null; echo $?
0
'''

'''toml
[tool.callflow]
ignore = ["CF313"]
'''

'''yaml
repos: [{repo: local}]
'''

'''json
{"a": [1, 2]}
'''

'''xml
<Response/>
'''

'''sh
python3 -m venv .venv && .venv/bin/pip --version
'''

'''text
anything at all < & >
'''
""",
    )
    assert len(list(document)) == 10
    assert run_page(document) == []


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        ("'''console\n$ echo hello\ngoodbye\n'''", "printed something else"),
        ("'''console\n$ echo hello\n'''", "printed something else"),
        ("'''console\n$ printf 'a\\nb\\n'\na\n'''", "printed something else"),
        ("'''console\nhello\n'''", "starts with a `$ ` command"),
        ("'''python\nraise RuntimeError('broken sample')\n'''", "broken sample"),
        ("'''python\nassert undefined_name\n'''", "undefined_name"),
        ("'''xml\n<Response><Say></Response>\n'''", "does not parse"),
        ("'''toml\n[tool.callflow\n'''", "does not parse"),
        ("'''json\n{'a': 1}\n'''", "does not parse"),
        ("'''yaml\nrepos: [\n'''", "does not parse"),
        ("'''jinja\n{% if x %}\n'''", "does not parse"),
        ("'''sh\nif then fi (\n'''", "does not parse"),
        ("'''lua\nrequire('x').setup({ cmd = { 'a' }\n'''", "does not parse"),
        ("'''lua\nlocal s = 'open\n'''", "does not parse"),
        ("'''pyhton\nprint(1)\n'''", "neither a file"),
        ("'''xml title=\"../outside.xml\"\n<Response/>\n'''", "relative path inside"),
    ],
)
def test_a_wrong_block_fails(tmp_path: Path, block: str, complaint: str) -> None:
    failures = run_page(page(tmp_path, f"# Bad\n\nSome text.\n\n{block}\n"))
    assert len(failures) == 1, failures
    assert failures[0].startswith("line 5: ") and complaint in failures[0], failures


def test_each_page_starts_in_a_fresh_empty_folder(tmp_path: Path) -> None:
    write = "'''python title=\"left.txt\"\nx\n'''\n"
    look = "'''console\n$ ls\n'''\n"
    first = page(tmp_path, write)
    assert run_page(first) == []
    second = page(tmp_path, look)
    assert run_page(second) == []  # `ls` printed nothing: left.txt is not there
    assert Path.cwd() != tmp_path


def test_pytest_reports_a_bad_page_with_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text(
        "# Bad page\n\n```console\n$ echo hello\ngoodbye\n```\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text(
        "from tests.docs.harness import make_sybil\n"
        "pytest_collect_file = make_sybil(__import__('pathlib').Path(__file__).parent,"
        " ['*.md']).pytest()\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-q",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "bad.md::line:3,column:1" in output
    assert "line 4: `$ echo hello`" in output and "goodbye" in output
