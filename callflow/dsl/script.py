"""Running builder scripts: a `.py` file that defines ``flow`` or ``build()`` becomes a Document.

Running a script never raises for the script's own faults: a syntax error, an exception, a
rejected node, a missing or wrong ``flow`` each become a CF7xx diagnostic at the script's
line, so ``callflow validate script.py`` reports them like any other problem.
"""

from __future__ import annotations

import ast
import contextlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.dsl.core import USER, FlowElement, Node, file_kind
from callflow.errors import BuildError
from callflow.sourcemap import SourceLocation
from callflow.sources import LoadedSource

register_code("CF701", "builder rejected a node")
register_code("CF702", "builder script raised an exception")
register_code("CF703", "builder script defines neither `flow` nor `build()`")
register_code("CF704", "builder script's flow is not a <Response>")
register_code("CF705", "builder script is not valid Python")

#: The module name a script runs under, so that its ``if __name__ == "__main__":`` block
#: (printing the XML, say) does not run when callflow loads it.
SCRIPT_MODULE = "__callflow_script__"


class ScriptResult:
    """What running a builder script gave: the flow, or the diagnostics explaining why not."""

    __slots__ = ("diagnostics", "flow", "path")

    def __init__(self, path: str, flow: FlowElement | None, diagnostics: list[Diagnostic]) -> None:
        self.path = path
        self.flow = flow
        self.diagnostics = diagnostics


def run_script(path: Path) -> ScriptResult:
    """Run the builder script at ``path`` and return its flow (never raises for its faults)."""
    shown = str(path)
    where = SourceLocation(shown, 1)
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        return ScriptResult(shown, None, [_error("CF001", "no such file", where)])
    except OSError as error:
        return ScriptResult(
            shown, None, [_error("CF007", f"cannot read the file: {error.strerror}", where)]
        )
    try:
        code = compile(source, shown, "exec", dont_inherit=True)
    except SyntaxError as error:
        location = SourceLocation(shown, error.lineno or 1, error.offset or None)
        return ScriptResult(
            shown, None, [_error("CF705", f"not valid Python: {error.msg}", location)]
        )
    except ValueError as error:  # e.g. NUL bytes
        return ScriptResult(shown, None, [_error("CF705", f"not valid Python: {error}", where)])

    module = types.ModuleType(SCRIPT_MODULE)
    module.__file__ = shown
    with _script_environment(path, module):
        try:
            exec(code, module.__dict__)
            flow = _flow_of(module, source, shown)
        except BuildError as error:
            return ScriptResult(shown, None, [_build_error(error, shown)])
        except (Exception, SystemExit) as error:
            location = _raise_location(error.__traceback__, shown)
            message = f"the script raised {type(error).__name__}: {error}".rstrip(": ")
            return ScriptResult(shown, None, [_error("CF702", message, location)])
    if isinstance(flow, Diagnostic):
        return ScriptResult(shown, None, [flow])
    try:
        flow.to_element()  # completeness is checked here, before any consumer sees it
    except BuildError as error:
        return ScriptResult(shown, None, [_build_error(error, shown)])
    return ScriptResult(shown, flow, [])


def load_script_sources(path: Path) -> list[LoadedSource]:
    """The builder script at ``path`` as a LoadedSource whose Document maps to its lines."""
    result = run_script(path)
    document = result.flow.to_document(result.path) if result.flow is not None else None
    return [LoadedSource(path, result.path, document, result.diagnostics)]


# ---------------------------------------------------------------- helpers


def _error(
    code: str, message: str, location: SourceLocation, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location, hint=hint)


def _build_error(error: BuildError, shown: str) -> Diagnostic:
    location = error.location
    if location is None:
        location = _raise_location(error.__traceback__, shown)
    return _error("CF701", error.message, location, error.hint)


@contextlib.contextmanager
def _script_environment(path: Path, module: types.ModuleType) -> Iterator[None]:
    """The script's folder importable, the script a module, its prints kept off stdout
    (stdout carries the XML for `callflow build`)."""
    folder = str(path.resolve().parent)
    previous = sys.modules.get(SCRIPT_MODULE)
    sys.path.insert(0, folder)
    sys.modules[SCRIPT_MODULE] = module
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        if previous is None:
            sys.modules.pop(SCRIPT_MODULE, None)
        else:
            sys.modules[SCRIPT_MODULE] = previous


def _flow_of(module: types.ModuleType, source: bytes, shown: str) -> FlowElement | Diagnostic:
    namespace = vars(module)
    build = namespace.get("build")
    if callable(build):
        value: object = build()
        subject, line = "build() returned", _definition_line(source, "build")
    elif "flow" in namespace:
        value = namespace["flow"]
        subject, line = "`flow` is", _definition_line(source, "flow")
    else:
        return _error(
            "CF703",
            "the script defines neither `flow` nor a `build()` function",
            SourceLocation(shown, 1),
            hint="end the script with `flow = Response(...)`, or define `def build() -> Response`",
        )
    if isinstance(value, FlowElement):
        return value
    hint = "a flow's root is Response(...)"
    if isinstance(value, Node):
        hint = f"wrap it: Response({type(value).__name__}(...))"
    return _error(
        "CF704",
        f"{subject} {_describe(value)}, not a Response",
        SourceLocation(shown, line),
        hint=hint,
    )


def _describe(value: object) -> str:
    if isinstance(value, Node):
        return f"a {type(value).__name__}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _definition_line(source: bytes, name: str) -> int:
    """The line of the last top-level ``name = ...`` or ``def name``, else 1."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return 1
    line = 1
    for statement in tree.body:
        if _defines(statement, name):
            line = statement.lineno
    return line


def _defines(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, ast.FunctionDef):
        return statement.name == name
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.target.id == name
    return False


def _raise_location(traceback: TracebackType | None, shown: str) -> SourceLocation:
    """The deepest frame of the script itself, else of any file of the author's."""
    in_script: SourceLocation | None = None
    in_user_code: SourceLocation | None = None
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        location = SourceLocation(filename, traceback.tb_lineno)
        if filename == shown:
            in_script = location
        elif file_kind(filename) == USER:
            in_user_code = location
        traceback = traceback.tb_next
    return in_script or in_user_code or SourceLocation(shown, 1)
