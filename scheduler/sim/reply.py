"""Reply sentences for one command, encoded straight into one buffer."""

from __future__ import annotations

from collections.abc import Callable

from scheduler.sim.codec import encode_length
from scheduler.sim.request import ENCODING, ERRORS
from scheduler.sim.table import encode_attribute


def _word(text: str) -> bytes:
    raw = text.encode(ENCODING, ERRORS)
    return encode_length(len(raw)) + raw


# Stream a long reply in pieces of about this size so the client decodes while we encode.
FLUSH_BYTES = 1 << 16

DONE = _word("!done")
TRAP = _word("!trap")
EMPTY = _word("!empty")
FATAL = _word("!fatal")


class Reply:
    """Collects the reply sentences of one command; `.tag` goes on each only when sent."""

    def __init__(self, tag: str | None) -> None:
        self.buffer = bytearray()
        # Tag last in the sentence, as MT-API shows it.
        self._tail = (_word(f".tag={tag}") if tag else b"") + b"\x00"
        self.sentences = 0
        # Offset just after each sentence, so a fault can cut the stream between sentences.
        self.ends: list[int] = []
        # Where full pieces go as they fill (the socket); None keeps everything for data().
        self.sink: Callable[[bytes], object] | None = None

    def add_encoded(self, head_and_words: bytes) -> None:
        """Append a sentence whose reply word and attributes are already encoded."""
        self.buffer += head_and_words
        self.buffer += self._tail
        self.sentences += 1
        self.ends.append(len(self.buffer))
        if self.sink is not None and len(self.buffer) >= FLUSH_BYTES:
            self.sink(bytes(self.buffer))
            self.buffer.clear()
            self.ends.clear()

    def row(self, head_and_words: bytes) -> None:
        """Append one `!re` sentence."""
        self.add_encoded(head_and_words)

    def done(self, ret: str | None = None) -> None:
        """Append `!done`, with `=ret=` when given."""
        self.add_encoded(DONE + (encode_attribute("ret", ret) if ret is not None else b""))

    def empty(self) -> None:
        """Append `!empty` (RouterOS 7.18+)."""
        self.add_encoded(EMPTY)

    def trap(self, message: str, category: int | None) -> None:
        """Append `!trap` with message and optional category (never followed by anything else)."""
        words = TRAP
        if category is not None:
            words += encode_attribute("category", str(category))
        self.add_encoded(words + encode_attribute("message", message))

    def fatal(self, reason: str) -> None:
        """Append `!fatal` with its bare reason word."""
        self.add_encoded(FATAL + _word(reason))

    def extend(self, other: Reply) -> None:
        """Append the sentences of another reply (each keeps its own tag)."""
        base = len(self.buffer)
        self.buffer += other.buffer
        self.ends.extend(base + end for end in other.ends)
        self.sentences += other.sentences

    def data(self, sentences: int | None = None) -> bytes:
        """The bytes not yet streamed, or only those of the first `sentences` sentences."""
        if sentences is None or sentences >= len(self.ends):
            return bytes(self.buffer)
        return bytes(self.buffer[: self.ends[sentences - 1]]) if sentences > 0 else b""
