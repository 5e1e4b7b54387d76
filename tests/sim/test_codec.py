"""The streaming codec agrees with librouteros's and routeros-api's own encoders and decoders."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from librouteros import protocol as lr
from routeros_api import base_api as ra

from scheduler.sim.codec import (
    CodecError,
    SentenceDecoder,
    decode_length,
    encode_length,
    encode_sentence,
)

LENGTHS = st.one_of(
    st.integers(0, 0x7F),
    st.integers(0x80, 0x3FFF),
    st.integers(0x4000, 0x1FFFFF),
    st.integers(0x200000, 0x0FFFFFFF),
    st.sampled_from([0, 0x7F, 0x80, 0x100, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0x0FFFFFFF]),
)
WORDS = st.lists(st.binary(min_size=1, max_size=300), max_size=8)


@given(LENGTHS)
def test_length_encoding_matches_both_clients(length: int) -> None:
    encoded = encode_length(length)
    assert encoded == lr.encode_length(length)
    assert encoded == ra.encode_length(length)


@given(LENGTHS)
def test_length_decoding_reads_what_both_clients_write(length: int) -> None:
    assert decode_length(lr.encode_length(length)) == length
    assert decode_length(ra.encode_length(length)) == length
    assert lr.decode_length(encode_length(length)) == length
    assert ra.decode_length(io.BytesIO(encode_length(length)).read) == length


def test_five_byte_form_is_never_emitted() -> None:
    with pytest.raises(CodecError):
        encode_length(0x10000000)


def test_five_byte_form_is_read_like_routeros_api_writes_it() -> None:
    assert decode_length(b"\xf0\x10\x00\x00\x00") == 0x10000000


def test_control_byte_is_refused() -> None:
    with pytest.raises(CodecError):
        list(SentenceDecoder().feed(b"\xf8"))


def test_256_byte_word_has_a_zero_byte_inside_its_length() -> None:
    assert encode_length(256) == b"\x81\x00"


@given(
    st.lists(st.lists(st.text(min_size=1, max_size=40), max_size=6), min_size=1, max_size=5),
    st.data(),
)
def test_sentences_survive_any_segmentation(
    sentences: list[list[str]], data: st.DataObject
) -> None:
    stream = b"".join(lr.encode_sentence(*s, encoding="utf-8") for s in sentences)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder, got = SentenceDecoder(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got.extend(decoder.feed(stream[start:end]))
    # Empty sentences are ignored (MT-API), so compare against the non-empty ones.
    assert got == [[w.encode("utf-8") for w in s] for s in sentences if s]


@given(WORDS)
def test_sentence_encoding_matches_librouteros(words: list[bytes]) -> None:
    text = [w.decode("latin-1") for w in words]
    assert encode_sentence(words) == lr.encode_sentence(*text, encoding="latin-1")


def test_byte_at_a_time_feed_yields_one_sentence_at_the_terminator() -> None:
    stream = lr.encode_sentence("/login", "=name=admin", encoding="ascii")
    decoder = SentenceDecoder()
    results = [list(decoder.feed(stream[i : i + 1])) for i in range(len(stream))]
    assert results[-1] == [[b"/login", b"=name=admin"]]
    assert all(r == [] for r in results[:-1])
