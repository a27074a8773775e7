"""docs/guides/editor.md: the editor configurations it shows parse and start `callflow lsp`."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from callflow.cli import main
from callflow.commands.init import vscode_settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "editor.md"
_BLOCK = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [
        m.group("body")
        for m in _BLOCK.finditer(PAGE.read_text())
        if m.group("info").split()[0:1] == [language]
    ]


def test_the_vscode_settings_are_the_ones_init_writes() -> None:
    (shown,) = blocks("json")
    settings = json.loads(shown)
    written = json.loads(vscode_settings(Path("/path/to/callflow.xsd")))
    assert set(settings) == set(written)
    for key in written:
        if key != "xml.fileAssociations":
            assert settings[key] == written[key]
    assert settings["xml.fileAssociations"][0]["pattern"] == "**/*.xml"


def test_the_helix_configuration_starts_callflow_lsp_for_flows_templates_and_scripts() -> None:
    (shown,) = blocks("toml")
    config = tomllib.loads(shown)
    server = config["language-server"]["callflow"]
    assert [server["command"], *server["args"]] == ["callflow", "lsp"]
    languages = {language["name"]: language for language in config["language"]}
    assert {"xml", "callflow-template", "python"} <= set(languages)
    for language in languages.values():
        assert "callflow" in language["language-servers"]
    assert languages["callflow-template"]["file-types"] == [{"glob": "*.xml.j2"}]


def test_the_neovim_configuration_starts_callflow_lsp() -> None:
    (shown,) = blocks("lua")
    assert re.search(r'cmd\s*=\s*\{\s*"callflow",\s*"lsp"\s*\}', shown)
    assert 'vim.lsp.enable("callflow")' in shown
    assert shown.count("(") == shown.count(")") and shown.count("{") == shown.count("}")


def test_the_init_example_shows_what_init_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # monkeypatch only moves the working folder, as the doc harness does
    monkeypatch.chdir(tmp_path)
    (console,) = blocks("console")
    commands = re.split(r"^\$ ", console, flags=re.MULTILINE)[1:]
    for entry in commands:
        command, _, expected = entry.partition("\n")
        arguments = shlex.split(command)
        assert arguments[0] == "callflow"
        assert main(arguments[1:]) == 0
        captured = capsys.readouterr()
        assert captured.out + captured.err == expected


def test_the_editor_links_each_code_to_the_anchor_the_docs_site_gives_it() -> None:
    import yaml

    from callflow.lsp import DOCS_URL, code_url

    root = Path(__file__).resolve().parents[2]
    site = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:")[0])
    assert site["site_url"] == DOCS_URL
    from tests.conftest import load_script

    module = load_script("docs_reference")
    assert code_url("CF203").endswith("reference/diagnostics/#cf203")
    assert '<a id="cf203"></a>CF203' in module.diagnostics_page()
