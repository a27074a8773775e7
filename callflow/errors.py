"""The exception tree of callflow, in one place.

::

    CallflowError                      base of everything callflow raises on purpose
    ├── InputError                     a file or value that cannot be read as a call flow
    ├── ValidationError                a flow with error diagnostics (carries .diagnostics)
    ├── BuildError                     a builder node rejected when it was built (also TypeError)
    ├── TemplateError                  a template that fails to load or render
    ├── ApiError                       the OpenTact API (or the sandbox) refused a request
    │   └── AuthenticationError        HTTP 401: missing, expired or wrong credentials
    ├── TransportError                 the API could not be reached, or answered nonsense
    └── SimulationError                the simulator could not run a flow

Library code raises these and never prints or exits; ``callflow.cli`` turns them into
messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.diagnostics import Diagnostic


class CallflowError(Exception):
    """Base class of every error callflow raises on purpose."""


class InputError(CallflowError):
    """A file or value that cannot be read as a call flow."""


class ValidationError(CallflowError):
    """A flow with error diagnostics; ``diagnostics`` holds all of them, best first."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)


class BuildError(CallflowError, TypeError):
    """A builder node rejected at construction: names the bad argument, value and place."""


class TemplateError(CallflowError):
    """A template that fails to load or render; ``diagnostics`` says where and why."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)


class ApiError(CallflowError):
    """The OpenTact API (or the sandbox) refused a request."""


class AuthenticationError(ApiError):
    """HTTP 401: missing, expired or wrong credentials."""


class TransportError(CallflowError):
    """The API could not be reached, or answered something that is not the API's envelope."""


class SimulationError(CallflowError):
    """The simulator could not run a flow."""
