"""Reading an HTTP reply within limits: a total deadline and a size counted on the wire.

httpx's timeouts bound each read, not the whole reply, and its decoders expand a body as
fast as it arrives; a server that drips a byte a second, or sends a gzip bomb, is only stopped
here. `read_limited` (sync) and `aread_limited` (async) read the raw body, count its bytes as
they arrive, check the deadline after each chunk, and decode gzip or deflate with a bound on
the output of every step, so memory stays within the limit whatever the ratio.
Shared by the API client and the simulator.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

#: What a reader asks for: the encodings it can decode within bounds.
ACCEPT_ENCODING = "gzip, deflate"

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class ReplyTooLarge(httpx.DecodingError):
    """The reply grew past its limit (on the wire, or once decoded)."""


class ReplyTooSlow(httpx.ReadTimeout):
    """The reply did not arrive in full before its deadline."""


class _Decoder:
    def __init__(self, encoding: str, max_bytes: int, request: httpx.Request) -> None:
        self.max_bytes = max_bytes
        self.request = request
        self.size = 0
        self.parts: list[bytes] = []
        coding = encoding.strip().lower()
        if coding in ("", "identity"):
            self.zlib = None
        elif coding in _WBITS:
            self.zlib = zlib.decompressobj(_WBITS[coding])
        else:
            raise httpx.DecodingError(
                f"the reply is encoded as {encoding!r}; only {ACCEPT_ENCODING} were asked for",
                request=request,
            )

    def feed(self, chunk: bytes) -> None:
        if self.zlib is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                # At most one byte past the limit comes out of each step, whatever the ratio.
                out = self.zlib.decompress(data, self.max_bytes - self.size + 1)
            except zlib.error as error:
                raise httpx.DecodingError(f"the reply's compression is broken: {error}") from None
            self._keep(out)
            data = self.zlib.unconsumed_tail
            if not out and not data:
                break

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise ReplyTooLarge(
                f"the reply is larger than {self.max_bytes} bytes once decoded",
                request=self.request,
            )
        self.parts.append(data)

    def finish(self) -> bytes:
        if self.zlib is not None:
            self._keep(self.zlib.flush())
        return b"".join(self.parts)


class Limits:
    """Where one reply must stop: ``deadline`` (a `time.monotonic` instant), ``max_bytes``."""

    __slots__ = ("deadline", "max_bytes", "seconds")

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.max_bytes = max_bytes

    def remaining(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def check(self, request: httpx.Request) -> None:
        if time.monotonic() > self.deadline:
            raise ReplyTooSlow(f"no complete answer within {self.seconds:g} s", request=request)


def _start(
    response: httpx.Response, limits: Limits, request: httpx.Request
) -> tuple[_Decoder, int]:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ReplyTooLarge(
            f"the reply announces {declared} bytes, over the {limits.max_bytes}-byte limit",
            request=request,
        )
    return _Decoder(response.headers.get("content-encoding", ""), limits.max_bytes, request), 0


def _finished(
    response: httpx.Response, decoder: _Decoder, request: httpx.Request
) -> httpx.Response:
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    done = httpx.Response(
        response.status_code,
        headers=headers,
        content=decoder.finish(),
        request=request,
        extensions=response.extensions,
    )
    return done


def _count(wire: int, chunk: bytes, limits: Limits, request: httpx.Request) -> int:
    wire += len(chunk)
    if wire > limits.max_bytes:
        raise ReplyTooLarge(
            f"the reply is larger than {limits.max_bytes} bytes on the wire", request=request
        )
    limits.check(request)
    return wire


def read_limited(
    response: httpx.Response, limits: Limits, request: httpx.Request
) -> httpx.Response:
    """The streamed ``response`` to ``request`` read in full within ``limits``, decoded."""
    try:
        decoder, wire = _start(response, limits, request)
        # The raw stream itself (what `iter_raw` reads), so that a reply an in-process app
        # built already read (``httpx.Response(content=...)``) is counted the same way.
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        raw: Iterator[bytes] = iter(stream)
        for chunk in raw:
            wire = _count(wire, chunk, limits, request)
            decoder.feed(chunk)
        return _finished(response, decoder, request)
    finally:
        response.close()


async def aread_limited(
    response: httpx.Response, limits: Limits, request: httpx.Request
) -> httpx.Response:
    """`read_limited` for an async stream."""
    try:
        decoder, wire = _start(response, limits, request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        raw: AsyncIterator[bytes] = stream.__aiter__()
        async for chunk in raw:
            wire = _count(wire, chunk, limits, request)
            decoder.feed(chunk)
        return _finished(response, decoder, request)
    finally:
        await response.aclose()
