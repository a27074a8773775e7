"""pytest fixtures for testing code that drives the OpenTact API: a fresh sandbox per test.

Installed with callflow as a pytest plugin (entry point ``callflow.pytest_plugin``):

* ``callflow_sandbox`` — a `callflow.sandbox.Sandbox` with an empty in-memory database
  (seeded with the sandbox account and its TN leases);
* ``callflow_client`` — a `callflow.client.Client` bound to it in-process, logged in;
* ``callflow_sandbox_url`` — the same sandbox served on a loopback port, for code that
  builds its own HTTP client (log in with ``SANDBOX_EMAIL`` / ``SANDBOX_PASSWORD``);
* ``callflow_call_log`` — a function returning the sandbox's call log, newest first: a
  `callflow.client.CallRecord` per executed flow (what the caller heard, each step with its
  source line), whichever client executed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from callflow.client import CallRecord, Client
    from callflow.sandbox import Sandbox


@pytest.fixture
def callflow_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox whose state lives in memory and vanishes after the test."""
    from callflow.sandbox import Sandbox

    sandbox = Sandbox(":memory:")
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def callflow_client(callflow_sandbox: Sandbox) -> Iterator[Client]:
    """A `Client` talking to ``callflow_sandbox`` in-process."""
    with callflow_sandbox.client() as client:
        yield client


@pytest.fixture
def callflow_sandbox_url(callflow_sandbox: Sandbox) -> Iterator[str]:
    """``http://127.0.0.1:PORT/rest`` serving ``callflow_sandbox`` for the test's duration."""
    with callflow_sandbox.serve("127.0.0.1", 0) as server:
        yield server.url


@pytest.fixture
def callflow_call_log(callflow_sandbox: Sandbox) -> Callable[[], list[CallRecord]]:
    """``callflow_call_log()``: the flows executed on ``callflow_sandbox`` so far, newest first."""
    return callflow_sandbox.calls


# ---------------------------------------------------------------- scenario files, snapshots,
# branch coverage: *.calls.toml files are collected as one test item per call
# (``FILE::NAME``); ``callflow_snapshot`` is syrupy's snapshot with callflow's extension;
# ``--callflow-coverage`` prints the flows' branch coverage at the end of the run.

from collections.abc import Iterable  # noqa: E402
from typing import Any  # noqa: E402

if TYPE_CHECKING:
    from callflow.scenarios import CallResult, ScenarioRunner

_COVERAGE_KEY = pytest.StashKey[Any]()
_COVERAGE_STOP = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("callflow", "callflow scenario files and flow coverage")
    group.addoption(
        "--callflow-coverage",
        action="store_true",
        default=False,
        help="record the branches of every call flow simulated and print their coverage",
    )
    group.addoption(
        "--callflow-coverage-report",
        action="append",
        default=[],
        metavar="KIND:PATH",
        help="write flow coverage as json:PATH or cobertura:PATH (repeatable)",
    )
    group.addoption(
        "--callflow-fail-under",
        type=float,
        default=None,
        metavar="PERCENT",
        help="fail the run when flow branch coverage is below PERCENT",
    )


def pytest_configure(config: pytest.Config) -> None:
    wanted = (
        config.getoption("--callflow-coverage")
        or config.getoption("--callflow-coverage-report")
        or config.getoption("--callflow-fail-under") is not None
    )
    if wanted:
        from callflow.coverage import CoverageData, record_coverage, report_spec_problem

        for spec in config.getoption("--callflow-coverage-report"):
            problem = report_spec_problem(spec)
            if problem is not None:
                raise pytest.UsageError(f"--callflow-coverage-report: {problem}")

        data = CoverageData()
        recording = record_coverage(data)
        recording.__enter__()
        config.stash[_COVERAGE_KEY] = data
        config.stash[_COVERAGE_STOP] = recording


def pytest_unconfigure(config: pytest.Config) -> None:
    recording = config.stash.get(_COVERAGE_STOP, None)
    if recording is not None:
        recording.__exit__(None, None, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    data = session.config.stash.get(_COVERAGE_KEY, None)
    if data is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports
        workeroutput["callflow_coverage"] = data.to_records()
        return
    for spec in session.config.getoption("--callflow-coverage-report"):
        data.write_report(spec, base=str(session.config.rootpath))
    under = session.config.getoption("--callflow-fail-under")
    if under is not None and data.percent < under and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: add a finished worker's flow coverage to the controller's."""
    data = node.config.stash.get(_COVERAGE_KEY, None)
    records = getattr(node, "workeroutput", {}).get("callflow_coverage")
    if data is not None and records:
        data.merge_records(records)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    data = config.stash.get(_COVERAGE_KEY, None)
    if data is None:
        return
    terminalreporter.write_sep("-", "callflow branch coverage")
    terminalreporter.write(data.report_text(base=str(config.rootpath)))
    under = config.getoption("--callflow-fail-under")
    if under is not None and data.percent < under:
        terminalreporter.write_line(
            f"FAIL: flow branch coverage {data.percent:.1f}% is under {under:g}%"
        )


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(".calls.toml"):
        collector: pytest.Collector = ScenarioFileCollector.from_parent(parent, path=file_path)
        return collector
    return None


class ScenarioFileCollector(pytest.File):
    """A ``*.calls.toml`` file: one `ScenarioItem` per ``[[call]]``."""

    runner: ScenarioRunner

    def collect(self) -> Iterable[pytest.Item]:
        from callflow.scenarios import ScenarioRunner, read_scenario_file

        update = bool(self.config.getoption("--snapshot-update", default=False))
        self.runner = ScenarioRunner(read_scenario_file(self.path), update_snapshots=update)
        from callflow.scenarios._run import printable

        for call in self.runner.scenario.calls:
            yield ScenarioItem.from_parent(self, name=printable(call.name), call=call)

    def teardown(self) -> None:
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.close()  # the HTTP clients made for an in-process app

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        from callflow.errors import ScenarioError

        if isinstance(excinfo.value, ScenarioError):
            from callflow.reporters import render

            return render(list(excinfo.value.diagnostics), "text").rstrip("\n")
        return super().repr_failure(excinfo)


class ScenarioFailed(Exception):
    """A scenario call whose expectations were not met (carries its `CallResult`)."""

    def __init__(self, result: CallResult) -> None:
        super().__init__(result.name)
        self.result = result


class ScenarioItem(pytest.Item):
    """One scenario call, run through the simulator and held to its expectations."""

    def __init__(self, *, call: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.call = call
        self.line: int = call.location.line
        # Plugins that wrap every test call (pytest-lsp) look for the fixtures given.
        self.funcargs: dict[str, Any] = {}

    def runtest(self) -> None:
        assert isinstance(self.parent, ScenarioFileCollector)
        result = self.parent.runner.run(self.call)
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        from callflow.errors import ScenarioError

        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.result.report().rstrip("\n")
        if isinstance(excinfo.value, ScenarioError):
            from callflow.reporters import render

            return render(list(excinfo.value.diagnostics), "text").rstrip("\n")
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, self.line - 1, f"call {self.name!r}"


@pytest.fixture
def callflow_snapshot(snapshot: Any) -> Any:
    """syrupy's ``snapshot`` storing Documents as canonical XML and Transcripts as text."""
    from callflow.snapshots import CallflowSnapshotExtension

    return snapshot.use_extension(CallflowSnapshotExtension)
