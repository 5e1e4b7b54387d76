"""RouterOS API wire codec: word lengths, words, sentences, and a streaming sentence decoder.

The decoder is fed whatever bytes TCP delivers (one byte at a time or many sentences at
once) and yields complete sentences only when their zero-length terminator has arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# The 5-byte form exists on paper but librouteros cannot read it, so we refuse to emit it.
MAX_WORD_LENGTH = 0x0FFFFFFF


class CodecError(ValueError):
    """The byte stream cannot be a RouterOS API stream (control byte or oversized word)."""


def encode_length(length: int) -> bytes:
    """Encode a word length in the 1 to 4 byte RouterOS form."""
    if length < 0x80:
        return bytes((length,))
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length <= MAX_WORD_LENGTH:
        return (length | 0xE0000000).to_bytes(4, "big")
    raise CodecError(f"word of {length} bytes is longer than the API allows")


def length_size(first_byte: int) -> int:
    """Return how many bytes the length prefix starting with first_byte occupies."""
    if first_byte < 0x80:
        return 1
    if first_byte < 0xC0:
        return 2
    if first_byte < 0xE0:
        return 3
    if first_byte < 0xF0:
        return 4
    if first_byte < 0xF8:
        return 5
    raise CodecError(f"control byte 0x{first_byte:02x} in the stream")


_MASKS = {1: 0, 2: 0x8000, 3: 0xC00000, 4: 0xE0000000}


def decode_length(prefix: bytes) -> int:
    """Decode a complete length prefix (1 to 5 bytes) into the word length."""
    size = length_size(prefix[0])
    if size == 5:
        # Accepted on input for robustness; the value sits in the 4 bytes after 0xF0.
        return int.from_bytes(prefix[1:5], "big")
    return int.from_bytes(prefix[:size], "big") ^ _MASKS[size]


def encode_word(word: bytes) -> bytes:
    """Length-prefix one word."""
    return encode_length(len(word)) + word


def encode_sentence(words: Iterable[bytes]) -> bytes:
    """Encode words followed by the zero-length terminator."""
    return b"".join(encode_length(len(w)) + w for w in words) + b"\x00"


@dataclass
class Limits:
    """What a sentence may hold: bytes in one word, bytes and words in one sentence."""

    word_bytes: int = MAX_WORD_LENGTH
    sentence_bytes: int = 1 << 62
    sentence_words: int = 1 << 62


class TooLarge(CodecError):
    """A word or sentence over the limits: refused before the rest of it is read."""


class SentenceDecoder:
    """Incremental decoder: feed() bytes, iterate complete sentences (lists of bytes words).

    A word is refused as soon as its length is known to be over the limit, and a sentence as
    soon as it grows past its limits, so an oversized one is never held in memory.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buffer = bytearray()
        self._pos = 0
        self._words: list[bytes] = []
        self._sentence_bytes = 0

    def feed(self, data: bytes) -> Iterator[list[bytes]]:
        """Add received bytes and yield every sentence they complete."""
        self._buffer += data
        while True:
            word = self._next_word()
            if word is None:
                break
            if word:
                self._words.append(word)
                self._sentence_bytes += len(word)
                self._check_sentence()
                continue
            sentence, self._words, self._sentence_bytes = self._words, [], 0
            if sentence:  # "Empty sentences are ignored" (MT-API)
                yield sentence
        # Drop consumed bytes once in a while rather than on every word.
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0

    def _check_sentence(self) -> None:
        limits = self.limits
        if len(self._words) > limits.sentence_words:
            raise TooLarge(f"sentence of more than {limits.sentence_words} words")
        if self._sentence_bytes > limits.sentence_bytes:
            raise TooLarge(f"sentence longer than {limits.sentence_bytes} bytes")

    def _next_word(self) -> bytes | None:
        buf, pos = self._buffer, self._pos
        if pos >= len(buf):
            return None
        size = length_size(buf[pos])
        if pos + size > len(buf):
            return None
        length = decode_length(bytes(buf[pos : pos + size]))
        if length > self.limits.word_bytes:
            raise TooLarge(f"word longer than {self.limits.word_bytes} bytes")
        if self._sentence_bytes + length > self.limits.sentence_bytes:
            raise TooLarge(f"sentence longer than {self.limits.sentence_bytes} bytes")
        end = pos + size + length
        if end > len(buf):
            return None
        self._pos = end
        return bytes(buf[pos + size : end])
