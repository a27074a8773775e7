"""Untrusted templates are contained: sandboxed by default, with bounded memory and time,
and includes that stay inside the template folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.sources import ReadPolicy
from callflow.templating import (
    TemplateRenderer,
    library_path,
    library_templates,
    load_template_sources,
    render_template,
)

Write = Callable[[str, str], Path]
RunCli = Callable[..., Any]

HEADER = "{# callflow\n[samples.basic]\n#}\n"
POPEN = "<Response><Say>{{ lipsum.__globals__['os'].popen('touch X').read() }}</Say></Response>\n"


def _only(sources: list[Any]) -> Any:
    problems = [d for source in sources for d in source.diagnostics]
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------- the sandbox by default


def test_validate_does_not_run_the_popen_escape(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "evil.xml.j2").write_text(HEADER + POPEN, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("validate", "evil.xml.j2")
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "X").exists()
    assert result.code == 1
    assert "evil.xml.j2:4: CF605 the sandbox refused" in result.out


@pytest.mark.parametrize("command", ["validate", "render", "graph", "simulate", "execute"])
def test_every_command_renders_in_the_sandbox(
    tmp_path: Path, run_cli: RunCli, command: str
) -> None:
    marker = tmp_path / "X"
    path = tmp_path / "evil.xml.j2"
    path.write_text(HEADER + POPEN.replace("touch X", f"touch {marker}"), encoding="utf-8")
    result = run_cli(command, path)
    assert not marker.exists()
    assert result.code == 1
    assert f"{path}:4: CF605 the sandbox refused" in result.out + result.err


def test_load_template_sources_is_sandboxed_by_default(write: Write, tmp_path: Path) -> None:
    path = write("evil.xml.j2", HEADER + POPEN.replace("touch X", f"touch {tmp_path}/X"))
    problem = _only(load_template_sources(path))
    assert (problem.code, problem.location.line) == ("CF605", 4)
    assert not (tmp_path / "X").exists()


def test_trusted_rendering_is_an_explicit_choice(write: Write) -> None:
    path = write("t.xml.j2", HEADER + "<Response><Say>{{ ''.__class__.__name__ }}</Say></Response>")
    assert _only(load_template_sources(path)).code == "CF605"
    [source] = load_template_sources(path, policy=ReadPolicy(trusted=True))
    assert source.diagnostics == [] and source.document is not None
    assert source.document.root[0].text == "str"


def test_renderer_and_render_template_take_trusted(write: Write) -> None:
    path = write("t.xml.j2", "<Response><Say>{{ ''.__class__.__name__ }}</Say></Response>")
    assert TemplateRenderer([path.parent]).sandboxed
    assert not TemplateRenderer([path.parent], trusted=True).sandboxed
    assert render_template(path, trusted=True).root[0].text == "str"
    with pytest.raises(Exception, match="CF605"):
        render_template(path)


def test_the_sandbox_refuses_in_place_changes(write: Write) -> None:
    path = write("t.xml.j2", HEADER + "<Response><Say>{{ [1].append(2) }}</Say></Response>")
    assert _only(load_template_sources(path)).code == "CF605"


# ---------------------------------------------------------------- bounds on memory and time

BOMBS = {
    "repeat": '<Say>{{ "x" * 10**9 }}</Say>',
    "repeat_list": "<Say>{{ ([1] * 10**5) * 10**5 }}</Say>",
    "power": "<Say>{{ 2 ** (10**9) }}</Say>",
    "join": '<Say>{{ (range(10**5)|list)|join("y" * 10**5) }}</Say>',
    "join_method": '<Say>{{ ("y" * 10**5).join(range(10**5)|map("string")) }}</Say>',
    "replace": '<Say>{{ ("x" * 10**5)|replace("", "y" * 10**5) }}</Say>',
    "center": '<Say>{{ "x"|center(10**9) }}</Say>',
    "str_center": '<Say>{{ "x".center(10**9) }}</Say>',
    "format": '<Say>{{ "{:>999999999}".format("x") }}</Say>',
    "percent": '<Say>{{ "%999999999s" % "x" }}</Say>',
    "format_filter": '<Say>{{ "%999999999s"|format("x") }}</Say>',
    "indent": '<Say>{{ ("a\\n" * 10**5)|indent(10**5) }}</Say>',
    "namespace_doubling": (
        '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
        "{% endfor %}<Say>{{ ns.s|length }}</Say>"
    ),
    "macro_doubling": (
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        '<Say>{{ f("x", 64) }}</Say>'
    ),
    "output_loop": (
        "<Say>{% for i in range(10**5) %}{% for j in range(10**5) %}x{% endfor %}{% endfor %}</Say>"
    ),
    "silent_loop": (
        "<Say>{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}</Say>"
    ),
    "macro_loop": (
        "{% macro m() %}{% for i in range(10**5) %}{% for j in range(10**5) %}x"
        "{% endfor %}{% endfor %}{% endmacro %}<Say>{{ m()|length }}</Say>"
    ),
    "deep_recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}<Say>{{ f(0) }}</Say>",
    "wide_recursion": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "<Say>{{ f(60) }}</Say>"
    ),
}

_PEAK = """
import json, resource, sys, time
from pathlib import Path
from callflow.templating import load_template_sources
start = time.monotonic()
sources = load_template_sources(Path(sys.argv[1]))
problems = [(d.code, d.location.line, d.message) for s in sources for d in s.diagnostics]
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"problems": problems, "seconds": time.monotonic() - start, "peak": peak_kib}))
"""


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_resource_bomb_ends_in_a_located_diagnostic_within_seconds(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / f"{name}.xml.j2"
    path.write_text(HEADER + "<Response>\n" + BOMBS[name] + "\n</Response>\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,  # the render itself must stop far sooner; this only keeps the suite alive
    )
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    [(code, line, message)] = outcome["problems"]
    assert code in ("CF604", "CF612"), message
    assert line == 5, message
    assert outcome["seconds"] < 15
    assert outcome["peak"] < 512 * 1024, f"peak {outcome['peak']} KiB"


def test_a_bomb_in_validate_leaves_the_other_files_checked(tmp_path: Path) -> None:
    (tmp_path / "bomb.xml.j2").write_text(
        HEADER + "<Response>\n" + BOMBS["silent_loop"] + "\n</Response>\n", encoding="utf-8"
    )
    (tmp_path / "bad.xml").write_text('<Response><Gather numDigts="1"/></Response>\n')
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "callflow", "validate", "bomb.xml.j2", "bad.xml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "bomb.xml.j2:5: CF612" in proc.stdout
    assert "bad.xml:1:19: CF203" in proc.stdout
    assert time.monotonic() - started < 30


def test_limits_leave_nothing_behind_for_the_next_render(write: Write) -> None:
    bomb = write("bomb.xml.j2", HEADER + "<Response>\n" + BOMBS["silent_loop"] + "\n</Response>\n")
    ok = write("ok.xml.j2", HEADER + "<Response><Say>{{ 'hi' * 3 }}</Say></Response>\n")
    assert _only(load_template_sources(bomb)).code == "CF612"
    for _ in range(3):
        [source] = load_template_sources(ok)
        assert source.diagnostics == [] and source.document is not None
        assert source.document.root[0].text == "hihihi"


def test_ordinary_sizes_still_render(write: Write) -> None:
    path = write(
        "t.xml.j2",
        HEADER + '<Response><Say>{{ ("ab" * 1000)|length }} {{ "x"|center(9) }}'
        " {{ [1, 2] + [3] }} {{ 2 ** 10 }} {{ '%5s' % 'x' }}</Say></Response>\n",
    )
    [source] = load_template_sources(path)
    assert source.diagnostics == [] and source.document is not None
    assert source.document.root[0].text == "2000     x     [1, 2, 3] 1024     x"


# ---------------------------------------------------------------- the library, both ways


def _library_cases() -> list[tuple[str, str]]:
    return [(t.name, sample) for t in library_templates() for sample in t.header.samples]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(_library_cases()), extra=st.text(max_size=20))
def test_sandboxed_rendering_equals_trusted_rendering_for_the_library(
    case: tuple[str, str], extra: str
) -> None:
    name, sample = case
    sandboxed = TemplateRenderer(auto_reload=False)
    trusted = TemplateRenderer(trusted=True, auto_reload=False)
    context = {"unused_extra": extra}
    ours, our_problems = sandboxed.render_document(name, context, sample=sample)
    theirs, their_problems = trusted.render_document(name, context, sample=sample)
    assert [d.code for d in our_problems] == [d.code for d in their_problems]
    assert (ours is None) == (theirs is None)
    if ours is not None and theirs is not None:
        assert ours.text == theirs.text


def test_every_library_sample_renders_in_the_sandbox() -> None:
    for path in sorted(library_path().glob("*.xml.j2")):
        for source in load_template_sources(path):
            assert not [d for d in source.diagnostics if d.is_error], source.diagnostics


# ---------------------------------------------------------------- includes and links


@pytest.mark.parametrize("tag", ["include", "import", "extends"])
def test_an_include_through_a_link_out_of_the_folder_is_refused(tmp_path: Path, tag: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xml.j2").write_text("{% macro m() %}SECRET{% endmacro %}SECRET\n")
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "part.xml.j2").symlink_to(outside / "secret.xml.j2")
    statement = {
        "include": "{% include 'part.xml.j2' %}",
        "import": "{% import 'part.xml.j2' as part %}{{ part.m() }}",
        "extends": "{% extends 'part.xml.j2' %}",
    }[tag]
    path = flows / "main.xml.j2"
    path.write_text(HEADER + "<Response><Say>\n" + statement + "\n</Say></Response>\n")
    problem = _only(load_template_sources(path))
    assert problem.code == "CF611"
    assert problem.location.file == str(path) and problem.location.line == 5
    assert "SECRET" not in str(problem)
    [source] = load_template_sources(path, policy=ReadPolicy(follow_links=True))
    assert not [d for d in source.diagnostics if d.code == "CF611"]


def test_a_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "hi.xml.j2").write_text("<Say>hi</Say>")
    (tmp_path / "hi.xml.j2").symlink_to(tmp_path / "real" / "hi.xml.j2")
    path = tmp_path / "main.xml.j2"
    path.write_text(HEADER + "<Response>{% include 'hi.xml.j2' %}</Response>\n")
    [source] = load_template_sources(path)
    assert source.diagnostics == [] and source.document is not None


def test_an_include_of_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.xml.j2")
    path = tmp_path / "main.xml.j2"
    path.write_text(HEADER + "<Response>\n{% include 'pipe.xml.j2' %}\n</Response>\n")
    problem = _only(load_template_sources(path))
    assert (problem.code, problem.location.line) == ("CF611", 5)
    assert "not a regular file" in problem.message


def test_an_include_swapped_for_a_fifo_after_its_checks_is_refused_on_the_open_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checks look at the path, then the file is opened: a swap in between is caught on
    # the open descriptor (non-blocking), never read through or waited on.
    os.mkfifo(tmp_path / "pipe.xml.j2")
    (tmp_path / "plain.xml.j2").write_text("<Say>hi</Say>")
    real_stat = os.stat

    def stat_before_the_swap(name: object, *args: object, **kwargs: object) -> os.stat_result:
        if str(name).endswith("pipe.xml.j2"):  # what the path was when it was checked
            return real_stat(tmp_path / "plain.xml.j2")
        return real_stat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat_before_the_swap)
    path = tmp_path / "main.xml.j2"
    path.write_text(HEADER + "<Response>\n{% include 'pipe.xml.j2' %}\n</Response>\n")
    problem = _only(load_template_sources(path))
    assert (problem.code, problem.location.line) == ("CF611", 5)
    assert "not a regular file" in problem.message


def test_unsaved_text_is_checked_with_includes_from_disk(tmp_path: Path) -> None:
    (tmp_path / "part.xml.j2").write_text("<Say>{{ word }}</Say>")
    path = tmp_path / "main.xml.j2"
    path.write_text(HEADER + "<Response><Hangup/></Response>\n")
    buffer = HEADER + "<Response>\n{% include 'part.xml.j2' %}\n</Response>\n"
    [source] = load_template_sources(path, context={"word": "edited"}, text=buffer)
    assert source.diagnostics == [] and source.document is not None
    assert source.document.root[0].text == "edited"
    broken = load_template_sources(path, text=HEADER + "<Response>\n{{ nope }}\n</Response>\n")
    problem = _only(broken)
    assert (problem.code, problem.location.line, problem.location.file) == ("CF602", 5, str(path))


@pytest.mark.parametrize(
    "expression",
    [
        "'{0.__class__.__mro__}'.format('x')",
        "('{0.__class__}'|safe).format('x')",
        "'{a.__class__}'.format_map({'a': 'x'})",
    ],
)
def test_format_strings_cannot_reach_python_internals(write: Write, expression: str) -> None:
    path = write("fmt.xml.j2", HEADER + "<Response><Say>{{ " + expression + " }}</Say></Response>")
    assert _only(load_template_sources(path)).code == "CF605"
