"""Running a scenario file's calls through the simulator and checking their expectations."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl

import httpx

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import Document
from callflow.errors import ScenarioError
from callflow.scenarios._file import Located, RequestExpectation, ScenarioCall, ScenarioFile
from callflow.simulate import Backend, Caller, CallInfo, Transcript, simulate
from callflow.sourcemap import SourceLocation

LIBRARY_PREFIX = "callflow/"


def printable(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, escape sequences,
    surrogates) written as an escape, so names and contents cannot forge output lines."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape", "backslashreplace").decode()
        for char in text
    )


# ------------------------------------------------------------------ the flow and the app


def _scenario_problem(
    location: SourceLocation, code: str, message: str, hint: str | None = None
) -> ScenarioError:
    diagnostic = Diagnostic(code, Severity.ERROR, message, location, hint=hint)
    return ScenarioError(f"{location}: {code} {message}", [diagnostic])


def _in_folder(folder: Path, name: str) -> tuple[str, str] | Diagnostic:
    """``(file, root)``: the file ``name`` (relative to the scenario's folder) names, by the
    name the author knows (the folder as given, then ``name``), and the folder's real path
    that holds it; or the diagnostic saying why not, under the front door's containment rules
    (CF009: it leaves the folder through ``..``, an absolute path or a link; CF001: no such
    file; CF010: not a file)."""
    from callflow.sources import find_in_folder

    parts = PurePosixPath(name).parts
    found = find_in_folder(folder, parts)
    if isinstance(found, Diagnostic):
        return found
    return str(folder.joinpath(*parts)), found[1]


def load_scenario_flow(scenario: ScenarioFile, call: ScenarioCall | None = None) -> Document:
    """The Document the scenario's ``flow`` names, through the front door.

    Raises `ScenarioError` at the ``flow`` key when the flow leaves the scenario's folder,
    does not exist or does not load (the flow's own diagnostics follow).
    """
    from callflow.sources import load_flow_name, load_flows

    spec = str(scenario.flow.value)
    where = scenario.flow.location
    sample, variables = scenario.sample, scenario.variables
    if call is not None and (call.sample is not None or call.variables is not None):
        sample, variables = call.sample, call.variables
    if spec.startswith(LIBRARY_PREFIX):
        sources = load_flows(spec, context=variables, sample=sample)
    else:
        found = _in_folder(scenario.folder, spec)
        if isinstance(found, Diagnostic) and found.code == "CF009":
            raise _scenario_problem(
                where,
                "CF954",
                f"flow {spec!r} is outside the scenario file's folder",
                "name a flow in this folder or below it, or a library template (callflow/…)",
            )
        if isinstance(found, Diagnostic):
            detail = "no such file" if found.code == "CF001" else found.message
            error = _scenario_problem(where, "CF954", f"flow {spec!r} does not load: {detail}")
            error.diagnostics = (*error.diagnostics, found)
            raise error
        sources = load_flow_name(*found, context=variables, sample=sample)
    problems = [d for source in sources for d in source.diagnostics if d.is_error]
    if problems or not sources:
        first = problems[0] if problems else None
        detail = first.message if first is not None else "nothing to load"
        error = _scenario_problem(where, "CF954", f"flow {spec!r} does not load: {detail}")
        error.diagnostics = (*error.diagnostics, *problems)
        raise error
    loaded = [source for source in sources if source.document is not None]
    if len(loaded) > 1:
        labels = ", ".join(source.label for source in loaded)
        raise _scenario_problem(
            where,
            "CF954",
            f"flow {spec!r} gives {len(loaded)} documents ({labels})",
            'choose one: add sample = "NAME" or a [variables] table (to the file or the call)',
        )
    document = loaded[0].document
    assert document is not None
    return document


def load_app(spec: Located, folder: Path) -> Any:
    """The object ``module:attr`` or ``file.py:attr`` (relative to the scenario) names."""
    import importlib
    import importlib.util
    import sys

    text = str(spec.value)
    module_name, colon, attribute = text.rpartition(":")
    if not colon or not module_name or not attribute:
        raise _scenario_problem(
            spec.location, "CF953", f"app {text!r}: expected MODULE:ATTR or file.py:ATTR"
        )
    try:
        if module_name.endswith(".py"):
            found = _in_folder(folder, module_name)
            if isinstance(found, Diagnostic):
                raise _scenario_problem(
                    spec.location, "CF953", f"app {text!r}: no file {module_name} in this folder"
                )
            path = Path(found[0])
            loader_spec = importlib.util.spec_from_file_location(path.stem, path)
            assert loader_spec is not None and loader_spec.loader is not None
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            module = importlib.import_module(module_name)
    except ScenarioError:
        raise
    except Exception as error:  # the user's module failed to import: say how, briefly
        raise _scenario_problem(
            spec.location,
            "CF953",
            f"app {text!r}: importing {module_name} failed: {type(error).__name__}: {error}",
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise _scenario_problem(
                spec.location, "CF953", f"app {text!r}: {module_name} has no attribute {part!r}"
            )
        target = getattr(target, part)
    return target


class SentRequest:
    """A request the flow made: ``method``, ``url`` (without its query), ``params`` (query
    and form fields), ``json`` (the JSON body, if any). Decoded when first asked for: most
    calls never look."""

    __slots__ = ("_body", "_content_type", "_decoded", "_query", "method", "url")

    def __init__(self, request: httpx.Request) -> None:
        self.method = request.method
        full = str(request.url)
        self.url, _, _ = full.partition("?")
        self._query = request.url.query
        self._body = request.content
        self._content_type = request.headers.get("content-type", "")
        self._decoded: tuple[dict[str, str], Any] | None = None

    def _decode(self) -> tuple[dict[str, str], Any]:
        if self._decoded is None:
            params = dict(parse_qsl(self._query.decode("ascii", "replace"), keep_blank_values=True))
            json_body: Any = None
            if self._body and "json" in self._content_type:
                try:
                    json_body = json.loads(self._body)
                except ValueError:
                    json_body = None
            elif self._body and "form" in self._content_type:
                params.update(
                    parse_qsl(self._body.decode("utf-8", "replace"), keep_blank_values=True)
                )
            self._decoded = (params, json_body)
        return self._decoded

    @property
    def params(self) -> dict[str, str]:
        return self._decode()[0]

    @property
    def json(self) -> Any:
        return self._decode()[1]

    def __repr__(self) -> str:
        return f"SentRequest({self})"

    def __str__(self) -> str:
        fields = "&".join(f"{k}={v}" for k, v in self.params.items())
        return printable(f"{self.method} {self.url}" + (f"?{fields}" if fields else ""))


def _reply(value: Any) -> httpx.Response:
    if isinstance(value, tuple):
        status, body = value
        return httpx.Response(status, text=body, headers={"Content-Type": "text/xml"})
    return httpx.Response(200, text=str(value), headers={"Content-Type": "text/xml"})


class _Recorder:
    """The backend of a scenario file's calls: the call's replies first, then the app (if
    any); records each request. Made once per file (an httpx transport is not free); `start`
    sets it up for the next call."""

    def __init__(self, app: Any) -> None:
        self.replies: dict[str, Any] = {}
        self.sent: list[SentRequest] = []
        self._inner = Backend.of(app) if app is not None else None
        self._clients: list[Any] = []
        self.backend = self._backend()

    def start(self, replies: dict[str, Any]) -> list[SentRequest]:
        """Answer with ``replies`` (URLs without their query) from now on; a fresh record."""
        self.replies = replies
        self.sent = []
        return self.sent

    def _mapped(self, request: httpx.Request) -> httpx.Response | None:
        sent = SentRequest(request)
        self.sent.append(sent)
        key = sent.url
        if key in self.replies:
            return _reply(self.replies[key])
        if self._inner is None:
            if self.replies:
                return httpx.Response(404, text=f"no reply for {key} in the scenario file")
            raise httpx.ConnectError("no app or reply in the scenario file answers this URL")
        return None

    def _backend(self) -> Backend:
        inner = self._inner
        if inner is not None and inner.is_async:

            async def respond_async(request: httpx.Request) -> httpx.Response:
                mapped = self._mapped(request)
                if mapped is not None:
                    return mapped
                assert inner is not None
                async with inner.async_client(0) as client:
                    response = await client.send(request)
                    await response.aread()
                    return httpx.Response(
                        response.status_code, headers=response.headers, content=response.content
                    )

            return Backend.function(respond_async)

        def respond(request: httpx.Request) -> httpx.Response:
            mapped = self._mapped(request)
            if mapped is not None:
                return mapped
            assert inner is not None
            if not self._clients:
                self._clients.append(inner.client(0))
            response = self._clients[0].send(request)
            response.read()
            return httpx.Response(
                response.status_code, headers=response.headers, content=response.content
            )

        return Backend.function(respond)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


# ------------------------------------------------------------------ results


@dataclass
class CallResult:
    """What one scenario call did: its transcript, the requests made, the unmet expectations."""

    scenario: ScenarioFile
    call: ScenarioCall
    transcript: Transcript
    requests: list[SentRequest]
    failures: list[Diagnostic] = field(default_factory=list)
    snapshot_written: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        """``FILE::CALL``, printable."""
        return printable(f"{self.scenario.path}::{self.call.name}")

    def report(self, *, relative_to: str | None = None) -> str:
        """The failures, each at the scenario's line, then the transcript with source lines."""
        lines: list[str] = []
        for failure in self.failures:
            # A message's own line breaks (a snapshot's diff) stay; its contents are escaped.
            message = "\n".join(printable(part) for part in failure.message.split("\n"))
            lines.append(f"{printable(str(failure.location))}: {failure.code} {message}")
            if failure.hint:
                lines.extend(f"    {printable(part)}" for part in failure.hint.splitlines())
        lines.append("")
        lines.append(f"transcript of {self.call.name!r} (ended by {self.transcript.ended_by}):")
        lines.extend("  " + line for line in transcript_lines(self.transcript))
        if self.requests:
            lines.append("requests:")
            lines.extend(f"  {request}" for request in self.requests)
        return "\n".join(lines) + "\n"


def transcript_lines(transcript: Transcript) -> list[str]:
    """The transcript, one event a line, each with the source line (and its chain)."""
    out = []
    for event in transcript:
        location = event.location
        # The outermost "called from" is the line of the flow that used the macro.
        called = [part for part in location.chain if part.startswith("called from ")]
        chain = f" ({called[-1]})" if called else ""
        clock = f"{event.at_ms / 1000:8.2f}s"
        out.append(printable(f"{clock}  {event.kind:<12} {event.summary()}  @ {location}{chain}"))
    return out


# ------------------------------------------------------------------ expectations


def _shown(items: Iterable[str]) -> str:
    listed = [repr(item) for item in items]
    return ", ".join(listed) if listed else "nothing"


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _subset(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual)


@functools.lru_cache(maxsize=256)
def _split_url(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    base, _, query = url.partition("?")
    return base, tuple(parse_qsl(query, keep_blank_values=True))


def _matches(expected: RequestExpectation, sent: SentRequest) -> bool:
    base, query = _split_url(expected.url)
    if base != sent.url:
        return False
    if expected.method is not None and expected.method != sent.method:
        return False
    fields = {**dict(query), **expected.params}
    if any(sent.params.get(key) != value for key, value in fields.items()):
        return False
    return expected.json is None or _subset(expected.json, sent.json)


def check_expectations(
    call: ScenarioCall, transcript: Transcript, requests: list[SentRequest]
) -> list[Diagnostic]:
    """One diagnostic per unmet expectation, at the line of the expectation."""
    failures: list[Diagnostic] = []
    expect = call.expect

    def fail(location: SourceLocation, message: str, hint: str | None = None) -> None:
        failures.append(
            Diagnostic(
                "CF955", Severity.ERROR, f"call {call.name!r}: {message}", location, None, hint
            )
        )

    spoken = transcript.spoken if expect.heard or expect.not_heard else []
    position = 0
    for item in expect.heard:
        found = next((i for i in range(position, len(spoken)) if item.value in spoken[i]), None)
        if found is None:
            earlier = any(item.value in text for text in spoken[:position])
            where = "was said only before the texts heard earlier" if earlier else "was never said"
            fail(
                item.location,
                f"expected to hear {item.value!r}, but it {where}",
                f"heard: {_shown(spoken)}",
            )
            break
        position = found + 1
    for item in expect.not_heard:
        said = next((text for text in spoken if item.value in text), None)
        if said is not None:
            fail(item.location, f"expected not to hear {item.value!r}, but heard {said!r}")
    if "dialled" in expect.keys:
        dialled = transcript.dialled
        wanted = [item.value for item in expect.dialled]
        if dialled != wanted:
            index = next(
                (i for i, (a, b) in enumerate(zip(dialled, wanted, strict=False)) if a != b),
                min(len(dialled), len(wanted)),
            )
            location = (
                expect.dialled[index].location
                if index < len(expect.dialled)
                else expect.keys["dialled"]
            )
            fail(
                location,
                f"expected to dial {_shown(wanted)}, but dialled {_shown(dialled)}",
            )
    if expect.requested is not None:
        wanted_requests = expect.requested
        for index, expected in enumerate(wanted_requests):
            if index >= len(requests):
                fail(
                    expected.location,
                    f"expected request {index + 1} to {expected.url}, but only "
                    f"{len(requests)} request(s) were made",
                    "requests: " + (", ".join(str(r) for r in requests) or "none"),
                )
                break
            if not _matches(expected, requests[index]):
                detail = str(requests[index])
                if requests[index].json is not None and expected.json is not None:
                    detail += f" with JSON {json.dumps(requests[index].json, sort_keys=True)}"
                fail(
                    expected.location,
                    f"expected request {index + 1} to be {_describe(expected)}, "
                    f"but it was {detail}",
                )
                break
        else:
            if len(requests) > len(wanted_requests):
                extra = ", ".join(str(r) for r in requests[len(wanted_requests) :])
                fail(expect.keys["requested"], f"unexpected request(s): {extra}")
    if expect.ended_by is not None:
        by = {"hangup": "flow"}.get(transcript.ended_by, transcript.ended_by)
        hangups = transcript.of("hangup")
        tag = hangups[-1].data.get("tag") if hangups else None
        if by != expect.ended_by.value:
            fail(
                expect.ended_by.location,
                f"expected the call to end by {expect.ended_by.value}, but it ended by {by}"
                + (f" (tag {tag!r})" if tag else ""),
            )
        elif expect.ended_tag is not None and tag != expect.ended_tag.value:
            fail(
                expect.ended_tag.location,
                f"expected the hangup tag {expect.ended_tag.value!r}, but it was {tag!r}",
            )
    return failures


def _describe(expected: RequestExpectation) -> str:
    fields = "&".join(f"{k}={v}" for k, v in expected.params.items())
    text = f"{expected.method or 'any method'} {expected.url}"
    if fields:
        text += ("&" if "?" in expected.url else "?") + fields
    if expected.json is not None:
        text += f" with JSON {json.dumps(expected.json, sort_keys=True)}"
    return text


# ------------------------------------------------------------------ running


class ScenarioRunner:
    """Runs the calls of one scenario file: the flow is loaded and the app imported once.

    ``update_snapshots`` writes snapshots instead of comparing them.
    """

    def __init__(
        self,
        scenario: ScenarioFile,
        *,
        update_snapshots: bool = False,
    ) -> None:
        self.scenario = scenario
        self.update_snapshots = update_snapshots
        self._documents: dict[str, Document] = {}
        self._by_call: dict[str, Document] = {}
        self._app: Any = None
        self._app_loaded = False
        self._recorder: _Recorder | None = None
        self._callers: dict[str, tuple[Caller, CallInfo, dict[str, Any]]] = {}

    def document(self, call: ScenarioCall | None = None) -> Document:
        """The flow for ``call`` (its own sample or variables, else the file's), loaded once."""
        if call is not None:
            found = self._by_call.get(call.name)
            if found is not None:
                return found
        key = ""
        if call is not None and (call.sample is not None or call.variables is not None):
            key = json.dumps([call.sample, call.variables], sort_keys=True, default=str)
        document = self._documents.get(key)
        if document is None:
            document = self._documents[key] = load_scenario_flow(
                self.scenario, call if key else None
            )
        if call is not None:
            self._by_call[call.name] = document
        return document

    def app(self) -> Any:
        if not self._app_loaded and self.scenario.app is not None:
            self._app = load_app(self.scenario.app, self.scenario.folder)
        self._app_loaded = True
        return self._app

    def _prepared(self, call: ScenarioCall) -> tuple[Caller, CallInfo, dict[str, Any]]:
        found = self._callers.get(call.name)
        if found is None:
            scenario = self.scenario
            defaults = CallInfo()
            info = CallInfo(
                from_number=call.from_number or scenario.from_number or defaults.from_number,
                to_number=call.to_number or scenario.to_number or defaults.to_number,
            )
            replies = {
                url.split("?", 1)[0]: reply
                for url, reply in {**scenario.replies, **call.replies}.items()
            }
            found = self._callers[call.name] = (Caller(**call.caller), info, replies)
        return found

    def run(self, call: ScenarioCall) -> CallResult:
        """Run one call and check its expectations (and snapshot)."""
        scenario = self.scenario
        document = self.document(call)
        if self._recorder is None:
            self._recorder = _Recorder(self.app())
        recorder = self._recorder
        caller, info, replies = self._prepared(call)
        sent = recorder.start(replies)
        transcript = simulate(document, caller, call=info, app=recorder.backend)
        result = CallResult(scenario, call, transcript, sent)
        result.failures = check_expectations(call, transcript, sent)
        if call.snapshot:
            from callflow.snapshots import check_scenario_snapshot

            problem, written = check_scenario_snapshot(
                scenario.path, call.name, transcript, update=self.update_snapshots
            )
            result.snapshot_written = written
            if problem is not None:
                result.failures.append(
                    Diagnostic(
                        "CF955",
                        Severity.ERROR,
                        f"call {call.name!r}: {problem}",
                        call.location,
                        hint="run `callflow test --update` (or pytest --snapshot-update) "
                        "if the change is intended",
                    )
                )
        return result

    def run_all(self) -> list[CallResult]:
        try:
            return [self.run(call) for call in self.scenario.calls]
        finally:
            self.close()

    def close(self) -> None:
        """Close the HTTP clients made for an in-process app (the runner stays usable)."""
        if self._recorder is not None:
            self._recorder.close()
