"""What the front door reads and how: the kinds of file by suffix, and the reading policy.

Kept apart from `callflow.sources` (which re-exports every name here) so that the policy, a
value every caller passes, is one small module of its own.
"""

from __future__ import annotations

from callflow.document import MAX_DOCUMENT_BYTES

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_SCRIPT_TIMEOUT",
    "LIBRARY_PREFIX",
    "READING_CODES",
    "SCRIPT_SUFFIXES",
    "STDIN",
    "TEMPLATE_SUFFIXES",
    "XML_SUFFIXES",
    "ReadPolicy",
]

#: Suffixes found when a directory is named, and what they are.
XML_SUFFIXES = (".xml",)
TEMPLATE_SUFFIXES = (".xml.j2",)
SCRIPT_SUFFIXES = (".py",)

#: The name standard input goes by on the command line.
STDIN = "-"

#: Library template names start with this folder (``callflow/ivr_menu.xml.j2``).
LIBRARY_PREFIX = "callflow/"

#: Seconds a builder script may run before it is stopped (CF7xx).
DEFAULT_SCRIPT_TIMEOUT = 10.0

#: Codes of problems with reading the input itself (as opposed to what it says).
READING_CODES = frozenset(f"CF0{n:02d}" for n in range(1, 100))


class ReadPolicy:
    """How the front door treats what it reads (written down once; see docs/reading-policy.md).

    ``follow_links``: follow symbolic links that leave the folder the user named.
    ``trusted``: render templates outside Jinja's sandbox (the default is sandboxed).
    ``max_bytes``: the largest file read; a larger one is refused unread (CF006).
    ``script_timeout``: seconds a builder script may run in its child process.

    An immutable value: it compares, hashes and shows by its fields. A plain class rather
    than a frozen dataclass, because every run makes it at start-up and a dataclass's methods
    are generated and compiled as the class is made.
    """

    __slots__ = ("follow_links", "max_bytes", "script_timeout", "trusted")

    follow_links: bool
    trusted: bool
    max_bytes: int
    script_timeout: float

    def __init__(
        self,
        follow_links: bool = False,
        trusted: bool = False,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        script_timeout: float = DEFAULT_SCRIPT_TIMEOUT,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "follow_links", follow_links)
        set_field(self, "trusted", trusted)
        set_field(self, "max_bytes", max_bytes)
        set_field(self, "script_timeout", script_timeout)

    def _fields(self) -> tuple[bool, bool, int, float]:
        return (self.follow_links, self.trusted, self.max_bytes, self.script_timeout)

    def __reduce__(self) -> tuple[type[ReadPolicy], tuple[bool, bool, int, float]]:
        # Pickled (a process pool's workers get it) and copied by its fields, through
        # __init__: the fields cannot be set one by one.
        return (ReadPolicy, self._fields())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ReadPolicy is immutable: cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ReadPolicy is immutable: cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ReadPolicy)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"ReadPolicy(follow_links={self.follow_links!r}, trusted={self.trusted!r}, "
            f"max_bytes={self.max_bytes!r}, script_timeout={self.script_timeout!r})"
        )


DEFAULT_POLICY = ReadPolicy()
