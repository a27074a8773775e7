"""The front door (callflow.sources): every kind of input, every public API, the reading policy."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import callflow
from callflow.document import Document
from callflow.errors import InputError, ValidationError
from callflow.sources import ReadPolicy, load_flow, load_flows

GOOD = "<Response><Say>Hello.</Say><Hangup/></Response>"
TEMPLATE = (
    '{#- callflow\n[samples.basic]\ngreeting = "Hi"\n-#}\n'
    "<Response><Say>{{ greeting }}</Say><Hangup/></Response>\n"
)
SCRIPT = (
    "from callflow.dsl import Response, Say, Hangup\n\nflow = Response(Say('Hello.'), Hangup())\n"
)
LIBRARY = "callflow/voicemail.xml.j2"
SECRET = "s3cr3t-value-that-must-not-leak"


def _callflow(*args: str | Path, cwd: Path, stdin: bytes = b"", **env: str) -> tuple[int, str]:
    """Run the real `callflow` command (a child process: FIFOs and environments are real),
    stdout and stderr together; a hang fails the test after 30 seconds."""
    result = subprocess.run(
        [sys.executable, "-m", "callflow", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=30,
        env={**os.environ, **env},
    )
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "good.xml").write_text(GOOD, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- links out of the folder


def test_a_link_to_proc_environ_is_reported_and_the_environment_is_not_printed(
    flows: Path,
) -> None:
    (flows / "env.xml").symlink_to("/proc/self/environ")
    code, out = _callflow("validate", flows, cwd=flows.parent, CALLFLOW_TEST_SECRET=SECRET)
    assert code == 1
    assert "env.xml:1: CF009 symbolic link to a file outside the folder named; not read" in out
    assert SECRET not in out and "CALLFLOW_TEST_SECRET" not in out


def test_a_link_to_etc_passwd_is_reported_and_not_quoted(flows: Path) -> None:
    (flows / "passwd.xml").symlink_to("/etc/passwd")
    code, out = _callflow("validate", flows, cwd=flows.parent)
    assert code == 1 and "passwd.xml:1: CF009" in out
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    assert first_line not in out and "root:" not in out


def test_a_link_to_a_folder_outside_is_not_searched(flows: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bad.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    (flows / "elsewhere").symlink_to(outside)
    code, out = _callflow("validate", flows, cwd=tmp_path)
    assert "elsewhere:1: CF009 warning: link to a folder outside" in out
    assert "CF201" not in out and code == 0


def test_follow_links_opts_in(flows: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bad.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    (flows / "elsewhere").symlink_to(outside)
    (flows / "linked.xml").symlink_to(outside / "bad.xml")
    code, out = _callflow("validate", "--follow-links", flows, cwd=tmp_path)
    assert code == 1 and "CF009" not in out
    assert out.count("CF201") == 2


def test_links_inside_the_folder_are_followed(flows: Path) -> None:
    sub = flows / "sub"
    sub.mkdir()
    (sub / "again.xml").symlink_to(flows / "good.xml")
    (sub / "up").symlink_to(flows)  # a loop back to the top: searched once
    sources = load_flows(flows)
    assert sorted(s.label for s in sources) == [str(flows / "good.xml"), str(sub / "again.xml")]
    assert all(s.document is not None for s in sources)


def test_the_follow_links_policy_reaches_the_api(flows: Path, tmp_path: Path) -> None:
    (tmp_path / "out.xml").write_text(GOOD, encoding="utf-8")
    (flows / "link.xml").symlink_to(tmp_path / "out.xml")
    refused = {s.label: s for s in load_flows(flows)}[str(flows / "link.xml")]
    assert [d.code for d in refused.diagnostics] == ["CF009"]
    followed = {s.label: s for s in load_flows(flows, policy=ReadPolicy(follow_links=True))}
    assert followed[str(flows / "link.xml")].document is not None


def test_a_link_named_directly_is_the_users_choice(tmp_path: Path) -> None:
    (tmp_path / "real.xml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "named.xml").symlink_to(tmp_path / "real.xml")
    assert load_flow(tmp_path / "named.xml").root.tag == "Response"


# ---------------------------------------------------------------- special and unreadable files


def test_a_fifo_in_a_folder_does_not_hang_validate(flows: Path) -> None:
    os.mkfifo(flows / "x.xml")
    code, out = _callflow("validate", flows, cwd=flows.parent)
    assert code == 1
    assert "x.xml:1: CF010 a FIFO (named pipe), not a regular file; not read" in out


@pytest.mark.parametrize("command", ["validate", "simulate", "graph", "execute", "convert"])
def test_a_fifo_named_directly_does_not_hang_any_command(tmp_path: Path, command: str) -> None:
    os.mkfifo(tmp_path / "x.xml")
    code, out = _callflow(command, "x.xml", cwd=tmp_path)
    assert code in (1, 2) and "CF010" in out


def test_a_device_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "zero.xml").symlink_to("/dev/zero")
    [source] = load_flows(tmp_path / "zero.xml")
    assert [d.code for d in source.diagnostics] == ["CF010"]
    assert "character device" in source.diagnostics[0].message


def test_a_dangling_link_and_a_link_loop_are_located_and_the_run_goes_on(flows: Path) -> None:
    (flows / "dangling.xml").symlink_to(flows / "nowhere.xml")
    (flows / "loop.xml").symlink_to(flows / "loop.xml")
    (flows / "bad.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    code, out = _callflow("validate", flows, cwd=flows.parent)
    assert code == 1
    assert "dangling.xml:1: CF001 broken symbolic link: its target does not exist" in out
    assert "loop.xml:1: CF007 cannot read the file: a loop of symbolic links" in out
    assert "bad.xml:1:12: CF201" in out


_UNPRIVILEGED = """
import os, sys
from callflow.cli import main
# Warm up while everything is readable: imports, the schema, the reporters.
main(["validate", "-q", sys.argv[1]])
if os.geteuid() == 0:  # tests run as root, who can read anything: become nobody
    os.setgid(65534)
    os.setuid(65534)
sys.exit(main(["validate", *sys.argv[2:]]))
"""


@pytest.fixture
def world_readable() -> Iterator[Path]:
    """A folder another user can reach (pytest's own temporary root is private)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="callflow-test-", dir="/tmp"))
    folder.chmod(0o755)
    (folder / "warm").mkdir()
    (folder / "warm" / "good.xml").write_text(GOOD, encoding="utf-8")
    (folder / "warm" / "bad.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run_unprivileged(args: list[str], cwd: Path) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-c", _UNPRIVILEGED, "warm", *args],
        cwd=cwd,
        capture_output=True,
        timeout=30,
    )
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")


def test_an_unreadable_folder_and_file_are_located_diagnostics(world_readable: Path) -> None:
    flows = world_readable / "flows"
    (flows / "locked").mkdir(parents=True)
    (flows / "locked" / "hidden.xml").write_text(GOOD, encoding="utf-8")
    (flows / "secret.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    (flows / "bad.xml").write_text("<Response><Sayy/></Response>", encoding="utf-8")
    for path in (world_readable, flows):
        path.chmod(0o755)
    (flows / "locked").chmod(0)
    (flows / "secret.xml").chmod(0)
    (flows / "bad.xml").chmod(0o644)
    code, out = _run_unprivileged(["flows"], world_readable)
    assert code == 1, out
    assert "flows/locked:1: CF007 cannot read the folder: permission denied" in out
    assert "flows/secret.xml:1: CF007 cannot read the file: permission denied" in out
    assert "flows/bad.xml:1:12: CF201" in out  # the run went on
    code, out = _run_unprivileged(["flows/secret.xml"], world_readable)
    assert code == 1 and "CF007 cannot read the file: permission denied" in out
    assert "internal error" not in out


# ---------------------------------------------------------------- content never quoted


def test_binary_content_is_never_quoted_and_the_offset_is_named(flows: Path) -> None:
    (flows / "blob.xml").write_bytes(b"<Response>" + SECRET.encode() + b"\x00\x01</Response>")
    code, out = _callflow("validate", flows, cwd=flows.parent)
    assert code == 1
    assert "blob.xml:1: CF004 file is binary (a NUL byte at offset 41), not XML text" in out
    assert SECRET not in out


def test_undecodable_content_is_never_quoted(flows: Path) -> None:
    (flows / "latin.xml").write_bytes(
        b"<Response><Say>" + SECRET.encode() + b"\xe9</Say></Response>"
    )
    code, out = _callflow("validate", flows, cwd=flows.parent)
    assert code == 1 and "CF005" in out
    assert SECRET not in out


def test_a_template_that_is_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    (tmp_path / "t.xml.j2").write_bytes(b"<Response><Say>\xff</Say></Response>")
    [source] = load_flows(tmp_path / "t.xml.j2")
    [problem] = source.diagnostics
    assert (problem.code, problem.snippet) == ("CF005", "")
    assert "byte 0xff at offset 15" in problem.message


# ---------------------------------------------------------------- standard input


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("validate", []),
        ("simulate", []),
        ("graph", []),
        ("convert", []),
        ("execute", ["--sandbox-db", ":memory:"]),
    ],
)
def test_stdin_is_read_by_every_command(tmp_path: Path, command: str, extra: list[str]) -> None:
    code, out = _callflow(command, "-", *extra, cwd=tmp_path, stdin=GOOD.encode())
    assert code == 0, out


def test_stdin_filename_decides_the_name_in_locations(tmp_path: Path) -> None:
    code, out = _callflow(
        "validate", "-", "--stdin-filename", "flows/menu.xml", cwd=tmp_path,
        stdin=b"<Response><Sayy/></Response>",
    )  # fmt: skip
    assert code == 1 and out.startswith("flows/menu.xml:1:12: CF201 unknown element <Sayy>")


def test_stdin_filename_decides_the_kind(tmp_path: Path) -> None:
    code, out = _callflow(
        "validate", "-", "--stdin-filename", "t.xml.j2", cwd=tmp_path,
        stdin=TEMPLATE.replace("</Say>", "</Sayy>").encode(),
    )  # fmt: skip
    assert code == 1 and "t.xml.j2:5" in out and "CF6" in out
    code, out = _callflow(
        "build", "-", "--stdin-filename", "flow.py", cwd=tmp_path, stdin=SCRIPT.encode()
    )
    assert code == 0 and "<Say>Hello.</Say>" in out, out


def test_stdin_from_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(GOOD.encode())))
    document = load_flow("-", filename="typed.xml")
    assert document.name == "typed.xml" and document.root[0].text == "Hello."


# ---------------------------------------------------------------- library template names


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("validate", []),
        ("simulate", ["--var", "greeting=Hi"]),
        ("graph", ["--var", "greeting=Hi"]),
        ("convert", ["--var", "greeting=Hi"]),
        ("execute", ["--var", "greeting=Hi", "--sandbox-db", ":memory:"]),
        ("render", ["--var", "greeting=Hi"]),
    ],
)
def test_library_names_work_in_every_command(
    tmp_path: Path, command: str, extra: list[str]
) -> None:
    code, out = _callflow(command, LIBRARY, *extra, cwd=tmp_path)
    assert code == 0, out
    assert "CF001" not in out


def test_an_unknown_library_name_says_where_to_look(tmp_path: Path) -> None:
    [source] = load_flows("callflow/nope.xml.j2")
    [problem] = source.diagnostics
    assert problem.code == "CF001" and "library" in problem.message
    assert problem.hint is not None and "callflow templates" in problem.hint


def test_a_users_own_file_wins_over_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "callflow").mkdir()
    (tmp_path / "callflow" / "voicemail.xml.j2").write_text(TEMPLATE, encoding="utf-8")
    document = load_flow(LIBRARY, sample="basic")
    assert document.root[0].text == "Hi"


# ---------------------------------------------------------------- every input, every API


def _builder() -> object:
    from callflow.dsl import Hangup, Response, Say

    return Response(Say("Hello."), Hangup())


def _inputs(tmp_path: Path) -> dict[str, tuple[object, dict[str, object]]]:
    (tmp_path / "flow.xml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "t.xml.j2").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "flow.py").write_text(SCRIPT, encoding="utf-8")
    [loaded] = load_flows(tmp_path / "flow.xml")
    return {
        "path str": (str(tmp_path / "flow.xml"), {}),
        "Path": (tmp_path / "flow.xml", {}),
        "template path + sample": (tmp_path / "t.xml.j2", {"sample": "basic"}),
        "template path + context": (tmp_path / "t.xml.j2", {"context": {"greeting": "Hello."}}),
        "script path": (tmp_path / "flow.py", {}),
        "library name": (LIBRARY, {"context": {"greeting": "Hello."}}),
        "XML text": (GOOD, {}),
        "XML bytes": (GOOD.encode(), {}),
        "template text + filename": (TEMPLATE, {"filename": "t.xml.j2", "sample": "basic"}),
        "Document": (Document.from_text(GOOD), {}),
        "builder node": (_builder(), {}),
        "LoadedSource": (loaded, {}),
    }


INPUTS = [
    "path str",
    "Path",
    "template path + sample",
    "template path + context",
    "script path",
    "library name",
    "XML text",
    "XML bytes",
    "template text + filename",
    "Document",
    "builder node",
    "LoadedSource",
]


def _via_load_flow(flow: object, options: dict[str, object]) -> str:
    return load_flow(flow, **options).root.tag  # type: ignore[arg-type]


def _via_simulate(flow: object, options: dict[str, object]) -> str:
    from callflow.simulate import load_flow as simulate_load_flow

    simulate_load_flow(flow, **options)  # type: ignore[arg-type]
    if set(options) <= {"context"}:  # simulate() itself takes context only
        transcript = callflow.simulate(flow, context=options.get("context"))  # type: ignore[arg-type]
        assert transcript.ended_by
    return "Response"


def _via_client(flow: object, options: dict[str, object]) -> str:
    from callflow.client import prepare_flow
    from callflow.sandbox import Sandbox

    document = prepare_flow(flow, validate=True, **options)  # type: ignore[arg-type]
    if set(options) <= {"context"}:
        box = Sandbox(":memory:")
        try:
            with box.client() as client:
                app = client.create_app("demo")
                context = options.get("context")
                assert client.execute(app.uuid, flow, context=context).status  # type: ignore[arg-type]
        finally:
            box.close()
    return document.root.tag


APIS: dict[str, Callable[[object, dict[str, object]], str]] = {
    "load_flow": _via_load_flow,
    "callflow.simulate": _via_simulate,
    "Client.execute": _via_client,
}


@pytest.mark.parametrize("api", list(APIS))
@pytest.mark.parametrize("kind", INPUTS)
def test_every_input_works_through_every_public_api(tmp_path: Path, api: str, kind: str) -> None:
    flow, options = _inputs(tmp_path)[kind]
    assert APIS[api](flow, options) == "Response"


@pytest.mark.parametrize("api", list(APIS))
def test_every_api_gives_the_same_error_for_the_same_bad_input(tmp_path: Path, api: str) -> None:
    with pytest.raises(InputError, match="no such file") as missing:
        APIS[api](tmp_path / "nope.xml", {})
    assert [d.code for d in missing.value.diagnostics] == ["CF001"]
    with pytest.raises(ValidationError, match="CF101"):
        APIS[api]("<Response><Say>", {})
    with pytest.raises(TypeError, match="cannot read a int as a call flow"):
        APIS[api](42, {})


def test_a_folder_is_not_one_flow(flows: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_flow(flows)


def test_several_samples_are_an_input_error_naming_them(tmp_path: Path) -> None:
    (tmp_path / "t.xml.j2").write_text(
        TEMPLATE.replace("-#}", '[samples.other]\ngreeting = "Yo"\n-#}'), encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"gives 2 documents .*sample: basic.*sample: other"):
        load_flow(tmp_path / "t.xml.j2")


def test_load_flows_never_raises_for_bad_files(flows: Path) -> None:
    os.mkfifo(flows / "fifo.xml")
    (flows / "bad.xml").write_text("<Response>", encoding="utf-8")
    sources = {Path(s.label).name: s for s in load_flows(flows)}
    assert sources["good.xml"].document is not None
    assert [d.code for d in sources["fifo.xml"].diagnostics] == ["CF010"]
    assert [d.code for d in sources["bad.xml"].diagnostics] == ["CF101"]


def test_stdin_quotes_what_was_read_not_the_file_of_that_name(tmp_path: Path) -> None:
    (tmp_path / "menu.xml").write_text("<Response><Say>on disk</Say></Response>\n", "utf-8")
    code, out = _callflow(
        "validate", "-", "--stdin-filename", "menu.xml", cwd=tmp_path,
        stdin=b"<Response><Sayy/></Response>",
    )  # fmt: skip
    assert code == 1 and "    <Response><Sayy/></Response>\n" in out
    assert "on disk" not in out


def test_a_buffer_with_a_filename_is_read_as_that_kind_and_quotes_itself() -> None:
    [source] = load_flows(TEMPLATE.replace("{{ greeting }}", "{{ greting }}"), filename="t.xml.j2")
    assert source.document is None and source.label.startswith("t.xml.j2")
    assert any(d.code.startswith("CF6") for d in source.diagnostics)


def test_a_read_policy_is_an_immutable_value() -> None:
    # A plain class (no dataclass at start-up): it compares, hashes and shows by its fields.
    from callflow.sources import DEFAULT_POLICY, ReadPolicy

    assert ReadPolicy() == DEFAULT_POLICY and hash(ReadPolicy()) == hash(DEFAULT_POLICY)
    assert ReadPolicy(trusted=True) != DEFAULT_POLICY
    assert ReadPolicy(True, False, 5, 1.0) == ReadPolicy(
        follow_links=True, max_bytes=5, script_timeout=1.0
    )
    assert len({ReadPolicy(), ReadPolicy(), ReadPolicy(max_bytes=1)}) == 2
    assert repr(ReadPolicy(max_bytes=7)) == (
        "ReadPolicy(follow_links=False, trusted=False, max_bytes=7, script_timeout=10.0)"
    )
    assert ReadPolicy().__eq__(object()) is NotImplemented
    with pytest.raises(AttributeError, match="immutable"):
        DEFAULT_POLICY.trusted = True  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del DEFAULT_POLICY.max_bytes  # type: ignore[misc]
    assert DEFAULT_POLICY.trusted is False


def test_a_read_policy_pickles_and_copies() -> None:
    # The process pool (no fork, or `-` among the files) sends it to its workers.
    import copy
    import pickle

    from callflow.sources import ReadPolicy

    policy = ReadPolicy(follow_links=True, trusted=False, max_bytes=9, script_timeout=2.5)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.copy(policy) == policy and copy.deepcopy(policy) == policy


def test_stdin_among_several_files_is_checked_by_the_process_pool(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = tmp_path / "a.xml"
    good.write_text("<Response><Hangup/></Response>\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "callflow", "validate", "--jobs", "2", "-", str(good), str(good)],
        input="<Response><Hangup/></Response>\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "internal error" not in result.stderr
