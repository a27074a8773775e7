"""`callflow graph`: one node per action, an edge per way onward, Mermaid/dot/svg/png."""

from __future__ import annotations

import shutil
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.cli import build_parser
from callflow.commands import graph as graph_command
from callflow.document import Document, load_path
from callflow.graph import (
    MARKER,
    PNG_SIGNATURE,
    FlowGraph,
    build_graph,
    is_previous_output,
    to_dot,
    to_mermaid,
)
from callflow.sourcemap import SourceLocation, SourceMap
from callflow.vocabulary import load_vocabulary

ACTION_TAGS = load_vocabulary().members("Action")

EXAMPLES = Path(__file__).parents[2] / "examples"
GOLDEN = Path(__file__).parent / "golden"
Write = Callable[[str, str | bytes], Path]
RunCli = Callable[..., Any]


def graph_of(xml: str) -> FlowGraph:
    return build_graph(Document.from_text(xml, "flow.xml"))


def edge_labels(graph: FlowGraph, kind: str) -> list[str]:
    sources = {node.id for node in graph.nodes if node.kind == kind}
    return [edge.label for edge in graph.edges if edge.source in sources]


def first_line(graph: FlowGraph, node_id: str) -> str:
    return graph.node(node_id).lines[0]


# ---------------------------------------------------------------- the graph


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.xml")))
def test_every_action_of_every_example_is_one_node(example: str) -> None:
    document = Document.from_path(EXAMPLES / example)
    actions = [e for e in document.iter_elements() if e.tag in ACTION_TAGS]
    graph = build_graph(document)
    assert len([n for n in graph.nodes if n.kind in ACTION_TAGS]) == len(actions)


def test_menu_keys_default_and_prompts_are_edges_of_the_gather() -> None:
    graph = build_graph(Document.from_path(EXAMPLES / "ivr_menu.xml"))
    assert edge_labels(graph, "Gather") == ["prompt", "keys 1", "keys 2", "keys 0", "default"]


def test_a_menu_without_default_falls_through_on_no_match() -> None:
    graph = graph_of(
        '<Response><Gather><Say>m</Say><Switch><Case dtmf="1"><Say>a</Say></Case></Switch>'
        "</Gather><Say>after</Say></Response>"
    )
    (no_match,) = [e for e in graph.edges if e.label == "no match"]
    assert first_line(graph, no_match.target) == "Say “after”"


def test_dial_failure_and_callback_url_are_edges() -> None:
    graph = build_graph(Document.from_path(EXAMPLES / "ivr_menu.xml"))
    (failed,) = [e for e in graph.edges if e.label == "failed"]
    assert first_line(graph, failed.target).startswith("Say “Billing is busy.")
    (fetch,) = [e for e in graph.edges if e.label == "fetch and run"]
    assert graph.node(fetch.target).lines == ["https://ivr.example.com/support/menu"]
    assert "error" in edge_labels(graph, "Callback")


def test_legacy_dtmf_branches_and_gather_url_are_drawn() -> None:
    graph = graph_of(
        '<Response><Gather url="https://a.example.com/d"><Say>m</Say>'
        '<DTMF value="1"><Say>one</Say></DTMF><Default/></Gather></Response>'
    )
    assert edge_labels(graph, "Gather") == ["prompt", "keys 1", "default", "digits sent to"]


def test_hangup_ends_its_branch_and_an_open_flow_reaches_end() -> None:
    ended = graph_of("<Response><Say>a</Say><Hangup/></Response>")
    assert "end" not in {n.kind for n in ended.nodes}
    open_flow = graph_of("<Response><Say>a</Say></Response>")
    (say,) = [n for n in open_flow.nodes if n.kind == "Say"]
    (onward,) = [e for e in open_flow.edges if e.source == say.id]
    assert open_flow.node(onward.target).kind == "end"


def test_labels_shorten_spoken_text_and_give_the_line() -> None:
    graph = graph_of("<Response>\n<Say>" + "word " * 30 + "</Say>\n</Response>")
    (say,) = [n for n in graph.nodes if n.kind == "Say"]
    assert say.lines[0].endswith("…”") and len(say.lines[0]) < 45
    assert say.lines[1] == "line 2"


def test_labels_name_another_file_when_the_author_wrote_the_action_there() -> None:
    source_map = SourceMap(
        "flows/support.py",
        identity=False,
        elements={"/Response/Say": SourceLocation("flows/common.py", 12)},
    )
    document = Document.from_text("<Response><Say>Hi</Say></Response>", "flows/support.py",
                                  source_map=source_map)  # fmt: skip
    (say,) = [n for n in build_graph(document).nodes if n.kind == "Say"]
    assert say.lines[-1] == "common.py:12"


# ---------------------------------------------------------------- Mermaid and dot text


def test_mermaid_of_the_menu_example_matches_the_golden_file() -> None:
    document, _ = load_path(EXAMPLES / "ivr_menu.xml", display="examples/ivr_menu.xml")
    assert document is not None
    assert to_mermaid(build_graph(document)) == (GOLDEN / "ivr_menu.mmd").read_text()


def test_the_diagrams_page_shows_the_menu_diagram_as_callflow_draws_it() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "guides" / "diagrams.md").read_text()
    golden = (GOLDEN / "ivr_menu.mmd").read_text()
    assert f"```mermaid\n{golden}```" in readme


def test_mermaid_escapes_quotes_hashes_and_angle_brackets() -> None:
    text = to_mermaid(graph_of('<Response><Say>Press # or "0" &lt;now&gt;</Say></Response>'))
    assert "Press #35; or #quot;0#quot; #lt;now#gt;" in text


def test_dot_escapes_quotes_and_backslashes() -> None:
    text = to_dot(graph_of('<Response><Say>a "b" \\c</Say></Response>'))
    assert 'label="Say “a \\"b\\" \\\\c”\\nline 1"' in text


# ---------------------------------------------------------------- the command


def run_graph(argv: list[str], find_executable: Callable[[str], str | None]) -> int:
    from callflow.cli import write_outcome

    args = build_parser().parse_args(["graph", *argv])
    return write_outcome(graph_command.run(args, find_executable=find_executable))


def fake_dot(tmp_path: Path, output: bytes) -> str:
    """An executable that reads dot text on stdin and prints ``output``, as dot would."""
    script = tmp_path / "fake-dot"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdin.read()\nsys.stdout.buffer.write({output!r})\n"
    )
    script.chmod(0o755)
    return str(script)


def tiny_png() -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return PNG_SIGNATURE + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_mermaid_is_the_default_and_goes_to_stdout(run_cli: RunCli) -> None:
    result = run_cli("graph", EXAMPLES / "voicemail.xml")
    assert result.code == 0
    assert result.out.startswith(f"flowchart TD\n    %% {MARKER} from ")


def test_without_graphviz_svg_prints_the_dot_text_and_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "flow.svg"
    code = run_graph([str(EXAMPLES / "voicemail.xml"), "--format", "svg", "-o", str(output)],
                     lambda name: None)  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "Graphviz `dot` was not found" in captured.err and "--format mermaid" in captured.err
    assert captured.out.startswith(f"// {MARKER}") and "digraph callflow" in captured.out
    assert not output.exists()


def test_with_graphviz_svg_is_rendered_and_marked(tmp_path: Path) -> None:
    dot = fake_dot(tmp_path, b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    output = tmp_path / "flow.svg"
    code = run_graph([str(EXAMPLES / "voicemail.xml"), "--format", "svg", "-o", str(output)],
                     lambda name: dot if name == "dot" else None)  # fmt: skip
    assert code == 0
    data = output.read_bytes()
    assert data.startswith(b'<?xml version="1.0"?>\n<!-- ' + MARKER.encode())
    assert is_previous_output(data)


def test_png_gets_a_valid_text_chunk_naming_callflow(tmp_path: Path) -> None:
    dot = fake_dot(tmp_path, tiny_png())
    output = tmp_path / "flow.png"
    assert run_graph([str(EXAMPLES / "voicemail.xml"), "--format", "png", "-o", str(output)],
                     lambda name: dot) == 0  # fmt: skip
    data = output.read_bytes()
    length = struct.unpack(">I", data[33:37])[0]
    payload = data[37 : 37 + length + 4]
    assert payload == b"tEXtSoftware\x00" + MARKER.encode()
    assert struct.unpack(">I", data[37 + length + 4 : 41 + length + 4])[0] == zlib.crc32(payload)
    assert is_previous_output(data[:1024])


def test_dot_option_names_the_executable(tmp_path: Path) -> None:
    asked: list[str] = []

    def lookup(name: str) -> str | None:
        asked.append(name)
        return None

    run_graph([str(EXAMPLES / "voicemail.xml"), "--format", "png", "--dot", "/opt/gv/dot"], lookup)
    assert asked == ["/opt/gv/dot"]


def test_output_never_replaces_a_file_callflow_did_not_write(write: Write, run_cli: RunCli) -> None:
    mine = write("notes.md", "my own notes\n")
    result = run_cli("graph", EXAMPLES / "voicemail.xml", "-o", mine)
    assert result.code == 2 and "--force" in result.err
    assert mine.read_text() == "my own notes\n"


def test_output_replaces_its_own_previous_output(tmp_path: Path, run_cli: RunCli) -> None:
    output = tmp_path / "flow.mmd"
    assert run_cli("graph", EXAMPLES / "voicemail.xml", "-o", output).code == 0
    assert run_cli("graph", EXAMPLES / "ivr_menu.xml", "-o", output).code == 0
    assert "ivr_menu.xml" in output.read_text()


def test_force_replaces_any_file(write: Write, run_cli: RunCli) -> None:
    mine = write("flow.dot", "digraph mine {}\n")
    assert run_cli("graph", EXAMPLES / "voicemail.xml", "--format", "dot", "-o", mine,
                   "--force").code == 0  # fmt: skip
    assert mine.read_text().startswith(f"// {MARKER}")


def test_a_flow_that_cannot_be_read_is_reported(write: Write, run_cli: RunCli) -> None:
    broken = write("broken.xml", "<Response><Say>")
    result = run_cli("graph", broken)
    assert result.code == 1 and "CF101" in result.out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz installed")
@pytest.mark.parametrize("image_format", ["svg", "png"])
def test_real_graphviz_renders_every_example(tmp_path: Path, image_format: str) -> None:
    for example in sorted(EXAMPLES.glob("*.xml")):
        output = tmp_path / f"{example.stem}.{image_format}"
        assert run_graph([str(example), "--format", image_format, "-o", str(output)],
                         shutil.which) == 0  # fmt: skip
        head = output.read_bytes()[:2048]
        assert is_previous_output(head)
        assert (b"<svg" in head) if image_format == "svg" else head.startswith(PNG_SIGNATURE)
