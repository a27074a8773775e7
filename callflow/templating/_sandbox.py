"""Jinja's sandbox with bounded memory and time, for templates callflow did not write.

`BoundedSandbox` is Jinja's `ImmutableSandboxedEnvironment` (no Python internals, no
in-place changes to lists, dicts and sets) plus limits on what one render may cost.
Python offers no per-thread memory or CPU limit, so the bounds are built from three
layers, each covering what the one before cannot see:

1. **Checks before an operation allocates.** The sandbox routes ``*``, ``**``, ``+`` and
   ``%`` through `call_binop`, every call through `call`, and ``str.format`` through
   `wrap_str_format`; the filters whose output can outgrow their input (``center``,
   ``indent``, ``wordwrap``, ``replace``, ``join``, ``format``) are wrapped. Each
   estimates the size of its result from its operands (``len(a) * n``, the width in a
   format spec, ``count(old) * len(new)``…) and refuses a result longer than
   `MAX_VALUE_LENGTH`, before any memory is taken. Values stored in a ``namespace()``
   and passed to macros are held to the same length, so a string doubled in a loop or
   through recursion stops at the limit. Cost: a few comparisons per intercepted
   operation; ordinary attribute access and output are untouched.
2. **A streamed output cap.** The top template is rendered with ``generate()`` and the
   chunks counted as they come, so ``{% for %}`` loops printing small pieces stop at
   `MAX_OUTPUT_FACTOR` times the document limit instead of filling a list. Cost: one
   Python-level loop step per output chunk (the same order as Jinja's own join).
3. **A watchdog thread** (one per process, asleep once nothing has rendered for a second)
   that wakes every `WATCH_INTERVAL` seconds during a render and raises
   `RenderLimitExceeded` inside the rendering thread (``PyThreadState_SetAsyncExc``) when
   the render has run longer than its time limit (`RENDER_TIMEOUT`) or the process's
   resident memory has grown by more than `MAX_RENDER_MEMORY` since the render began. This
   stops what the first two layers cannot predict: nested loops that print nothing,
   exponential macro recursion, lists built inside a macro. Trade-offs: an asynchronous
   exception is delivered between bytecodes, so a single C call runs to its end (which is
   why layer 1 exists); memory is measured for the whole process (``/proc/self/statm``; on
   systems without it only time is watched), so another thread's allocations during a render
   count against it; and the limits are wall-clock, so a loaded machine reaches them sooner.
   A ``sys.settrace`` deadline would see every line but slows rendering several times over;
   a child process per render would give hard ``RLIMIT_AS`` limits but costs a fork per
   render, far more than the render itself.

Deep recursion ends at Python's recursion limit, reported like any other render error.
A refusal of layer 1 is a `ValueTooLarge` (a `SecurityError`); layers 2 and 3 raise
`RenderLimitExceeded`; both are CF612, reported at the template line that was running.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import types
from collections.abc import Callable, Generator, Iterable
from typing import Any

import jinja2
import markupsafe
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

#: The longest string, list or tuple a sandboxed template may make (characters or items).
MAX_VALUE_LENGTH = 4 * 1024 * 1024
#: The rendered text (with its line markers) may be this many times the document limit.
MAX_OUTPUT_FACTOR = 4
#: Seconds one sandboxed render may take.
RENDER_TIMEOUT = 3.0
#: Bytes the process may grow by during one sandboxed render.
MAX_RENDER_MEMORY = 128 * 1024 * 1024
#: Seconds between the watchdog's looks at a running render.
WATCH_INTERVAL = 0.05
#: Empty looks (one per WATCH_INTERVAL) before the watchdog sleeps until the next render.
IDLE_LOOKS = 20
#: The largest integer (in bits) ``**`` may produce.
MAX_POWER_BITS = 1 << 16

_NUMBER = re.compile(r"\d+")


class RenderLimitExceeded(jinja2.TemplateRuntimeError):
    """A sandboxed render ran out of time, memory or output room."""


class ValueTooLarge(SecurityError):
    """A sandboxed operation would have made a value past the size limit."""


def _too_long(length: float, what: str) -> SecurityError:
    return ValueTooLarge(
        f"{what} would be {_amount(length)} long; the sandbox allows "
        f"{MAX_VALUE_LENGTH:,} characters or items"
    )


def _amount(length: float) -> str:
    if length >= 1e15:
        return f"about 10**{int(math.log10(length))}"
    return f"{int(length):,}"


def check_length(value: object, what: str = "a value") -> None:
    """Refuse a string, list or tuple longer than `MAX_VALUE_LENGTH`."""
    if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE_LENGTH:
        raise _too_long(len(value), what)


def _length_of(value: object) -> int | None:
    if isinstance(value, str | list | tuple | bytes):
        return len(value)
    return None


def _check_format(template: str, arguments: Iterable[object], what: str) -> None:
    """A format string (``%`` or ``{}``) with a width or precision, or a ``*`` argument,
    beyond the limit would make a string that long."""
    for number in _NUMBER.findall(template):
        if len(number) > 7 and int(number) > MAX_VALUE_LENGTH:
            raise _too_long(int(number), what)
    for argument in arguments:
        if isinstance(argument, int) and argument > MAX_VALUE_LENGTH:
            raise _too_long(argument, what)


def _check_binop(operator: str, left: object, right: object) -> None:
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            size = _length_of(sequence)
            if size is not None and isinstance(times, int) and size * times > MAX_VALUE_LENGTH:
                raise _too_long(size * times, "a repeated value")
    elif operator == "+":
        left_size, right_size = _length_of(left), _length_of(right)
        if (
            left_size is not None
            and right_size is not None
            and left_size + right_size > MAX_VALUE_LENGTH
        ):
            raise _too_long(left_size + right_size, "a joined value")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            bits = right * abs(left).bit_length()
            if bits > MAX_POWER_BITS:
                raise ValueTooLarge(
                    f"a power would have about {bits:,} bits; the sandbox allows {MAX_POWER_BITS:,}"
                )
    elif operator == "%" and isinstance(left, str):
        values = right if isinstance(right, tuple) else (right,)
        _check_format(left, values, "a formatted string")


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    occurrences = len(text) + 1 if old == "" else text.count(old)
    if count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * (len(new) - len(old))


def _join_size(separator: str, items: Iterable[object]) -> int:
    total = 0
    number = 0
    for item in items:
        size = _length_of(item)
        total += 20 if size is None else size
        number += 1
    return total + len(separator) * max(number - 1, 0)


def _check_method_call(function: object, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """String methods whose result may be much longer than the string; returns the
    arguments to call with (an iterator given to ``join`` is read into a list first)."""
    owner = getattr(function, "__self__", None)
    if not isinstance(owner, str):
        return args
    name = getattr(function, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill"):
        if args and isinstance(args[0], int) and args[0] > MAX_VALUE_LENGTH:
            raise _too_long(args[0], f"str.{name}()")
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        if owner.count("\t") * size + len(owner) > MAX_VALUE_LENGTH:
            raise _too_long(owner.count("\t") * size + len(owner), "str.expandtabs()")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
            size = _replace_size(owner, old, new, count)
            if size > MAX_VALUE_LENGTH:
                raise _too_long(size, "str.replace()")
    elif name == "join" and args:
        items = args[0]
        if not isinstance(items, list | tuple | str):
            items = list(items)
            args = (items, *args[1:])
        size = _join_size(owner, items)
        if size > MAX_VALUE_LENGTH:
            raise _too_long(size, "str.join()")
    return args


# ---------------------------------------------------------------- filters


def _bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's size-changing filters, each refusing an oversized result before making it."""
    center, indent, wordwrap = filters["center"], filters["indent"], filters["wordwrap"]
    replace, join, format_ = filters["replace"], filters["join"], filters["format"]

    def bounded_center(value: object, width: int = 80) -> Any:
        if isinstance(width, int) and width > MAX_VALUE_LENGTH:
            raise _too_long(width, "|center")
        return center(value, width)

    def bounded_indent(
        value: str, width: int | str = 4, first: bool = False, blank: bool = False
    ) -> Any:
        size = len(value) if isinstance(value, str) else len(str(value))
        step = width if isinstance(width, int) else len(str(width))
        # At most size + 1 lines: counting them is needed only when that bound is too big.
        if (size + 1) * (step + 1) > MAX_VALUE_LENGTH:
            lines = str(value).count("\n") + 1
            if lines * step + size > MAX_VALUE_LENGTH:
                raise _too_long(lines * step + size, "|indent")
        return indent(value, width, first, blank)

    def bounded_wordwrap(value: str, width: int = 79, *args: Any, **kwargs: Any) -> Any:
        text = str(value)
        wrap = args[1] if len(args) > 1 else kwargs.get("wrapstring")
        extra = len(wrap) if isinstance(wrap, str) else 1
        if isinstance(width, int) and width > 0 and len(text) // width * extra > MAX_VALUE_LENGTH:
            raise _too_long(len(text) // width * extra, "|wordwrap")
        return wordwrap(value, width, *args, **kwargs)

    @jinja2.pass_eval_context
    def bounded_replace(
        context: Any, value: object, old: object, new: object, count: int | None = None
    ) -> Any:
        text, before, after = str(value), str(old), str(new)
        size = _replace_size(text, before, after, -1 if count is None else count)
        if size > MAX_VALUE_LENGTH:
            raise _too_long(size, "|replace")
        return replace(context, value, old, new, count)

    @jinja2.pass_eval_context
    def bounded_join(context: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        if attribute is None and _join_size(str(d), items) > MAX_VALUE_LENGTH:
            raise _too_long(_join_size(str(d), items), "|join")
        result: str = join(context, items, d, attribute)
        check_length(result, "|join")
        return result

    def bounded_format(value: str, *args: Any, **kwargs: Any) -> Any:
        _check_format(str(value), [*args, *kwargs.values()], "|format")
        return format_(value, *args, **kwargs)

    return {
        "center": bounded_center,
        "indent": bounded_indent,
        "wordwrap": bounded_wordwrap,
        "replace": bounded_replace,
        "join": bounded_join,
        "format": bounded_format,
    }


_SIZED = frozenset({str, list, tuple, markupsafe.Markup})
_BUILTIN_METHOD = type("".join)
_METHODS = frozenset({_BUILTIN_METHOD, types.MethodType})


class _BoundedNamespace(Namespace):
    """``namespace()`` whose values are held to the length limit when assigned."""

    def __setitem__(self, name: str, value: Any) -> None:
        check_length(value, f"namespace value `{name}`")
        super().__setitem__(name, value)


# ---------------------------------------------------------------- the environment


#: Every attribute a dict has (its type's and object's): any other name is a key or nothing.
_DICT_NAMES = frozenset(dir(dict))


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, refusing operations that would make oversized values."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.update(_bounded_filters(self.filters))
        self.globals["namespace"] = _BoundedNamespace
        # Whether an attribute is safe depends only on the object's type and the name
        # (Jinja's checks are isinstance tests and name tests), so it is decided once.
        self._safe_attributes: dict[tuple[type, str], bool] = {}

    def getattr(self, obj: Any, attribute: str) -> Any:
        # A plain dict's key by attribute syntax (``request.from``), the usual lookup:
        # no attribute of a dict has the name, so Jinja's attempt would only raise
        # AttributeError before taking the item. Anything else goes Jinja's way.
        if type(obj) is dict and type(attribute) is str and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        safe = self._safe_attributes.get(key)
        if safe is None:
            safe = super().is_safe_attribute(obj, attr, value)
            if len(self._safe_attributes) > 4096:
                self._safe_attributes.clear()
            self._safe_attributes[key] = safe
        return safe

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        for argument in args:
            if type(argument) in _SIZED and len(argument) > MAX_VALUE_LENGTH:
                raise _too_long(len(argument), "an argument")
        kind = type(__obj)
        if kind is Macro:  # a template's own macro: always safe to call
            return __context.call(__obj, *args, **kwargs)
        if kind is _BUILTIN_METHOD:
            args = _check_method_call(__obj, args)
        # Jinja's own check, inlined: one call layer less on every call a template makes.
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        return __context.call(__obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if type(value) not in _METHODS:  # str.format and Markup.format are; most values not
            return None
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(template, [*args, *kwargs.values()], "str.format()")
            return wrapped(*args, **kwargs)

        return checked


# ---------------------------------------------------------------- streaming and the watchdog


def render_bounded(
    template: jinja2.Template,
    values: dict[str, object],
    *,
    max_output: int,
    timeout: float = RENDER_TIMEOUT,
    max_memory: int = MAX_RENDER_MEMORY,
    context: Context | None = None,
) -> str:
    """Render ``template`` with the output cap and under the watchdog (in ``context``, the
    Jinja context ``template.new_context(values)`` gives, when the caller made it)."""
    parts: list[str] = []
    append = parts.append
    total = 0
    token = WATCHDOG.enter(timeout, max_memory)
    try:
        # What `Template.generate` does, without its generator around the template's own.
        # (a generator: the template's own root function; typing.cast is a call per render)
        chunks: Generator[str, None, None] = template.root_render_func(  # type: ignore[assignment]
            context if context is not None else template.new_context(values)
        )
        try:
            for chunk in chunks:
                total += len(chunk)
                if total > max_output:
                    # Thrown into the template, so that the error names the line printing.
                    chunks.throw(
                        RenderLimitExceeded(
                            f"the template's output passed {max_output:,} characters "
                            "(the document size limit); stopped"
                        )
                    )
                append(chunk)
        except Exception:
            template.environment.handle_exception()  # raises, at the template's lines
    finally:
        try:
            WATCHDOG.leave(token)
        except RenderLimitExceeded:  # delivered on the way out: the render had finished
            WATCHDOG.leave(token)
    return "".join(parts)


class _Render:
    __slots__ = ("deadline", "fired", "max_memory", "memory_at_start", "thread", "timeout")

    def __init__(self, timeout: float, max_memory: int) -> None:
        self.thread = threading.get_ident()
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.max_memory = max_memory
        # Measured by the watchdog when it first sees the render: reading it here would
        # cost every render a file read, for the few that run longer than one interval.
        self.memory_at_start: int | None = None
        self.fired = False


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class _Watchdog:
    """One thread per process stopping renders that pass their time or memory limit."""

    def __init__(self) -> None:
        self._watch_memory = _resident_bytes() is not None
        self._reset()

    def _reset(self) -> None:
        """A fresh state: at start, and in a forked child. The child has a copy of the
        parent's lock and event as they were at the fork (held, if this process's watchdog
        thread was looking at that moment: the child's first render would then wait for
        it forever) and of its renders (other threads', which do not exist in the child)."""
        self._lock = threading.Lock()
        self._renders: dict[int, _Render] = {}
        self._wake = threading.Event()
        self._awake = False  # _wake is set: read and changed under _lock (a bool, not a call)
        self._thread: threading.Thread | None = None
        _PENDING_REASONS.clear()

    def enter(self, timeout: float, max_memory: int) -> int:
        render = _Render(timeout, max_memory)
        token = id(render)
        with self._lock:
            self._renders[token] = render
            if self._thread is None:  # not started yet, or ended (see `_run`)
                thread = threading.Thread(
                    target=self._run, name="callflow-render-watchdog", daemon=True
                )
                try:
                    thread.start()  # (it cannot clear `_thread` before we set it: we hold the lock)
                except BaseException:  # e.g. no thread left to start: no unwatched render runs
                    del self._renders[token]
                    raise
                self._thread = thread
            if not self._awake:
                self._awake = True
                self._wake.set()
        return token

    def leave(self, token: int) -> None:
        with self._lock:
            render = self._renders.pop(token, None)
            if render is not None and render.fired:
                _raise_in(render.thread, None)  # drop an exception not yet delivered
                _PENDING_REASONS.pop(render.thread, None)

    def _run(self) -> None:
        try:
            self._watch()
        finally:  # only an error of ours ends the loop: the next render starts another
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _watch(self) -> None:
        idle = 0
        while True:
            self._wake.wait()
            time.sleep(WATCH_INTERVAL)
            with self._lock:
                if not self._renders:
                    # Asleep after IDLE_LOOKS empty looks, not the first: under a stream of
                    # renders (a flow server) waking the thread again would cost each one a
                    # thread switch.
                    idle += 1
                    if idle >= IDLE_LOOKS:
                        idle = 0
                        self._awake = False
                        self._wake.clear()
                    continue
                idle = 0
                now = time.monotonic()
                memory = _resident_bytes() if self._watch_memory else None
                for render in self._renders.values():
                    if render.fired:
                        continue
                    if render.memory_at_start is None:
                        render.memory_at_start = memory
                    if now > render.deadline:
                        reason = f"the render took longer than {render.timeout:g} s; stopped"
                    elif (
                        memory is not None
                        and render.memory_at_start is not None
                        and memory - render.memory_at_start > render.max_memory
                    ):
                        reason = (
                            f"the render used more than {render.max_memory // 2**20} MiB "
                            "of memory; stopped"
                        )
                    else:
                        continue
                    render.fired = True
                    _PENDING_REASONS[render.thread] = reason
                    _raise_in(render.thread, _Stopped)


#: Why the watchdog stopped a thread's render, read by `_Stopped` when it is raised there.
_PENDING_REASONS: dict[int, str] = {}


class _Stopped(RenderLimitExceeded):
    """Raised inside a rendering thread by the watchdog (built there with no arguments)."""

    def __init__(self, message: str | None = None) -> None:
        reason = _PENDING_REASONS.pop(threading.get_ident(), "the render passed its limits")
        super().__init__(message or reason)


def _raise_in(thread: int, exception: type[BaseException] | None) -> None:
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None
    )


WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG._reset)
