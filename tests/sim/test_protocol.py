"""Wire behaviour: tags, long words, segmentation, /cancel, /quit, !empty, unknown commands."""

from __future__ import annotations

import librouteros
import pytest
from librouteros.protocol import encode_sentence

from scheduler.sim import SimRouter
from tests.sim.conftest import RawClient


def test_tag_is_echoed_on_every_reply_sentence(raw: RawClient) -> None:
    raw.send("/interface/print", "=.proplist=name", ".tag=7")
    replies = raw.until_done()
    assert [s[0] for s in replies] == ["!re"] * 4 + ["!done"]
    assert all(s[-1] == ".tag=7" for s in replies)


def test_untagged_command_gets_untagged_replies(raw: RawClient) -> None:
    raw.send("/system/identity/print")
    assert raw.until_done() == [["!re", "=name=MikroTik"], ["!done"]]


def test_empty_tag_counts_as_no_tag(raw: RawClient) -> None:
    raw.send("/system/identity/print", ".tag=")
    assert raw.until_done() == [["!re", "=name=MikroTik"], ["!done"]]


def test_sentence_sent_one_byte_at_a_time_is_answered_once(raw: RawClient) -> None:
    data = encode_sentence("/system/identity/print", "=.proplist=name", encoding="ascii")
    for i in range(len(data)):
        raw.send_bytes(data[i : i + 1])
    assert raw.until_done() == [["!re", "=name=MikroTik"], ["!done"]]


def test_two_sentences_in_one_segment_get_two_answers(raw: RawClient) -> None:
    raw.send_bytes(
        encode_sentence("/system/identity/print", ".tag=a", encoding="ascii")
        + encode_sentence("/system/identity/print", ".tag=b", encoding="ascii")
    )
    assert raw.until_done()[-1] == ["!done", ".tag=a"]
    assert raw.until_done()[-1] == ["!done", ".tag=b"]


@pytest.mark.parametrize("size", [256, 70_000])
def test_long_comment_word_round_trips(api: librouteros.api.Api, size: int) -> None:
    comment = "c" * (size - len("=comment="))
    users = api.path("ip", "hotspot", "user")
    new_id = users.add(name="longword", comment=comment)
    (row,) = api.rawCmd("/ip/hotspot/user/print", f"?=.id={new_id}", "=.proplist=comment")
    assert row == {"comment": comment}


def test_quit_answers_fatal_and_closes(raw: RawClient) -> None:
    raw.send("/quit")
    assert raw.sentence() == ["!fatal", "session terminated on request"]
    assert raw.closed()


def test_quit_raises_fatal_error_in_librouteros(api: librouteros.api.Api) -> None:
    with pytest.raises(librouteros.exceptions.FatalError, match="session terminated on request"):
        list(api("/quit"))


def test_cancel_interrupts_a_tagged_listen(raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/listen", ".tag=10")
    raw.send("/cancel", "=tag=10", ".tag=20")
    assert raw.sentence() == ["!trap", "=category=2", "=message=interrupted", ".tag=10"]
    assert raw.sentence() == ["!done", ".tag=20"]
    assert raw.sentence() == ["!done", ".tag=10"]


def test_listen_reports_changes_until_cancelled(raw: RawClient, router: SimRouter) -> None:
    raw.send("/ip/hotspot/user/listen", ".tag=1")
    raw.send("/ip/hotspot/user/add", "=name=watched", ".tag=2")
    first, second = raw.sentence(), raw.sentence()
    update, done = (first, second) if first[0] == "!re" else (second, first)
    assert done[0] == "!done" and done[-1] == ".tag=2"
    assert "=name=watched" in update and update[-1] == ".tag=1"
    raw.send("/cancel")
    assert raw.sentence()[:3] == ["!trap", "=category=2", "=message=interrupted"]


def test_cancel_with_nothing_running_is_done(raw: RawClient) -> None:
    raw.send("/cancel", ".tag=3")
    assert raw.until_done() == [["!done", ".tag=3"]]


def test_print_finding_nothing_sends_empty_on_7_18(raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/print", "?=name=nobody", ".tag=5")
    assert raw.until_done() == [["!empty", ".tag=5"], ["!done", ".tag=5"]]


def test_print_finding_nothing_is_a_bare_done_before_7_18() -> None:
    with SimRouter(password="secret", ros_version="7.10") as router:
        client = RawClient(router.port)
        client.login()
        client.send("/ip/hotspot/user/print")
        assert client.until_done() == [["!done"]]
        client.close()


def test_librouteros_ignores_empty(api: librouteros.api.Api) -> None:
    assert list(api.path("ip", "hotspot", "user")) == []


def test_menu_word_alone_is_no_such_command_prefix(raw: RawClient) -> None:
    raw.send("/interface")
    assert raw.until_done() == [["!trap", "=message=no such command prefix"], ["!done"]]


def test_unknown_command_is_no_such_command(raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/frobnicate")
    assert raw.until_done() == [["!trap", "=message=no such command"], ["!done"]]


def test_remove_on_a_menu_without_remove_is_no_such_command(api: librouteros.api.Api) -> None:
    with pytest.raises(librouteros.exceptions.TrapError, match="^no such command$"):
        api.path("interface").remove("*1")


def test_command_before_login_is_refused(router: SimRouter) -> None:
    client = RawClient(router.port)
    client.send("/system/identity/print")
    assert client.until_done() == [["!trap", "=message=not logged in"], ["!done"]]
    client.close()


def test_routeros_api_empty_value_form_is_accepted(raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/add", "=name=ra1", "=comment")
    assert raw.until_done()[0][0] == "!done"
    raw.send("/ip/hotspot/user/print", "=count-only", "?name=ra1")
    assert raw.until_done() == [["!done", "=ret=1"]]
