"""Scenario files: scripted calls through a flow, with expectations, in TOML.

A ``*.calls.toml`` file names a flow and lists ``[[call]]`` tables (the caller's key presses
and other choices, then ``expect``: ``heard``, ``not_heard``, ``dialled``, ``requested``,
``ended``). ``callflow test PATH`` runs them; the pytest plugin collects each call as a test
item ``FILE::NAME``. The format is described in the docs' "Scenario tests" page.

::

    from callflow.scenarios import ScenarioRunner, read_scenario_file

    runner = ScenarioRunner(read_scenario_file("tests/menu.calls.toml"))
    for result in runner.run_all():
        print(result.name, "ok" if result.passed else result.report())
"""

from __future__ import annotations

from callflow.scenarios._file import (
    SCENARIO_SUFFIX,
    ScenarioCall,
    ScenarioFile,
    find_scenario_files,
    parse_scenario_text,
    read_scenario_file,
)
from callflow.scenarios._run import (
    CallResult,
    ScenarioRunner,
    SentRequest,
    load_scenario_flow,
    transcript_lines,
)

__all__ = [
    "SCENARIO_SUFFIX",
    "CallResult",
    "ScenarioCall",
    "ScenarioFile",
    "ScenarioRunner",
    "SentRequest",
    "find_scenario_files",
    "load_scenario_flow",
    "parse_scenario_text",
    "read_scenario_file",
    "transcript_lines",
]
