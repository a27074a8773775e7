"""`callflow init [DIR]`: scaffold a project that validates clean and whose test passes."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "init"
HELP = "scaffold a call flow project: sample flow, template, builder script, test, editor settings"

FLOW = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- A small menu: press 1 for sales, anything else reaches the operator. -->
<Response>
  <Gather numDigits="1" attempts="2" timeout="8000" finishOnKey="#">
    <Say>Welcome. For sales, press 1.</Say>
    <Switch>
      <Case dtmf="1">
        <Dial>
          <To>+15550100001</To>
        </Dial>
      </Case>
      <Default>
        <Dial>
          <Sip>operator@pbx.example.com</Sip>
        </Dial>
      </Default>
    </Switch>
  </Gather>
  <Hangup/>
</Response>
"""

TEMPLATE = """\
{# callflow
title = "Greeting"
description = "Says a greeting, then hangs up."

[variables]
greeting = { type = "string", meaning = "what the caller hears first" }

[samples.morning]
greeting = "Good morning, thanks for calling."

[samples.evening]
greeting = "Good evening, thanks for calling."
#}
<Response>
  <Say>{{ greeting }}</Say>
  <Hangup/>
</Response>
"""

SCRIPT = '''\
"""The menu of flows/menu.xml, written with the builder: `callflow build flows/menu.py`."""

from callflow.dsl import Case, Default, Dial, Gather, Hangup, Response, Say, Sip, Switch, To

flow = Response(
    Gather(
        Say("Welcome. For sales, press 1."),
        Switch(
            Case(Dial(To("+15550100001")), dtmf="1"),
            Default(Dial(Sip("operator@pbx.example.com"))),
        ),
        num_digits=1,
        attempts=2,
        timeout=8000,
        finish_on_key="#",
    ),
    Hangup(),
)
'''

TEST = '''\
"""The project's flows load, validate clean and run in callflow's sandbox."""

from pathlib import Path

import pytest

from callflow import check_document
from callflow.sources import load_flows

FLOWS = Path(__file__).resolve().parent.parent / "flows"


@pytest.mark.parametrize("name", ["menu.xml", "menu.py", "greeting.xml.j2"])
def test_the_flow_validates_clean(name):
    sources = load_flows(FLOWS / name)
    assert sources
    for source in sources:
        assert source.diagnostics == []
        assert source.document is not None
        assert check_document(source.document) == []


def test_the_menu_runs_in_the_sandbox(callflow_client, callflow_sandbox):
    app = callflow_client.create_app("menu")
    callflow_client.execute(app.uuid, (FLOWS / "menu.xml").read_bytes())
    assert callflow_sandbox.store.count("executions") == 1
'''

PRE_COMMIT = """\
# callflow's hooks (see its .pre-commit-hooks.yaml), run with the callflow installed here.
repos:
  - repo: local
    hooks:
      - id: callflow-validate
        name: callflow validate (OpenTact call XML)
        entry: callflow validate
        language: system
        files: '\\.xml$'
        types: [file]
      - id: callflow-templates
        name: callflow templates (Jinja2 call XML templates)
        entry: callflow validate
        language: system
        files: '\\.xml\\.j2$'
        types: [file]
"""

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["callflow"]

[tool.callflow]
# Lint settings for `callflow validate` and the editor: codes to leave out, and severities.
ignore = []

[tool.callflow.severity]
CF313 = "warning"

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


def vscode_settings(schema: Path) -> str:
    settings = {
        "xml.fileAssociations": [{"pattern": "**/*.xml", "systemId": schema.as_uri()}],
        "files.associations": {"*.xml.j2": "jinja-xml"},
        "glspc.server.command": "callflow",
        "glspc.server.commandArguments": ["lsp"],
        "glspc.server.languageId": ["xml", "jinja-xml", "python"],
    }
    return json.dumps(settings, indent=2) + "\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        metavar="DIR",
        help="where to create the project (default: the current folder); existing files are kept",
    )


def scaffold(directory: Path) -> dict[str, str]:
    """Relative path → content of every file `callflow init` writes into ``directory``."""
    from callflow.resources import default_schema_path

    name = os.path.basename(os.path.abspath(directory)).replace(" ", "-") or "callflow-project"
    return {
        "flows/menu.xml": FLOW,
        "flows/greeting.xml.j2": TEMPLATE,
        "flows/menu.py": SCRIPT,
        "tests/test_flows.py": TEST,
        ".pre-commit-config.yaml": PRE_COMMIT,
        "pyproject.toml": PYPROJECT.format(name=name),
        ".vscode/settings.json": vscode_settings(Path(os.path.abspath(default_schema_path()))),
    }


def run(args: argparse.Namespace) -> Outcome:
    from callflow._files import create_new
    from callflow.commands._common import Outcome
    from callflow.errors import InputError

    directory = Path(args.directory)
    created: list[str] = []
    skipped: list[str] = []
    for relative, content in scaffold(directory).items():
        target = directory / relative
        try:
            made = create_new(target, content.encode("utf-8"))
        except OSError as error:
            raise InputError(f"{target}: cannot create it: {error.strerror}") from None
        (created if made else skipped).append(relative)
    lines = [f"created {directory / name}" for name in created]
    notes = [f"skipped {directory / name} (it exists; left as it is)" for name in skipped]
    if created:
        notes.append("next: callflow validate flows flows/menu.py && python -m pytest")
    return Outcome(
        stdout="".join(line + "\n" for line in lines), stderr="".join(n + "\n" for n in notes)
    )
