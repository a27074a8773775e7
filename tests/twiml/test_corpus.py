"""The TwiML corpus: each document's OpenTact output and migration report, as golden files.

``NAME.twiml`` (or ``NAME.twiml.j2``, a template) converts to ``NAME.opentact.xml`` (or
``NAME.opentact.xml.j2``) with the report ``NAME.report`` (``line:col severity code message``
per line, in source order). Names starting ``nobase-`` convert without a base URL, the others
with ``https://app.example.com/twiml/``; a file without an expected output must not convert.
XML outputs are compared after canonicalisation (C14N, layout whitespace removed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from callflow.document import load_bytes
from callflow.schema import load_schema
from callflow.twiml import TwimlConversion, convert_twiml

DATA = Path(__file__).resolve().parents[1] / "data" / "twiml"
BASE_URL = "https://app.example.com/twiml/"
INPUTS = sorted(p for p in DATA.iterdir() if p.name.endswith((".twiml", ".twiml.j2")))


def _stem(path: Path) -> tuple[str, str]:
    if path.name.endswith(".twiml.j2"):
        return path.name[: -len(".twiml.j2")], ".opentact.xml.j2"
    return path.name[: -len(".twiml")], ".opentact.xml"


def _convert(path: Path) -> TwimlConversion:
    stem, _ = _stem(path)
    base = None if stem.startswith("nobase-") else BASE_URL
    return convert_twiml(path, base_url=base, filename=path.name)


def _report(conversion: TwimlConversion) -> list[str]:
    return [
        f"{d.location.line}:{d.location.column or 0} {d.severity.value} {d.code} {d.message}"
        for d in conversion.diagnostics
    ]


def canonical(xml: str) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    return etree.tostring(root, method="c14n")


def test_the_corpus_covers_every_verb_and_the_unmappable_ones() -> None:
    text = "\n".join(p.read_text("utf-8") for p in INPUTS)
    for verb in ("Say", "Play", "Pause", "Gather", "Dial", "Number", "Sip", "Record", "Hangup"):
        assert f"<{verb}" in text
    for verb in ("Redirect", "Reject", "Enqueue", "Conference", "Sms", "Message", "Stream"):
        assert f"<{verb}" in text
    for verb in ("Connect", "Queue", "Client", "Refer", "Pay", "Start", "statusCallback"):
        assert verb in text
    assert len(INPUTS) >= 12


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_report_matches_its_golden_file(path: Path) -> None:
    stem, _ = _stem(path)
    expected = (DATA / f"{stem}.report").read_text("utf-8").splitlines()
    assert _report(_convert(path)) == [line for line in expected if line]


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_output_matches_its_golden_file(path: Path) -> None:
    stem, suffix = _stem(path)
    golden = DATA / f"{stem}{suffix}"
    conversion = _convert(path)
    if not golden.exists():
        assert not conversion.ok
        assert any(d.is_error for d in conversion.diagnostics)
        return
    assert conversion.ok, _report(conversion)
    assert conversion.text is not None
    expected = golden.read_text("utf-8")
    if suffix.endswith(".j2"):
        assert conversion.text.strip() == expected.strip()
    else:
        assert canonical(conversion.text) == canonical(expected)


@pytest.mark.parametrize("golden", sorted(DATA.glob("*.opentact.xml")), ids=lambda p: p.name)
def test_golden_output_is_valid_opentact_xml(golden: Path) -> None:
    document, problems = load_bytes(golden.read_bytes(), golden.name)
    assert document is not None, problems
    assert list(load_schema().iter_diagnostics(document)) == []


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_every_twiml_part_is_converted_or_reported(path: Path) -> None:
    assert _convert(path).unaccounted() == []


@pytest.mark.parametrize(
    "path",
    [p for p in INPUTS if (DATA / f"{_stem(p)[0]}.opentact.xml").exists()],
    ids=lambda p: p.name,
)
def test_the_builder_script_rebuilds_the_converted_document(path: Path) -> None:
    # Private on purpose: the same parse and writer `callflow convert --to python` uses.
    from callflow.dsl._parsing import parse
    from callflow.dsl._pysource import flow_script

    conversion = _convert(path)
    assert conversion.document is not None and conversion.text is not None
    namespace: dict[str, object] = {"__name__": "converted"}
    exec(flow_script(parse(conversion.document), source=path.name), namespace)
    flow = namespace["flow"]
    assert hasattr(flow, "to_xml")
    assert canonical(flow.to_xml()) == canonical(conversion.text)
