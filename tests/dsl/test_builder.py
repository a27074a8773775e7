"""The builder: Python names and values, nesting styles, fragments, strictness, serialisation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from callflow.dsl import (
    DTMF,
    Call,
    Callback,
    Case,
    Comment,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    LegacyCallback,
    Node,
    Pause,
    Play,
    Record,
    Response,
    Say,
    Sip,
    Switch,
    To,
    UncheckedElement,
)
from callflow.errors import BuildError

HERE = str(Path(__file__))


def compact(flow: Response) -> str:
    """The XML without its declaration line."""
    return flow.to_xml().split("\n", 1)[1]


def line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (a comment next to the code under test)."""
    for number, text in enumerate(Path(__file__).read_text("utf-8").splitlines(), start=1):
        if text.rstrip().endswith(marker):
            return number
    raise AssertionError(f"marker {marker} not found")


# ---------------------------------------------------------------- names and values


def test_snake_case_keywords_map_to_the_schemas_wire_names() -> None:
    gather = Gather(num_digits=2, finish_on_key="#", attempts=3)
    assert gather.attributes == {"numDigits": "2", "finishOnKey": "#", "attempts": "3"}


def test_legacy_attribute_names_keep_their_spelling() -> None:
    gather = Gather(dtmf_length=4, dtmf_stop="#", url="https://example.com/digits")
    assert list(gather.attributes) == ["dtmf_length", "dtmf_stop", "url"]


def test_attributes_are_written_in_the_order_the_author_gave_them() -> None:
    assert compact(Response(Gather(timeout=8000, num_digits=1))) == (
        '<Response><Gather timeout="8000" numDigits="1"/></Response>'
    )


def test_durations_take_milliseconds_or_a_timedelta() -> None:
    assert Gather(timeout=timedelta(seconds=8)) == Gather(timeout=8000)
    assert Pause(length=timedelta(milliseconds=250)).attributes == {"length": "250"}


def test_a_timedelta_finer_than_a_millisecond_is_refused() -> None:
    with pytest.raises(BuildError, match="whole number of milliseconds"):
        Pause(length=timedelta(microseconds=1500))


def test_booleans_are_written_true_and_false() -> None:
    assert Record(asr=True).attributes == {"asr": "true"}
    assert Callback(url="https://example.com/next", body=False).attributes["body"] == "false"


def test_none_leaves_an_optional_attribute_out() -> None:
    assert Say("Hi", lang=None).attributes == {}


def test_callback_method_accepts_the_legacy_lower_case_as_written() -> None:
    callback = Callback(url="https://example.com/next", method="post")  # type: ignore[arg-type]
    assert callback.attributes["method"] == "post"


# ---------------------------------------------------------------- nesting


def test_with_blocks_and_constructor_children_build_the_same_flow() -> None:
    plain = Response(
        Gather(
            Say("Press 1."),
            Switch(Case(Say("One."), dtmf="1"), Default(Hangup())),
            num_digits=1,
        ),
        Hangup(),
    )
    with Response() as nested:
        with Gather(num_digits=1):
            Say("Press 1.")
            with Switch():
                with Case(dtmf="1"):
                    Say("One.")
                with Default():
                    Hangup()
        Hangup()
    assert nested == plain
    assert nested.to_xml() == plain.to_xml()


def test_a_node_passed_to_a_call_inside_a_with_block_is_not_added_twice() -> None:
    with Response() as flow:
        Dial(To("+15550100"), To("sip:desk@pbx.example.com"))
        Say("Bye.")
    assert [child.tag for child in flow.children] == ["Dial", "Say"]
    assert [child.tag for child in flow.children[0].children] == ["To", "To"]


def test_add_appends_children_and_skips_none() -> None:
    flow = Response().add(Say("One."), None, [Say("Two."), Say("Three.")])
    assert [c.text for c in flow.children] == ["One.", "Two.", "Three."]


def test_children_keep_the_order_written() -> None:
    flow = Response(Say("1"), Pause(length=10), Say("2"), Hangup())
    assert [c.tag for c in flow.children] == ["Say", "Pause", "Say", "Hangup"]


def goodbye() -> list[Say | Hangup]:
    """A fragment: a function returning nodes."""
    return [Say("Goodbye."), Hangup(tag="done")]


def test_a_fragment_can_be_used_in_several_places_and_flows() -> None:
    fragment = goodbye()
    first = Response(Gather(Switch(Case(fragment, dtmf="1"), Default(fragment))))
    second = Response(Say("Hello."), fragment)
    assert compact(second) == (
        '<Response><Say>Hello.</Say><Say>Goodbye.</Say><Hangup tag="done"/></Response>'
    )
    assert compact(first).count('<Hangup tag="done"/>') == 2
    assert first.children[0].children[0].children[0].children == tuple(fragment)


def test_reusing_a_node_built_in_a_closed_block_leaves_that_block_alone() -> None:
    with Response() as first:
        hangup = Hangup()
    second = Response(Say("Bye."), hangup)
    assert first.children == (hangup,)
    assert second.children[1] is hangup


def test_a_with_block_of_a_childless_tag_is_refused() -> None:
    with pytest.raises(BuildError, match="<Hangup> holds no children"), Hangup():
        pass


@pytest.mark.parametrize(
    ("opened", "message"),
    [
        (lambda: Hangup(), "<Hangup> holds no children; it cannot open a `with` block"),
        (lambda: Comment("note"), "a Comment holds no children; it cannot open a `with` block"),
    ],
)
def test_a_refused_with_block_leaves_no_block_open(
    opened: Callable[[], Node], message: str
) -> None:
    node = opened()
    with pytest.raises(BuildError) as caught, node:
        pass
    assert caught.value.message == message
    assert caught.value.location is not None and caught.value.location.file == HERE
    # Nothing was left open: a node built next joins no block.
    Say("Hi.")
    assert node.children == ()


# ---------------------------------------------------------------- strictness


def test_an_unknown_keyword_names_it_and_suggests_the_closest_name() -> None:
    with pytest.raises(BuildError) as caught:
        Gather(num_digts=1)  # type: ignore[call-arg]  # marker:unknown-keyword
    error = caught.value
    assert "num_digts" in error.message and "=1" in error.message
    assert error.hint is not None and "did you mean `num_digits`?" in error.hint
    assert error.location is not None
    assert (error.location.file, error.location.line) == (HERE, line_of("marker:unknown-keyword"))


def test_a_wire_name_as_keyword_points_at_its_python_name() -> None:
    with pytest.raises(BuildError) as caught:
        Gather(numDigits=1)  # type: ignore[call-arg]
    assert caught.value.hint is not None and "write `num_digits=`" in caught.value.hint


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: Gather(finish_on_key="x"), "finish_on_key='x'"),  # type: ignore[arg-type]
        (lambda: Callback(url="ftp://example.com/x"), "url='ftp://example.com/x'"),
        (lambda: Gather(num_digits=0), "num_digits=0"),
        (lambda: Pause(length=-1), "length=-1"),
        (lambda: Say("Hi", loop=0), "loop=0"),
        (lambda: Say("Hi", lang="English"), "lang='English'"),
        (lambda: Case(dtmf="1a"), "dtmf='1a'"),
        (lambda: Gather(timeout="8000"), "timeout='8000'"),  # type: ignore[arg-type]
        (lambda: Record(asr="true"), "asr='true'"),  # type: ignore[arg-type]
        (lambda: Gather(num_digits=True), "num_digits=True"),
    ],
)
def test_a_bad_value_is_refused_naming_argument_and_value(build: object, named: str) -> None:
    assert callable(build)
    with pytest.raises(BuildError) as caught:
        build()
    assert named in caught.value.message


def test_an_enum_typo_suggests_the_closest_allowed_value() -> None:
    with pytest.raises(BuildError) as caught:
        Say("Hi", gender="male")  # type: ignore[arg-type]
    assert caught.value.hint is not None and "did you mean 'MALE'?" in caught.value.hint


def test_bad_text_is_refused() -> None:
    with pytest.raises(BuildError, match="To"):
        To("not a target")
    with pytest.raises(BuildError, match="Sip"):
        Sip("no-at-sign")
    with pytest.raises(BuildError, match="LegacyCallback"):
        LegacyCallback("example.com/next")


def test_a_missing_required_keyword_is_refused() -> None:
    with pytest.raises(BuildError, match="`dtmf` is required"):
        Case()  # type: ignore[call-arg]
    with pytest.raises(BuildError, match="`field` is required"):
        Call(value="+1555")  # type: ignore[call-arg]


def test_an_illegal_child_is_refused_at_the_childs_line() -> None:
    with pytest.raises(BuildError) as caught:
        Gather(
            Dial(To("+15550100")),  # type: ignore[arg-type]  # marker:illegal-child
        )
    error = caught.value
    assert error.message == "<Gather> cannot hold <Dial>"
    assert error.hint is not None and "<Switch>" in error.hint
    assert error.location is not None and error.location.line == line_of("marker:illegal-child")


def test_a_child_out_of_order_is_refused_with_what_may_come_there() -> None:
    with pytest.raises(BuildError) as caught:
        Dial(Error(Hangup()), To("+15550100"))
    assert caught.value.message == "<Error> cannot come first inside <Dial>"
    assert caught.value.hint == "allowed at this point: <To>, <Sip>"


def test_a_second_error_block_is_refused() -> None:
    with pytest.raises(BuildError) as caught:
        Response(Error(), Say("x"), Error())
    assert caught.value.message == "<Error> cannot come after <Say> inside <Response>"
    assert caught.value.hint is not None and "<Error>" not in caught.value.hint


def test_an_illegal_child_in_a_with_block_fails_when_the_block_closes() -> None:
    with pytest.raises(BuildError) as caught, Switch():
        Say("Case first, please.")  # marker:with-illegal
    assert caught.value.message == "<Switch> cannot hold <Say>"
    assert caught.value.location is not None
    assert caught.value.location.line == line_of("marker:with-illegal")


def test_an_incomplete_element_is_refused_when_serialised() -> None:
    flow = Response(Dial())
    with pytest.raises(BuildError, match=r"<Dial> is incomplete: it needs <To> or <Sip>"):
        flow.to_xml()


def test_a_string_child_is_refused_with_a_hint() -> None:
    with pytest.raises(BuildError, match="string 'Hello' as a child") as caught:
        Response("Hello")  # type: ignore[arg-type]
    assert caught.value.hint is not None and "Say(" in caught.value.hint


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1f", "\ufffe", "\ud800"])
def test_characters_xml_forbids_are_refused_in_text_and_attributes(character: str) -> None:
    with pytest.raises(BuildError, match=r"XML 1\.0"):
        Say(f"a{character}b")
    with pytest.raises(BuildError, match=r"XML 1\.0"):
        Hangup(tag=f"a{character}")


def test_a_build_error_is_a_type_error_with_file_and_line_first() -> None:
    with pytest.raises(TypeError) as caught:
        Pause(length=-5)  # marker:str-form
    # The place of the keyword at fault: line and column.
    place = f"{HERE}:{line_of('marker:str-form')}:15"
    assert str(caught.value).startswith(f"{place}: Pause(): ")


# ---------------------------------------------------------------- the escape hatch


def test_unchecked_attributes_pass_through_as_given() -> None:
    say = Say("Hi", lang="en-US", unchecked_attributes={"voiceSpeed": "1.2"})
    assert compact(Response(say)) == (
        '<Response><Say lang="en-US" voiceSpeed="1.2">Hi</Say></Response>'
    )


def test_unchecked_attributes_may_not_shadow_a_known_attribute() -> None:
    with pytest.raises(BuildError, match="known attribute"):
        Gather(unchecked_attributes={"numDigits": "3"})


def test_an_unchecked_element_may_stand_anywhere() -> None:
    flow = Response(
        UncheckedElement("Transfer", Say("Moving you."), attributes={"to": "+1555"}),
        Hangup(),
    )
    assert compact(flow) == (
        '<Response><Transfer to="+1555"><Say>Moving you.</Say></Transfer><Hangup/></Response>'
    )


def test_an_unchecked_element_still_needs_a_well_formed_name() -> None:
    with pytest.raises(BuildError, match="not an XML tag name"):
        UncheckedElement("no spaces")


# ---------------------------------------------------------------- serialisation


def test_output_has_a_declaration_and_is_deterministic() -> None:
    def make() -> Response:
        return Response(Say("Hi", lang="en-GB", gender="MALE"), Hangup(tag="t"))

    assert make().to_xml().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>')
    assert make().to_bytes() == make().to_bytes() == make().to_xml().encode("utf-8")


def test_pretty_output_indents_by_two_spaces() -> None:
    assert Response(Say("Hi")).to_xml(pretty=True) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Say>Hi</Say>\n</Response>\n'
    )


def test_text_and_attribute_values_are_escaped() -> None:
    flow = Response(Say('<b>"Tom" & Jerry</b>'), Hangup(tag='a"b<c>&'))
    assert compact(flow) == (
        '<Response><Say>&lt;b&gt;"Tom" &amp; Jerry&lt;/b&gt;</Say>'
        '<Hangup tag="a&quot;b&lt;c&gt;&amp;"/></Response>'
    )


def test_comments_are_written_where_they_stand() -> None:
    flow = Response(Comment(" greeting "), Say("Hi")).with_comments(" file header ")
    assert flow.to_xml() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- file header --><Response><!-- greeting --><Say>Hi</Say></Response>"
    )


def test_comments_around_one_root_are_that_roots_alone() -> None:
    with Response() as commented:
        Hangup()
    commented.with_comments(" head ", after=[" tail "])
    plain = Response(Hangup())
    assert plain.comments == ((), ())
    assert plain.to_xml().endswith("?>\n<Response><Hangup/></Response>")
    assert commented.comments == ((" head ",), (" tail ",))
    assert plain != commented
    assert Response(Hangup()) == plain
    with pytest.raises(AttributeError):
        plain.comments_before = (" a typo ",)  # type: ignore[attr-defined]  # no __dict__


def test_a_comment_keeps_its_line_breaks_as_a_parser_reads_them() -> None:
    flow = Response(Comment("one\r\ntwo\rthree"), Say("Hi"))
    assert flow.children[0].text == "one\ntwo\nthree"
    assert compact(flow) == "<Response><!--one\ntwo\nthree--><Say>Hi</Say></Response>"


def test_a_comment_cannot_hold_a_double_hyphen() -> None:
    with pytest.raises(BuildError, match="--"):
        Comment("a -- b")


def test_legacy_forms_can_be_built() -> None:
    flow = Response(
        Say(text="Attribute form."),
        Play(url="https://example.com/a.mp3"),
        Gather(
            DTMF(Hangup(), value="1"), Default(Say("No.")), dtmf_length=1, url="https://e.com/g"
        ),
        LegacyCallback("https://example.com/next"),
    )
    assert "<callback>https://example.com/next</callback>" in flow.to_xml()


def test_nodes_are_equal_by_value() -> None:
    assert Say("Hi", lang="en-US") == Say("Hi", lang="en-US")
    assert Say("Hi") != Say("Hello")
    assert Say("Hi") != Play("https://example.com/hi.mp3")
    assert Gather(num_digits=1, timeout=5) == Gather(timeout=5, num_digits=1)


def test_repr_is_the_python_that_builds_the_node() -> None:
    gather = Gather(Say("Hi"), num_digits=1, timeout=timedelta(seconds=2))
    assert repr(gather) == 'Gather(Say("Hi"), num_digits=1, timeout=2000)'


def test_a_node_cannot_be_added_inside_itself() -> None:
    record = Record()
    with pytest.raises(BuildError, match="cannot contain itself"):
        record.add(record)
    with pytest.raises(BuildError, match="cannot contain itself"), Response() as flow:
        UncheckedElement("Wrapper", flow)


def test_nothing_may_follow_the_error_block_of_a_switch() -> None:
    with pytest.raises(BuildError) as caught:
        Switch(Case(dtmf="1"), Default(), Error(), Default())
    assert caught.value.message == "<Default> cannot come after <Error> inside <Switch>"
    assert caught.value.hint == "nothing more may follow inside <Switch>"


@pytest.mark.parametrize("name", ["xmlns", "xml:lang", "a b", "1st", ""])
def test_escape_hatch_names_must_be_plain_xml_names(name: str) -> None:
    with pytest.raises(BuildError, match="not an XML"):
        Say("Hi", unchecked_attributes={name: "x"})
    with pytest.raises(BuildError, match="not an XML"):
        UncheckedElement(name)


def test_open_blocks_are_each_thread_and_each_asyncio_task_s_own() -> None:
    """Two tasks (and two threads) interleave their `with` blocks: each node joins its own."""
    import asyncio
    import threading

    async def menu(key: str, turn: asyncio.Event, other: asyncio.Event) -> Gather:
        with Gather(num_digits=1) as gather:
            Say(f"First {key}.")
            other.set()
            await turn.wait()  # the other task opens its block and builds meanwhile
            Say(f"Second {key}.")
        return gather

    async def both() -> list[Gather]:
        one, two = asyncio.Event(), asyncio.Event()
        return list(await asyncio.gather(menu("1", one, two), menu("2", two, one)))

    for gather, key in zip(asyncio.run(both()), "12", strict=True):
        assert [say.text for say in gather.children] == [f"First {key}.", f"Second {key}."]

    barrier = threading.Barrier(2)
    built: dict[str, Gather] = {}

    def thread(key: str) -> None:
        with Gather(num_digits=1) as gather:
            Say(f"First {key}.")
            barrier.wait()
            Say(f"Second {key}.")
        built[key] = gather

    threads = [threading.Thread(target=thread, args=(key,)) for key in "12"]
    for running in threads:
        running.start()
    for running in threads:
        running.join()
    for key, gather in built.items():
        assert [say.text for say in gather.children] == [f"First {key}.", f"Second {key}."]


def test_a_block_opened_twice_on_one_node_collects_until_the_outer_one_closes() -> None:
    gather = Gather(num_digits=1)
    with gather:
        with gather:
            Say("Inner.")
        Say("Outer.")
    assert [say.text for say in gather.children] == ["Inner.", "Outer."]


@pytest.mark.parametrize("late", ["Hangup", "Default"])
def test_a_node_built_by_a_task_after_its_block_closed_is_checked_as_it_joins(late: str) -> None:
    # A task started inside `with gather:` copies the open-block stack; by the time it builds,
    # the block has closed and checked its children, so the late child is checked on joining.
    import asyncio

    made = {"Hangup": Hangup, "Default": Default}[late]

    async def later() -> None:
        await asyncio.sleep(0)
        made()

    async def main() -> Gather:
        with Response(), Gather(num_digits=1) as gather:
            Say("Press 1.")
            task = asyncio.create_task(later())
        await task
        return gather

    if late == "Hangup":
        with pytest.raises(BuildError, match="cannot hold <Hangup>"):
            asyncio.run(main())
        return
    gather = asyncio.run(main())  # a <Default> may follow the prompt: it joins, in order
    with pytest.raises(BuildError, match="cannot come after <Default>"):
        gather.add(Say("after the default"))
