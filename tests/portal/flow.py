"""Steps of a walk-in customer through the portal, shared by the HTTP tests."""

from __future__ import annotations

from tests.portal.browser import Page, Phone
from tests.waiting import wait_for


def buy(phone: Phone, start: Page, package: str, number: str = "0708 374 149") -> Page:
    """Pick the package, type the number, send the prompt: the payment page."""
    offer = next(link for text, link in start.links.items() if text == "Pay with M-Pesa")
    offers = [url for text, url in start.links.items() if text == "Pay with M-Pesa"]
    assert offers, start.text
    chosen = _offer_link(start, package) or offer
    form_page = phone.get(chosen)
    assert f"Pay for {package}" in form_page.text, form_page.text
    return phone.submit(form_page.form("/pay"), phone=number)


def _offer_link(start: Page, package: str) -> str | None:
    """The Pay link of the named package's card."""
    at = start.html.find(f"<b>{package}</b>")
    if at < 0:
        return None
    href = start.html.find('href="', at) + len('href="')
    link = start.html[href : start.html.find('"', href)].replace("&amp;", "&")
    return start.url.split("/portal/")[0] + link


def follow(phone: Phone, payment: Page, until: str, timeout: float = 60) -> Page:
    """Look at the payment page again (as its refresh does) until its title says `until`."""
    seen = [payment]

    def settled() -> bool:
        if until in seen[-1].text:
            return True
        seen.append(phone.get(seen[-1].url))
        return until in seen[-1].text

    wait_for(settled, timeout=timeout, poll=0.3, describe=lambda: seen[-1].text[:300])
    return seen[-1]
