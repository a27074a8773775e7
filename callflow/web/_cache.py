"""What the flow server keeps between requests: templates already read and compiled, and the
validation of replies already checked.

A served template is read and compiled through the front door once, then rendered from memory
while its file is unchanged: one ``lstat`` a request (two through a link) tells. Its includes,
imports and layouts are looked up by Jinja on every render and reloaded when their files change.
A valid reply's checks (schema and lint) are remembered for the exact text that was checked,
in a bounded memory: a reply rendered again to the same text under the same template files is
not checked again; any other text is.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from callflow.diagnostics import Diagnostic
from callflow.sources import ReadPolicy
from callflow.templating import SEARCH_PATH_VARIABLE, PreparedTemplate
from callflow.templating._render import file_stamp as file_stamp

#: A file changed this recently may change again within the same tick of its clock, unseen
#: (git's "racy" rule): what was read from it is not kept.
RACY_NS = 1_000_000_000
#: Bounds of the memory of checked replies (entries, and characters of text kept).
MEMO_ENTRIES = 512
MEMO_BYTES = 4 * 1024 * 1024
#: Served templates kept (one per template file requested).
TEMPLATES_KEPT = 1024


def settled(stamp: tuple[int, ...]) -> bool:
    """Whether the file a stamp describes last changed more than `RACY_NS` ago."""
    return time.time_ns() - max(stamp[6], stamp[7]) > RACY_NS


def search_path_setting() -> str | None:
    """``os.environ.get(SEARCH_PATH_VARIABLE)``, asked once a served request. The variable
    is usually unset, and ``os.environ`` answers an unset name by raising and catching a
    KeyError in Python code (~9k instructions, a third of a remembered reply's own work);
    the mapping of encoded names it reads from is asked first, where CPython has one."""
    names = getattr(os.environ, "_data", None)
    encode = getattr(os.environ, "encodekey", None)
    if type(names) is dict and encode is not None and encode(SEARCH_PATH_VARIABLE) not in names:
        return None
    return os.environ.get(SEARCH_PATH_VARIABLE)


class ServedTemplate:
    """A template file as the front door read it, compiled, with the stamp it had then and
    the reading policy it was read and compiled under."""

    __slots__ = ("file", "policy", "prepared", "search_path", "stamp")

    def __init__(
        self, file: str, stamp: tuple[int, ...], prepared: PreparedTemplate, policy: ReadPolicy
    ) -> None:
        self.file = file
        self.stamp = stamp
        self.prepared = prepared
        self.policy = policy
        self.search_path = search_path_setting()

    def __repr__(self) -> str:
        return f"ServedTemplate({self.file!r})"

    def is_current(self) -> bool:
        """The file is still what was read (and the template search path the same)."""
        return file_stamp(self.file) == self.stamp and search_path_setting() == self.search_path


class Checked:
    """A reply that passed its checks: the body sent, the (warning) diagnostics found."""

    __slots__ = ("body", "diagnostics")

    def __init__(self, body: bytes, diagnostics: Sequence[Diagnostic]) -> None:
        self.body = body
        self.diagnostics = tuple(diagnostics)


class CheckedReplies:
    """A bounded least-recently-used memory of replies that passed their checks, by a key
    holding the exact text checked and everything else the checks depend on."""

    def __init__(self, max_entries: int = MEMO_ENTRIES, max_bytes: int = MEMO_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Checked, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of text held (keys' texts and bodies)."""
        return self._bytes

    def get(self, key: Hashable) -> Checked | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, checked: Checked, size: int) -> None:
        if size > self.max_bytes // 4:  # one large reply does not push out many small ones
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (checked, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
