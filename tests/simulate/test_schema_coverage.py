"""The simulator knows every tag of the schema, and only tags of the schema."""

from __future__ import annotations

from pathlib import Path

# The dispatch table and the tag names it reads are private to the simulator; these tests
# are their contract with the schema, so they read them where they live.
from callflow.simulate import _handlers, _tags
from callflow.vocabulary import load_vocabulary
from tests.simulate.schema_coverage import (
    unhandled_tags,
    unknown_names,
    vocabulary_with_another_action,
)

HANDLED = {*_handlers.PLAIN, *_handlers.FLOWING}


def test_every_tag_of_the_schema_has_a_handler_or_is_read_by_its_parents() -> None:
    assert unhandled_tags(load_vocabulary(), {_tags.ROOT, *HANDLED}, _handlers.READS) == []


def test_the_handlers_are_the_schemas_actions() -> None:
    assert load_vocabulary().members("Action") == HANDLED


def test_the_dispatch_table_names_no_tag_the_schema_lacks() -> None:
    assert unknown_names(load_vocabulary(), HANDLED, _handlers.READS) == []


def test_a_tag_added_to_the_schema_is_reported_until_it_is_handled(tmp_path: Path) -> None:
    extended = vocabulary_with_another_action(tmp_path)
    assert unhandled_tags(extended, {_tags.ROOT, *HANDLED}, _handlers.READS) == ["Whisper"]


def test_a_handler_for_a_tag_the_schema_lacks_is_reported() -> None:
    reads = {**_handlers.READS, "Dial": {*_handlers.READS["Dial"], "Conference"}}
    assert unknown_names(load_vocabulary(), {*HANDLED, "Whisper"}, reads) == [
        "<Conference> in <Dial>",
        "<Whisper>",
    ]


def test_the_prompts_and_dial_targets_are_the_schemas() -> None:
    vocabulary = load_vocabulary()
    assert _tags.PROMPTS == vocabulary.members("Prompt") == {"Say", "Play", "Pause"}
    assert {"To", "Sip"} == _tags.DIAL_TARGETS
    assert set(vocabulary.elements["Dial"].children) == {*_tags.DIAL_TARGETS, _tags.ERROR}
