"""A client sentence split into command, attributes, queries and tag."""

from __future__ import annotations

from dataclasses import dataclass, field

# Bytes that are not UTF-8 survive a decode/encode round trip unchanged.
ENCODING = "utf-8"
ERRORS = "surrogateescape"


@dataclass
class Request:
    """One command sentence as the router reads it."""

    command: str
    attributes: dict[str, str] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    tag: str | None = None
    # Words that are neither attribute, query nor tag (kept so the engine can refuse them).
    stray: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        """Menu part of the command: /ip/hotspot/user for /ip/hotspot/user/add."""
        return self.command.rpartition("/")[0]

    @property
    def verb(self) -> str:
        """Last part of the command: add for /ip/hotspot/user/add."""
        return self.command.rpartition("/")[2]


def parse_sentence(words: list[bytes]) -> Request:
    """Split a sentence. Accepts =k=v and =k (routeros-api's empty value) and .tag=X."""
    text = [w.decode(ENCODING, ERRORS) for w in words]
    request = Request(command=text[0])
    for word in text[1:]:
        if word.startswith("="):
            key, _, value = word[1:].partition("=")
            request.attributes[key] = value
        elif word.startswith("?"):
            request.queries.append(word)
        elif word.startswith(".tag="):
            # An empty tag counts as no tag (MT-API "Tags").
            request.tag = word[5:] or None
        else:
            request.stray.append(word)
    return request
