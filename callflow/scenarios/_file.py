"""Reading a scenario file (``*.calls.toml``): the flow it names, its calls and expectations.

Everything is checked before anything runs: a TOML error, an unknown key (with the nearest
known one as a hint), a value of the wrong type or a flow that does not load is a
`ScenarioError` whose diagnostics point at the line of the offending key.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.errors import ScenarioError, SimulationError
from callflow.scenarios._positions import Path as KeyPath
from callflow.scenarios._positions import Position, key_positions
from callflow.sourcemap import SourceLocation

#: The suffix that marks a scenario file.
SCENARIO_SUFFIX = ".calls.toml"
#: Largest scenario file read (a scenario is a few kilobytes; this guards against mistakes).
MAX_SCENARIO_BYTES = 1_000_000
#: Deepest nesting of arrays and tables accepted in a scenario file.
MAX_NESTING = 32

for _code, _title in (
    ("CF950", "scenario file cannot be read"),
    ("CF951", "scenario file is not valid TOML"),
    ("CF952", "unknown key in a scenario file"),
    ("CF953", "bad value in a scenario file"),
    ("CF954", "the scenario's flow does not load"),
    ("CF955", "a scenario's expectation was not met"),
):
    register_code(_code, _title)

# -- the vocabulary of a scenario file, in one table per level -----------------------------

_FILE_KEYS = {
    "flow": "the call flow: a path relative to this file, a library template "
    "(callflow/NAME.xml.j2) or a builder script",
    "sample": "the template sample to render",
    "variables": "template variables (on top of the sample's)",
    "app": "MODULE:ATTR or path/to/file.py:ATTR: a WSGI/ASGI app or function for URLs",
    "replies": "URL → reply for the flow's requests (XML text, or { status, body })",
    "from": "the caller's number",
    "to": "the number called",
    "call": "one [[call]] table per scripted call",
}
_CALL_KEYS = {
    "name": "the call's name (the test's name)",
    "sample": "the template sample for this call (instead of the file's)",
    "variables": "template variables for this call (instead of the file's)",
    "press": "keys typed at each <Gather> attempt ('' = silence, 'hangup')",
    "dial": "target → outcome (answered, busy, no-answer, failed, caller-hangs-up)",
    "dial_default": "outcome of targets not in `dial`",
    "failing_media": "<Play> URLs that fail to load",
    "media_ms": "URL → length of its audio in ms",
    "hang_up_at_step": "the caller hangs up before this step (1-based)",
    "hang_up_at_ms": "the caller hangs up at this simulated time",
    "message_ms": "how long the caller speaks when recorded",
    "talk_ms": "how long an answered <Dial> lasts",
    "from": "the caller's number for this call",
    "to": "the number called for this call",
    "replies": "URL → reply, on top of the file's replies",
    "snapshot": "true: compare the transcript with its stored snapshot",
    "expect": "what must happen: heard, not_heard, dialled, requested, ended",
}
_EXPECT_KEYS = {
    "heard": "texts the caller hears, in order (substrings of <Say> texts)",
    "not_heard": "texts the caller must not hear",
    "dialled": "<Dial> targets rung, in order",
    "requested": "URLs requested, in order (a string, or { url, method, params, json })",
    "ended": "how the call ended: flow, caller, document-end, limit (or { by, tag })",
}
_REQUEST_KEYS = {"url": "", "method": "", "params": "", "json": ""}
_ENDED_KEYS = {"by": "", "tag": ""}
_REPLY_KEYS = {"status": "", "body": ""}
ENDED_BY = ("flow", "caller", "document-end", "limit")


@dataclass(frozen=True)
class Located:
    """A value from the file and where it was written."""

    value: Any
    location: SourceLocation


@dataclass(frozen=True)
class RequestExpectation:
    url: str
    method: str | None
    params: Mapping[str, str]
    json: Any
    location: SourceLocation


@dataclass(frozen=True)
class Expectations:
    heard: tuple[Located, ...] = ()
    not_heard: tuple[Located, ...] = ()
    dialled: tuple[Located, ...] = ()
    requested: tuple[RequestExpectation, ...] | None = None
    ended_by: Located | None = None
    ended_tag: Located | None = None
    #: Where each expectation key was written, for failures about the key as a whole.
    keys: Mapping[str, SourceLocation] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioCall:
    """One ``[[call]]``: the caller's choices and what must happen."""

    name: str
    location: SourceLocation
    caller: dict[str, Any]
    from_number: str | None
    to_number: str | None
    replies: Mapping[str, Any]
    snapshot: bool
    expect: Expectations
    sample: str | None = None
    variables: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ScenarioFile:
    """A parsed scenario file; `callflow.scenarios.run_call` runs its calls."""

    path: Path
    flow: Located
    sample: str | None
    variables: Mapping[str, Any] | None
    app: Located | None
    replies: Mapping[str, Any]
    from_number: str | None
    to_number: str | None
    calls: tuple[ScenarioCall, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent


class _Reader:
    """Checks the parsed data level by level, collecting every problem with its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.shown = str(path)
        self.positions: dict[KeyPath, Position] = key_positions(text)
        self.problems: list[Diagnostic] = []

    def at(self, path: KeyPath) -> SourceLocation:
        # The nearest recorded ancestor: a value inside an array still gets a line.
        while path and path not in self.positions:
            path = path[:-1]
        line, column = self.positions.get(path, (1, 1))
        return SourceLocation(self.shown, line, column)

    def problem(self, code: str, path: KeyPath, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(code, Severity.ERROR, message, self.at(path), hint=hint))

    def keys(self, table: Mapping[str, Any], path: KeyPath, known: Mapping[str, str]) -> None:
        where = ".".join(str(p) for p in path if isinstance(p, str)) or "the file"
        for key in table:
            if key in known:
                continue
            guess = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"did you mean `{guess[0]}`?" if guess else f"known keys: {', '.join(known)}"
            self.problem("CF952", (*path, key), f"unknown key {key!r} in {where}", hint)

    def typed(
        self, table: Mapping[str, Any], path: KeyPath, key: str, kind: type | tuple[type, ...]
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        # TOML's true is a Python int too: a count must not accept it.
        ok = not (isinstance(value, bool) and kind is int) and isinstance(value, kind)
        if not ok:
            names = (
                " or ".join(_kind_name(k) for k in kind)
                if isinstance(kind, tuple)
                else _kind_name(kind)
            )
            self.problem(
                "CF953", (*path, key), f"{key} must be {names}, not {_kind_name(type(value))}"
            )
            return None
        return value

    def strings(self, table: Mapping[str, Any], path: KeyPath, key: str) -> tuple[Located, ...]:
        value = self.typed(table, path, key, list)
        if value is None:
            return ()
        out: list[Located] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.problem(
                    "CF953",
                    (*path, key, index),
                    f"{key}[{index}] must be a string, not {_kind_name(type(item))}",
                )
                continue
            out.append(Located(item, self.at((*path, key, index))))
        return tuple(out)

    def replies(self, table: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        value = self.typed(table, path, "replies", dict)
        if value is None:
            return {}
        out: dict[str, Any] = {}
        for url, reply in value.items():
            where = (*path, "replies", url)
            if isinstance(reply, str):
                out[url] = reply
            elif isinstance(reply, dict):
                self.keys(reply, where, _REPLY_KEYS)
                status = self.typed(reply, where, "status", int)
                body = self.typed(reply, where, "body", str)
                if status is not None and not 100 <= status <= 599:
                    self.problem("CF953", (*where, "status"), f"status {status} is not HTTP")
                    status = None
                out[url] = (status or 200, body or "")
            else:
                self.problem(
                    "CF953",
                    where,
                    f"the reply for {url!r} must be XML text or {{ status, body }}",
                )
        return out

    def expectations(self, table: Mapping[str, Any], path: KeyPath) -> Expectations:
        self.keys(table, path, _EXPECT_KEYS)
        requested: list[RequestExpectation] | None = None
        raw = self.typed(table, path, "requested", list)
        if raw is not None:
            requested = []
            for index, item in enumerate(raw):
                where = (*path, "requested", index)
                if isinstance(item, str):
                    requested.append(RequestExpectation(item, None, {}, None, self.at(where)))
                    continue
                if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                    self.problem(
                        "CF953", where, "a request is a URL string or { url, method, params, json }"
                    )
                    continue
                self.keys(item, where, _REQUEST_KEYS)
                method = self.typed(item, where, "method", str)
                params = self.typed(item, where, "params", dict) or {}
                requested.append(
                    RequestExpectation(
                        item["url"],
                        method.upper() if method else None,
                        {str(k): _param_text(v) for k, v in params.items()},
                        item.get("json"),
                        self.at(where),
                    )
                )
        ended_by: Located | None = None
        ended_tag: Located | None = None
        ended = table.get("ended")
        where = (*path, "ended")
        if isinstance(ended, str):
            ended_by = Located(ended, self.at(where))
        elif isinstance(ended, dict):
            self.keys(ended, where, _ENDED_KEYS)
            by = self.typed(ended, where, "by", str)
            tag = self.typed(ended, where, "tag", str)
            ended_by = Located(by, self.at((*where, "by"))) if by is not None else None
            ended_tag = Located(tag, self.at((*where, "tag"))) if tag is not None else None
            if by is None and tag is not None:
                ended_by = Located("flow", self.at(where))
        elif ended is not None:
            self.problem("CF953", where, "ended must be a string or { by, tag }")
        if ended_by is not None and ended_by.value not in ENDED_BY:
            guess = difflib.get_close_matches(str(ended_by.value), ENDED_BY, n=1)
            self.problems.append(
                Diagnostic(
                    "CF953",
                    Severity.ERROR,
                    f"ended {ended_by.value!r} is not one of: {', '.join(ENDED_BY)}",
                    ended_by.location,
                    hint=f"did you mean `{guess[0]}`?" if guess else None,
                )
            )
        return Expectations(
            heard=self.strings(table, path, "heard"),
            not_heard=self.strings(table, path, "not_heard"),
            dialled=self.strings(table, path, "dialled"),
            requested=tuple(requested) if requested is not None else None,
            ended_by=ended_by,
            ended_tag=ended_tag,
            keys={key: self.at((*path, key)) for key in table},
        )

    def call(self, table: Mapping[str, Any], path: KeyPath, index: int) -> ScenarioCall | None:
        self.keys(table, path, _CALL_KEYS)
        name = self.typed(table, path, "name", str)
        if name is None:
            if "name" not in table:
                self.problem("CF953", path, f"call {index + 1} has no name", 'add name = "…"')
            return None
        caller: dict[str, Any] = {}
        press = self.typed(table, path, "press", list)
        if press is not None:
            if not all(isinstance(p, str) for p in press):
                self.problem("CF953", (*path, "press"), "press must be a list of strings")
            caller["presses"] = [str(p) for p in press]
        for key, kind in (
            ("dial", dict),
            ("dial_default", str),
            ("failing_media", list),
            ("media_ms", dict),
            ("hang_up_at_step", int),
            ("hang_up_at_ms", int),
            ("message_ms", int),
            ("talk_ms", int),
        ):
            value = self.typed(table, path, key, kind)
            if value is not None:
                caller[key] = value
        try:
            from callflow.simulate import Caller

            Caller(**caller)
        except (SimulationError, TypeError, ValueError) as error:
            text = str(error)
            # Point at the key the simulator refused, when its message says which.
            culprit: str | None = None
            if "key presses" in text:
                culprit = "press"
            elif "dial outcome" in text:
                default = table.get("dial_default")
                culprit = (
                    "dial_default" if default is not None and repr(default) in text else "dial"
                )
            if culprit not in table:
                culprit = None
            where = (*path, culprit) if culprit is not None else path
            self.problem("CF953", where, f"call {name!r}: {text}")
        expect_table = self.typed(table, path, "expect", dict)
        expect = (
            self.expectations(expect_table, (*path, "expect"))
            if expect_table is not None
            else Expectations()
        )
        return ScenarioCall(
            name=name,
            location=self.at(path),
            caller=caller,
            from_number=self.typed(table, path, "from", str),
            to_number=self.typed(table, path, "to", str),
            replies=self.replies(table, path),
            snapshot=bool(self.typed(table, path, "snapshot", bool)),
            expect=expect,
            sample=self.typed(table, path, "sample", str),
            variables=self.typed(table, path, "variables", dict),
        )

    def file(self, data: Mapping[str, Any], path: Path) -> ScenarioFile | None:
        self.keys(data, (), _FILE_KEYS)
        flow = self.typed(data, (), "flow", str)
        if flow is None and "flow" not in data:
            self.problem("CF953", (), "the scenario file names no flow", 'add flow = "menu.xml"')
        app = self.typed(data, (), "app", str)
        raw_calls = self.typed(data, (), "call", list) or []
        calls: list[ScenarioCall] = []
        seen: dict[str, int] = {}
        for index, table in enumerate(raw_calls):
            if not isinstance(table, dict):
                self.problem("CF953", ("call", index), "each call is a [[call]] table")
                continue
            call = self.call(table, ("call", index), index)
            if call is None:
                continue
            if call.name in seen:
                self.problem(
                    "CF953",
                    ("call", index, "name"),
                    f"two calls are named {call.name!r} (the first is call {seen[call.name] + 1})",
                )
            seen[call.name] = index
            calls.append(call)
        if not raw_calls and "call" not in data:
            self.problem("CF953", (), "the scenario file has no [[call]] table")
        scenario = ScenarioFile(
            path=path,
            flow=Located(flow, self.at(("flow",))),
            sample=self.typed(data, (), "sample", str),
            variables=self.typed(data, (), "variables", dict),
            app=Located(app, self.at(("app",))) if app is not None else None,
            replies=self.replies(data, ()),
            from_number=self.typed(data, (), "from", str),
            to_number=self.typed(data, (), "to", str),
            calls=tuple(calls),
        )
        return None if self.problems else scenario


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "a whole number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
        float: "a number",
    }.get(kind, kind.__name__)


def _nesting_depth(data: object) -> int:
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def _read_bytes(path: Path) -> bytes:
    # A regular file only: O_NONBLOCK keeps a FIFO from blocking the open.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks: list[bytes] = []
        wanted = MAX_SCENARIO_BYTES + 1
        while wanted > 0:
            chunk = os.read(fd, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _fail(path: Path, code: str, message: str, line: int = 1, column: int | None = None) -> None:
    location = SourceLocation(str(path), line, column)
    diagnostic = Diagnostic(code, Severity.ERROR, message, location)
    raise ScenarioError(f"{location}: {code} {message}", [diagnostic])


def parse_scenario_text(text: str, path: Path) -> ScenarioFile:
    """A `ScenarioFile` from its text; raises `ScenarioError` (diagnostics at their lines)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message ends "(at line L, column C)"; the location carries them instead.
        message = str(error)
        line = getattr(error, "lineno", None)
        column = getattr(error, "colno", None)
        if line is None:
            import re

            found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
            if found:
                line, column = int(found[1]), int(found[2])
        message = message.split(" (at line")[0].split(" (at end")[0]
        _fail(path, "CF951", f"not valid TOML: {message}", line or 1, column)
    except RecursionError:
        _fail(path, "CF951", "not valid TOML: nested too deeply")
    if _nesting_depth(data) > MAX_NESTING:
        _fail(path, "CF953", f"values nest more than {MAX_NESTING} levels deep")
    reader = _Reader(path, text)
    scenario = reader.file(data, path)
    if scenario is None:
        first = reader.problems[0]
        raise ScenarioError(
            f"{first.location}: {first.code} {first.message}"
            + (f" ({len(reader.problems) - 1} more)" if len(reader.problems) > 1 else ""),
            reader.problems,
        )
    return scenario


def read_scenario_file(path: str | os.PathLike[str]) -> ScenarioFile:
    """Read and check one ``*.calls.toml`` file; raises `ScenarioError` when it is unusable."""
    path = Path(path)
    try:
        data = _read_bytes(path)
    except OSError as error:
        _fail(path, "CF950", f"cannot read the scenario file: {error.strerror or error}")
    if len(data) > MAX_SCENARIO_BYTES:
        _fail(path, "CF950", f"the scenario file is over {MAX_SCENARIO_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        _fail(path, "CF950", f"the scenario file is not UTF-8 (byte {error.start})", line)
    return parse_scenario_text(text, path)


def find_scenario_files(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str | None]]:
    """Scenario files named or found below folders: (path, None), or (path, problem)."""
    found: list[tuple[Path, str | None]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            hits = sorted(
                Path(folder) / name
                for folder, subfolders, files in os.walk(path)
                for name in files
                if name.endswith(SCENARIO_SUFFIX) and not name.startswith(".")
                if not any(part.startswith(".") for part in Path(folder).parts[len(path.parts) :])
            )
            if not hits:
                found.append((path, f"no scenario files (*{SCENARIO_SUFFIX}) in this folder"))
            root = os.path.realpath(path)
            for hit in hits:
                real = os.path.realpath(hit)
                if os.path.commonpath([root, real]) != root:
                    found.append((hit, "a link leading out of the folder named; not followed"))
                else:
                    found.append((hit, None))
        elif path.exists():
            found.append((path, None))
        else:
            found.append((path, "no such file or directory"))
    return found
