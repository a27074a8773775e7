"""The front door (callflow.sources) is the only way in: commands and public APIs never resolve
paths or read files themselves (a test over their syntax trees)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "callflow"

#: Where flows come in: every command, the client, the simulator, the test helpers and the
#: servers (when they exist).
SCANNED = sorted(
    path
    for pattern in (
        "commands/*.py",
        "client/*.py",
        "simulate/*.py",
        "lsp/**/*.py",
        "web/**/*.py",
        "cli.py",
        "check.py",
        "testing.py",
        "pytest_plugin.py",
        "__init__.py",
    )
    for path in ROOT.glob(pattern)
)

#: Attribute calls that read or probe the file system (pathlib and os).
PROBING_METHODS = {
    "exists", "is_file", "is_dir", "is_symlink", "read_bytes", "read_text", "open",
    "iterdir", "glob", "rglob", "stat", "lstat", "resolve",
}  # fmt: skip
PROBING_FUNCTIONS = {
    "os.walk", "os.scandir", "os.listdir", "os.stat", "os.lstat", "os.open", "os.path.exists",
    "os.path.isfile", "os.path.isdir", "os.path.lexists", "os.path.realpath", "open",
}  # fmt: skip
#: The loaders behind the front door, and the doors that were removed.
BEHIND_THE_DOOR = {
    "load_path_sources", "load_path", "expand_paths", "expand_path_names", "run_script",
    "load_template_sources", "load_script_sources", "from_path", "read_flow_file", "load_bytes",
}  # fmt: skip

#: Paths that are not inputs: files callflow writes (checked by callflow._files), the
#: sandbox's database, the --schema option (a schema, resolved for worker processes).
ALLOWED = {
    ("commands/validate.py", "resolve"),  # --schema XSD, made absolute for worker processes
    ("commands/render.py", "resolve"),  # -I folders for includes
    # The change stamp of the folder a served flow was found in (when it changes, the flow
    # is looked for again through the front door; an XML flow is read through it on every
    # request, a template is kept compiled while one lstat says its file is unchanged).
    ("web/_service.py", "os.stat"),
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = path.relative_to(ROOT).as_posix()
    found: list[str] = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call):
            called = _dotted(node.func)
            if called in PROBING_FUNCTIONS:
                name = called
            elif isinstance(node.func, ast.Attribute) and node.func.attr in PROBING_METHODS:
                name = node.func.attr
        if isinstance(node, ast.Name | ast.alias):
            identifier = node.id if isinstance(node, ast.Name) else node.name
            if identifier in BEHIND_THE_DOOR:
                name = identifier
        if isinstance(node, ast.Attribute) and node.attr in BEHIND_THE_DOOR:
            name = node.attr
        if name is not None and (relative, name) not in ALLOWED:
            found.append(f"{relative}:{getattr(node, 'lineno', '?')}: {name}")
    return found


def test_the_scan_covers_the_commands_and_public_apis() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in SCANNED}
    for expected in ("commands/validate.py", "commands/execute.py", "client/_core.py",
                     "simulate/_engine.py", "testing.py"):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_command_or_api_reads_files_or_resolves_paths_itself(path: Path) -> None:
    assert _findings(path) == []


def test_the_scan_finds_a_command_that_reads_a_file_itself(tmp_path: Path) -> None:
    # The scan must be able to fail: the ways the old commands read flows are all caught.
    fake = ROOT / "commands" / "_scan_probe.py"
    source = (
        "from pathlib import Path\n"
        "from callflow.sources import load_path_sources\n"
        "def run(args):\n"
        "    if Path(args.source).exists():\n"
        "        data = Path(args.source).read_bytes()\n"
        "    with open(args.source) as handle:\n"
        "        return handle.read()\n"
    )
    tree_path = tmp_path / "commands"
    tree_path.mkdir()
    probe = tree_path / fake.name
    probe.write_text(source, encoding="utf-8")
    findings = [f.split(": ", 1)[1] for f in _findings_at(probe, tmp_path)]
    assert findings == ["load_path_sources", "exists", "read_bytes", "open"]


def _findings_at(path: Path, root: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return _findings(path)
    finally:
        ROOT = saved
