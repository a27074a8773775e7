"""The exception tree of callflow, in one place.

::

    CallflowError                      base of everything callflow raises on purpose
    ├── InputError                     a file or value that cannot be read as a call flow
    │                                  (carries .diagnostics when a file was refused)
    │   └── ScenarioError              a scenario file (*.calls.toml) that cannot be used
    │                                  (carries .diagnostics, each at its line)
    ├── ValidationError                a flow with error diagnostics (carries .diagnostics)
    ├── BuildError                     a builder node rejected when it was built (also TypeError)
    ├── TemplateError                  a template that fails to load or render
    ├── ApiError                       the OpenTact API (or the sandbox) refused a request
    │   └── AuthenticationError        HTTP 401: missing, expired or wrong credentials
    ├── TransportError                 the API could not be reached, or answered nonsense
    │                                  (both carry .status, .message, .diagnostics)
    ├── SimulationError                the simulator could not run a flow
    └── RequestError                   a request to the flow server that cannot be read
                                       (carries .status, the HTTP status to answer with)

Library code raises these and never prints or exits; ``callflow.cli`` turns them into
messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.diagnostics import Diagnostic
    from callflow.sourcemap import SourceLocation

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BuildError",
    "CallflowError",
    "InputError",
    "RequestError",
    "ScenarioError",
    "SimulationError",
    "TemplateError",
    "TransportError",
    "ValidationError",
]


class CallflowError(Exception):
    """Base class of every error callflow raises on purpose."""


class InputError(CallflowError):
    """A file or value that cannot be read as a call flow: missing, unreadable, refused by
    the reading policy, not text, or ambiguous (a template giving one document per sample).

    ``diagnostics`` says which file and why, when the problem is a file's (else empty).
    """

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)


class ScenarioError(InputError):
    """A scenario file (``*.calls.toml``) that cannot be used; ``diagnostics`` says where."""


class ValidationError(CallflowError):
    """A flow with error diagnostics; ``diagnostics`` holds all of them, best first."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        from callflow.diagnostics import ranked

        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(ranked(diagnostics))


class BuildError(CallflowError, TypeError):
    """A builder node rejected at construction: names the bad argument, value and place.

    ``location`` is where the author built the node (a `SourceLocation`, or None when
    unknown) and ``hint`` a suggestion such as "did you mean `num_digits`?". ``str()``
    reads ``file:line: message`` followed by the hint.
    """

    def __init__(
        self, message: str, location: SourceLocation | None = None, hint: str | None = None
    ) -> None:
        self.message = message
        self.location = location
        self.hint = hint
        text = f"{location}: {message}" if location is not None else message
        super().__init__(f"{text}\n    hint: {hint}" if hint else text)


class TemplateError(CallflowError):
    """A template that fails to load or render; ``diagnostics`` says where and why."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)


class ApiError(CallflowError):
    """The OpenTact API (or the sandbox) refused a request.

    ``status`` is the HTTP status, ``message`` the platform's own text (kept verbatim, so
    nothing it said is lost), ``diagnostics`` that text mapped back to the author's source
    when the request carried a call flow (empty otherwise). ``note`` adds callflow's own
    remark (e.g. how many attempts were made) to the exception text, not to ``message``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        diagnostics: Iterable[Diagnostic] = (),
        note: str | None = None,
    ) -> None:
        text = f"HTTP {status}: {message}" if status is not None else message
        super().__init__(f"{text} ({note})" if note else text)
        self.status = status
        self.message = message
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)


class AuthenticationError(ApiError):
    """HTTP 401: missing, expired or wrong credentials."""


class TransportError(CallflowError):
    """The API could not be reached, or answered something that is not the API's envelope.

    ``status`` is the HTTP status when an answer arrived (None when none did); ``message``
    says what went wrong; ``diagnostics`` is always empty (kept for a uniform interface).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.diagnostics: tuple[Diagnostic, ...] = ()


class SimulationError(CallflowError):
    """The simulator could not run a flow."""


class RequestError(CallflowError):
    """A request to the flow server that is not one the platform sends: malformed JSON or
    form data, a field of the wrong type, too large. ``status`` is the HTTP status to answer
    with (400, 405, 413, 415); the message says what is wrong and where, for the caller."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
