"""Voucher codes: no look-alikes, distinct, clear of the router's codes, refused when too short."""

from __future__ import annotations

import pytest

from db import voucher_codes
from db.voucher_codes import (
    ALPHABET,
    check_length,
    check_prefix,
    max_codes,
    new_code,
    new_codes,
    new_password,
)

LOOK_ALIKES = set("0O1IL") | set("ZSB")


def test_alphabet_has_no_look_alikes_and_no_repeats():
    assert not LOOK_ALIKES & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 28
    assert set(ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_a_hundred_thousand_codes_hold_no_look_alike_and_use_the_whole_alphabet():
    codes = new_codes(100_000, 8)
    seen = set("".join(codes))
    assert not seen & LOOK_ALIKES
    assert seen == set(ALPHABET)
    assert all(len(code) == 8 for code in codes)


def test_codes_of_a_batch_are_distinct():
    codes = new_codes(5000, 6, prefix="KB")
    assert len(set(codes)) == 5000
    assert all(code.startswith("KB") and len(code) == 8 for code in codes)


def test_codes_already_on_the_router_are_never_drawn():
    # Length 4 has 614,656 codes: take all but a few of the first 600 the batch may use.
    taken = set(new_codes(600, 4))
    codes = new_codes(14, 4, taken=taken)
    assert not taken & set(codes)
    assert len(set(codes)) == 14


def test_every_code_is_drawn_when_the_rest_of_a_tiny_space_is_taken(monkeypatch):
    # A three-symbol alphabet at length 4 has 81 codes; leave exactly 5 free.
    monkeypatch.setattr(voucher_codes, "ALPHABET", "ACE")
    monkeypatch.setattr(voucher_codes, "MAX_SHARE_IN_USE", 1)
    every = {a + b + c + d for a in "ACE" for b in "ACE" for c in "ACE" for d in "ACE"}
    free = set(sorted(every)[:5])
    assert set(new_codes(5, 4, taken=every - free)) == free


def test_a_length_too_short_for_the_count_is_refused_in_one_sentence():
    assert max_codes(4) == 614
    with pytest.raises(ValueError, match=r"use a longer code length\.$") as refused:
        new_codes(5000, 4)
    assert str(refused.value).count(". ") == 0
    new_codes(5000, 5)  # 17,210 fit at length 5


def test_codes_in_use_count_towards_the_limit_only_when_they_could_collide():
    same_shape = {f"P{n:04d}" for n in range(600)}  # prefix P, four symbols after it
    with pytest.raises(ValueError, match="next to the 600 in use"):
        new_codes(20, 4, prefix="P", taken=same_shape)
    assert len(new_codes(20, 4, prefix="Q", taken=same_shape)) == 20


def test_new_code_puts_the_prefix_first():
    code = new_code(6, "wifi")
    assert code.startswith("wifi")
    assert set(code[4:]) <= set(ALPHABET)


@pytest.mark.parametrize("length", [3, 17, 0, -1])
def test_lengths_outside_four_to_sixteen_are_refused(length):
    with pytest.raises(ValueError, match=r"between 4 and 16"):
        check_length(length)
    with pytest.raises(ValueError):
        new_code(length)


@pytest.mark.parametrize("prefix", ["", "KB", "wifi2", "ABCDEFGH"])
def test_letters_and_digits_make_a_prefix(prefix):
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["K B", "KB-", "café", "A/B", "ABCDEFGHI", 'x"y'])
def test_other_prefixes_are_refused_in_one_sentence(prefix):
    with pytest.raises(ValueError) as refused:
        check_prefix(prefix)
    message = str(refused.value)
    assert message.endswith(".") and message.count(". ") == 0


def test_passwords_are_digits_of_the_asked_length():
    passwords = {new_password(6) for _ in range(2000)}
    assert all(len(p) == 6 and p.isdigit() for p in passwords)
    assert set("".join(passwords)) == set("0123456789")
    assert len(passwords) > 1900
    with pytest.raises(ValueError):
        new_password(3)
