"""`FlowService.locate` remembers the flow a URL path names while its folder is unchanged
(one stat a request instead of a search), and looks again when the folder changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import callflow.sources
from callflow.web import FlowService, parse_request

HOUR_AGO = 3600


def settled(folder: Path) -> None:
    """The folder as if it last changed an hour ago (past the one-second "racy" window)."""
    stamp = os.stat(folder).st_mtime - HOUR_AGO
    os.utime(folder, (stamp, stamp))


def said(service: FlowService, path: str) -> bytes:
    reply = service.respond(path, parse_request("GET", "from=%2B1"))
    return reply.body if reply.status == 200 else str(reply.status).encode()


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    (folder / "menu").mkdir(parents=True)
    (folder / "menu" / "main.xml.j2").write_text("<Response><Say>template</Say></Response>\n")
    settled(folder / "menu")
    return folder


def test_a_path_already_found_is_not_searched_for_again(
    flows: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches: list[object] = []
    real = callflow.sources.find_in_folder

    def counting(*args: object, **kwargs: object) -> object:
        searches.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(callflow.sources, "find_in_folder", counting)
    service = FlowService(flows)
    for _ in range(5):
        assert b"template" in said(service, "/menu/main")
    assert len(searches) == 1


def test_a_file_added_beside_it_is_seen_at_once(flows: Path) -> None:
    service = FlowService(flows)
    assert b"template" in said(service, "/menu/main")
    (flows / "menu" / "main.xml").write_text("<Response><Say>plain</Say></Response>\n")
    assert b"plain" in said(service, "/menu/main")  # .xml comes before .xml.j2


def test_a_file_removed_is_not_found_any_more(flows: Path) -> None:
    service = FlowService(flows)
    assert b"template" in said(service, "/menu/main")
    (flows / "menu" / "main.xml.j2").unlink()
    assert said(service, "/menu/main") == b"404"


def test_a_folder_swapped_for_a_link_out_of_the_tree_is_refused(
    flows: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.xml.j2").write_text("<Response><Say>secret</Say></Response>\n")
    settled(outside)
    service = FlowService(flows)
    assert b"template" in said(service, "/menu/main")
    (flows / "menu").rename(tmp_path / "old-menu")
    (flows / "menu").symlink_to(outside, target_is_directory=True)
    settled(flows)
    assert said(service, "/menu/main") == b"403"
