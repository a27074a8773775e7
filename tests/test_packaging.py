"""Packaging: the wheel carries the schema and templates, and finds them once installed."""

from __future__ import annotations

import configparser
import email.parser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from callflow.resources import default_schema_path, resource_path

ROOT = Path(__file__).resolve().parent.parent


def test_resources_are_found_in_a_checkout() -> None:
    assert default_schema_path().is_file()
    assert default_schema_path().name == "callflow.xsd"
    assert resource_path("templates").is_dir()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (built,) = out.glob("opentact_callflow-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_package_schema_templates_and_typing_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "callflow/__init__.py" in names
    assert "callflow/py.typed" in names
    assert "callflow/schemas/callflow.xsd" in names
    assert any(name.startswith("callflow/templates/") for name in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "callflow = callflow.cli:console_main" in text


@pytest.mark.slow
def test_the_wheel_is_the_opentact_callflow_distribution_with_the_callflow_command(
    wheel: Path,
) -> None:
    # `callflow` on the package index is another project: ours must never install as it.
    archive = zipfile.ZipFile(wheel)
    metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    headers = email.parser.HeaderParser().parsestr(archive.read(metadata).decode())
    assert headers["Name"] == "opentact-callflow"
    entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
    parser = configparser.ConfigParser()
    parser.read_string(archive.read(entry_points).decode())
    assert dict(parser["console_scripts"]) == {"callflow": "callflow.cli:console_main"}
    assert wheel.name.startswith("opentact_callflow-")


def test_callflow_version_reads_the_opentact_callflow_distribution() -> None:
    from importlib.metadata import version as distribution_version

    from callflow.cli import version

    assert version() == distribution_version("opentact-callflow") != "0+unknown"


@pytest.mark.slow
def test_installed_wheel_finds_its_own_schema(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "from callflow.resources import default_schema_path, resource_path\n"
        "print(default_schema_path()); print(resource_path('templates'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    schema, templates = proc.stdout.split()
    assert Path(schema) == target / "callflow" / "schemas" / "callflow.xsd"
    assert Path(templates) == target / "callflow" / "templates"
