"""Every encoding lxml reads gets the same DOCTYPE and entity refusal, and real lines."""

from __future__ import annotations

import pytest

from callflow.document import Document, load_bytes

EXTERNAL = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE Response [<!ENTITY leak SYSTEM "file:///etc/passwd">]>\n'
    "<Response><Say>{body}</Say></Response>\n"
)

# (Python codec writing the bytes, the name declared, whether a BOM is written)
ENCODINGS = [
    ("utf-8", "UTF-8", False),
    ("utf-8-sig", "UTF-8", True),
    ("utf-16", "UTF-16", True),
    ("utf-16-le", "UTF-16LE", False),
    ("utf-16-be", "UTF-16BE", False),
    ("utf-32", "UTF-32", True),
    ("utf-32-le", "UTF-32LE", False),
    ("utf-32-be", "UTF-32BE", False),
    ("utf-32-le", "UTF-32", "bom-le"),
    ("utf-32-be", "UTF-32", "bom-be"),
    ("latin-1", "ISO-8859-1", False),
    ("cp1252", "windows-1252", False),
]


def encoded(codec: str, declared: str, bom: bool | str, body: str) -> bytes:
    data = EXTERNAL.format(encoding=declared, body=body).encode(codec)
    if bom == "bom-le":
        data = b"\xff\xfe\x00\x00" + data
    elif bom == "bom-be":
        data = b"\x00\x00\xfe\xff" + data
    return data


@pytest.mark.parametrize(("codec", "declared", "bom"), ENCODINGS)
@pytest.mark.parametrize("body", ["hello", "&leak;"])
def test_an_external_entity_is_refused_in_every_encoding(
    codec: str, declared: str, bom: bool | str, body: str
) -> None:
    document, diagnostics = load_bytes(encoded(codec, declared, bom, body), "flow.xml")
    assert document is None
    assert [d.code for d in diagnostics] == ["CF103"]
    assert diagnostics[0].location.line == 2


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_doctype_without_entities_is_refused_in_wide_encodings(codec: str) -> None:
    text = '<?xml version="1.0"?>\n<!DOCTYPE Response>\n<Response/>\n'
    document, diagnostics = load_bytes(text.encode(codec), "flow.xml")
    assert document is None
    assert [d.code for d in diagnostics] == ["CF102"]


def test_an_ebcdic_declaration_is_refused_not_passed() -> None:
    text = '<?xml version="1.0" encoding="IBM037"?>\n<!DOCTYPE R>\n<Response/>\n'
    document, diagnostics = load_bytes(text.encode("cp037"), "flow.xml")
    assert document is None
    assert diagnostics and diagnostics[0].code in ("CF101", "CF102", "CF005")


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-16-le", "utf-32-be"])
def test_a_wide_file_is_text_with_real_positions(codec: str) -> None:
    declared = codec.upper().replace("-LE", "LE").replace("-BE", "BE")
    text = (
        f'<?xml version="1.0" encoding="{declared}"?>\n'
        '<Response>\n  <Pause length="5"/>\n</Response>\n'
    )
    document = Document.from_bytes(text.encode(codec), "flow.xml")
    pause = document.root[0]
    assert document.position(pause, "length") == (3, 10)
    assert document.line_text(3) == '  <Pause length="5"/>'
    assert "\x00" not in document.text


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_lines_are_counted_by_cr_lf_and_crlf_alike(newline: str) -> None:
    text = newline.join(["<Response>", "  <Say>hi</Say>", '  <Pause length="5"/>', "</Response>"])
    document = Document.from_bytes(text.encode(), "flow.xml")
    pause = document.root[1]
    assert document.position(pause, "length") == (3, 10)
    assert document.line_text(3) == '  <Pause length="5"/>'


def test_a_nul_byte_anywhere_is_binary_with_its_byte_offset() -> None:
    data = b"<Response>" + b" " * 10_000 + b"TOKEN=abc\x00</Response>"
    document, diagnostics = load_bytes(data, "flow.xml")
    assert document is None
    assert [d.code for d in diagnostics] == ["CF004"]
    nul = data.index(b"\x00")
    assert f"byte offset {nul}" in diagnostics[0].message
    assert diagnostics[0].snippet == ""  # never quoted


def test_an_undecodable_byte_is_located_and_not_quoted() -> None:
    document, diagnostics = load_bytes(b"<Response>\r<Say>caf\xe9</Say></Response>", "f.xml")
    assert document is None
    [problem] = diagnostics
    assert problem.code == "CF005"
    assert "byte offset 19" in problem.message
    assert (problem.location.line, problem.location.column) == (2, 9)
    assert problem.snippet == ""


# ---------------------------------------------------------------- one decoding, two uses


@pytest.mark.parametrize("first", ["text", "lines"])
@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n<Say>caf\xc3\xa9</Say>\n</Response>',
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response><Say>caf\xe9</Say></Response>',
        b"\xef\xbb\xbf<Response>\r\n<Say>x</Say>\r</Response>",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say>caf\xe9</Say></Response>',
        b'<?xml version="1.0" encoding="x-no-such-codec"?>\n<Response/>',
    ],
)
def test_quoted_lines_are_the_strict_decoding_whichever_is_asked_first(
    data: bytes, first: str
) -> None:
    from callflow._text import sniff_encoding, split_lines

    try:
        expected: list[str] | None = split_lines(
            data.decode(sniff_encoding(data)).removeprefix("\ufeff")
        )
    except (LookupError, UnicodeDecodeError):
        expected = None  # bytes that do not decode strictly are not quoted
    document, problems = load_bytes(data, "flow.xml")
    if document is None:  # lxml refused the bytes: nothing to quote
        assert problems
        return
    if first == "text":
        assert document.text  # decoded (with replacements, if any) for positions
    assert document.file_lines() == expected
    assert document.file_lines() == expected
