"""Safe parsing: every kind of bad or hostile input gets its own located diagnostic."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from callflow.document import Document, load_bytes, load_path
from callflow.errors import ValidationError


def codes(data: bytes, **kwargs: int) -> list[str]:
    document, diagnostics = load_bytes(data, "flow.xml", **kwargs)
    assert document is None
    return [d.code for d in diagnostics]


def test_external_entity_is_refused_and_the_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Response [\n  <!ENTITY leak SYSTEM "file://{secret}">\n]>\n'
        "<Response><Say>&leak;</Say></Response>"
    ).encode()
    document, diagnostics = load_bytes(data, "flow.xml")
    assert document is None
    assert [d.code for d in diagnostics] == ["CF103"]
    assert (diagnostics[0].location.line, diagnostics[0].location.column) == (3, 3)
    assert all("TOP-SECRET-VALUE" not in d.message for d in diagnostics)


def test_entity_expansion_bomb_is_refused_quickly() -> None:
    entities = "".join(
        f'  <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10)
    )
    data = (
        '<?xml version="1.0"?>\n<!DOCTYPE Response [\n  <!ENTITY lol0 "lol">\n'
        + entities
        + "]>\n<Response><Say>&lol9;</Say></Response>"
    ).encode()
    found = codes(data)
    assert set(found) == {"CF104"}
    assert len(found) == 10


def test_doctype_pointing_at_a_url_is_refused_without_a_connection() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        data = (
            f'<!DOCTYPE Response SYSTEM "http://127.0.0.1:{port}/evil.dtd">\n<Response/>'
        ).encode()
        document, diagnostics = load_bytes(data, "flow.xml")
        assert document is None
        assert [d.code for d in diagnostics] == ["CF105"]
        assert f"127.0.0.1:{port}" in diagnostics[0].message
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_plain_doctype_is_refused() -> None:
    assert codes(b"<!DOCTYPE Response>\n<Response/>") == ["CF102"]


def test_doctype_inside_a_comment_is_not_refused() -> None:
    document, diagnostics = load_bytes(b"<!-- <!DOCTYPE x> -->\n<Response/>", "flow.xml")
    assert diagnostics == []
    assert document is not None


def test_empty_and_blank_files() -> None:
    assert codes(b"") == ["CF003"]
    assert codes(b"  \n\t\n") == ["CF003"]


def test_binary_file() -> None:
    assert codes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == ["CF004"]


def test_invalid_utf8_is_located_at_the_bad_byte() -> None:
    document, diagnostics = load_bytes(b"<Response>\n  <Say>caf\xe9</Say>\n</Response>", "f.xml")
    assert document is None
    (problem,) = diagnostics
    assert problem.code == "CF005"
    assert (problem.location.line, problem.location.column) == (2, 11)
    assert "0xe9" in problem.message


def test_declared_latin1_is_decoded_not_refused() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response><Say>café</Say></Response>'
    document, diagnostics = load_bytes(data.encode("latin-1"), "f.xml")
    assert diagnostics == []
    assert document is not None
    assert document.root[0].text == "café"


def test_unknown_declared_encoding() -> None:
    assert codes(b'<?xml version="1.0" encoding="klingon"?><Response/>') == ["CF005"]


def test_over_the_size_limit_is_refused_unparsed() -> None:
    data = b"<Response>" + b"<Pause/>" * 100 + b"</Response>"
    assert codes(data, max_bytes=64) == ["CF006"]


def test_malformed_xml_reports_a_located_rewritten_message() -> None:
    document, diagnostics = load_bytes(b"<Response>\n  <Say>hi</Gather>\n</Response>", "f.xml")
    assert document is None
    first = diagnostics[0]
    assert first.code == "CF101"
    assert first.location.line == 2
    assert "</Gather>" in first.message and "<Say>" in first.message


def test_bare_ampersand_gets_a_hint_about_escaping() -> None:
    document, diagnostics = load_bytes(b"<Response><Say>Tom & Jerry</Say></Response>", "f.xml")
    assert document is None
    assert "&amp;" in diagnostics[0].message


def test_missing_file(tmp_path: Path) -> None:
    document, diagnostics = load_path(tmp_path / "nope.xml")
    assert document is None
    assert [d.code for d in diagnostics] == ["CF001"]


def test_from_bytes_raises_validation_error_carrying_diagnostics() -> None:
    with pytest.raises(ValidationError) as raised:
        Document.from_bytes(b"<Response>", "f.xml")
    assert raised.value.diagnostics
    assert raised.value.diagnostics[0].code == "CF101"


def test_from_text_ignores_an_encoding_declaration() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Say>ü</Say></Response>'
    assert Document.from_text(text).root[0].text == "ü"


def test_line_numbers_and_columns_are_kept() -> None:
    document = Document.from_bytes(b'<Response>\n\n   <Pause\n     length="1"/>\n</Response>')
    pause = document.root[0]
    assert document.position(pause) == (3, 5)
    assert document.position(pause, "length") == (4, 6)


def test_locations_and_diagnostics_survive_pickling() -> None:
    import pickle

    document, diagnostics = load_bytes(b"<Response><Say>", "f.xml")
    assert document is None
    restored = pickle.loads(pickle.dumps(diagnostics))
    assert restored == diagnostics
    assert restored[0].location == diagnostics[0].location


def test_namespaced_root_is_explained_at_its_tag() -> None:
    from callflow.schema import iter_diagnostics

    document = Document.from_text('<ns:Response xmlns:ns="urn:x"/>', "t.xml")
    (problem,) = iter_diagnostics(document)
    assert problem.code == "CF208"
    assert (problem.location.line, problem.location.column) == (1, 2)
    assert "urn:x" in problem.message and problem.hint is not None


def test_prefixed_attribute_is_named_as_written_and_located() -> None:
    from callflow.schema import iter_diagnostics

    document = Document.from_text('<Response><Say xml:lang="en">x</Say></Response>', "t.xml")
    (problem,) = iter_diagnostics(document)
    assert problem.code == "CF203"
    assert "'xml:lang'" in problem.message
    assert problem.location.column == 16
    assert problem.hint is not None and problem.hint.startswith("did you mean `lang`?")


def test_a_clean_document_is_decoded_only_when_its_text_is_needed() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response><Say>café</Say></Response>'
    document, diagnostics = load_bytes(data.encode("latin-1"), "f.xml")
    assert diagnostics == [] and document is not None
    assert document._text is None  # nothing asked for it yet
    assert "café" in document.text


def test_a_directory_given_as_a_file_is_reported(tmp_path: Path) -> None:
    document, diagnostics = load_path(tmp_path)
    assert document is None
    assert [d.code for d in diagnostics] == ["CF010"]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "flow.xml"
    os.mkfifo(fifo)
    # No writer ever opens it: reading it as before would block here forever.
    document, diagnostics = load_path(fifo)
    assert document is None
    assert [d.code for d in diagnostics] == ["CF010"]
    assert "FIFO" in diagnostics[0].message
