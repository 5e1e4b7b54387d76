"""A customer's phone in the HTTP tests: httpx with cookies, reading forms and links as a browser
would (no JavaScript: the login form is posted as its button would post it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None
        self._style = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._style = tag in ("style", "script", "title")
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "a":
            self._href = a.get("href")

    def handle_data(self, data: str) -> None:
        if self._style:
            return
        self.text.append(data)
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None
        self._style = False


@dataclass
class Page:
    url: str
    status: int
    html: str
    forms: list[Form]
    links: dict[str, str]
    text: str

    def form(self, action_ends: str) -> Form:
        return next(f for f in self.forms if f.action.endswith(action_ends))


def read(response: httpx.Response) -> Page:
    reader = _Reader()
    reader.feed(response.text)
    for form in reader.forms:
        form.action = urljoin(str(response.url), form.action)
    links = {k: urljoin(str(response.url), v) for k, v in reader.links.items()}
    text = " ".join(" ".join(reader.text).split())
    return Page(str(response.url), response.status_code, response.text, reader.forms, links, text)


class Phone:
    """One device: its own cookies, following redirects within the portal."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30, follow_redirects=True)

    def get(self, url: str) -> Page:
        return read(self.http.get(url))

    def submit(self, form: Form, **values: str) -> Page:
        return read(self.http.post(form.action, data=form.fields | values))

    def post_login(self, form: Form) -> httpx.Response:
        """Post the hotspot login as the page's form would; the hotspot's answer, unfollowed."""
        return self.http.post(form.action, data=form.fields, follow_redirects=False)

    def close(self) -> None:
        self.http.close()
