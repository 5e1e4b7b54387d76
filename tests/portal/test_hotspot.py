"""The hotspot's variables as the portal takes them, and the CHAP answer md5.js would make."""

from __future__ import annotations

import hashlib

import pytest

from scheduler.portal.hotspot import NotFromHotspot, chap_response, from_query, login_fields
from scheduler.portal.signing import LIFETIMES, BadSignature, Expired, Signer

HOSTS = {"10.5.50.1", "hotspot.lan"}


def test_chap_reads_routeros_octal_escapes_as_the_login_page_javascript_does() -> None:
    expected = hashlib.md5(b"\xed" + b"pw" + b"S%\x00", usedforsecurity=False).hexdigest()
    assert chap_response("\\355", "pw", "\\123\\045\\000") == expected


def test_the_login_is_pap_without_a_challenge_and_chap_with_one() -> None:
    pap = from_query({"link-login-only": "http://hotspot.lan/login"}, "r1", HOSTS)
    assert login_fields(pap, "u", "pw")["password"] == "pw"
    chap = from_query(
        {"link-login-only": "http://10.5.50.1/login", "chap-id": "\\1", "chap-challenge": "\\2"},
        "r1",
        HOSTS,
    )
    assert login_fields(chap, "u", "pw")["password"] == chap_response("\\1", "pw", "\\2")


def test_variables_are_checked_not_taken_blindly() -> None:
    taken = from_query(
        {"mac": "aa-bb-cc-00-00-01", "ip": "10.5.50.9", "link-orig": "javascript:alert(1)"},
        "r1",
        HOSTS,
    )
    assert (taken.mac, taken.ip, taken.link_orig) == ("AA:BB:CC:00:00:01", "10.5.50.9", "")
    assert from_query({"mac": "not a mac"}, "r1", HOSTS).mac is None
    for query in (
        {"link-login-only": "http://evil.example/login"},
        {"link-login-only": "ftp://10.5.50.1/login"},
        {"link-login-only": "http://10.5.50.1.evil.example/login"},
        {"ip": "10.5.50.9; rm"},
    ):
        with pytest.raises(NotFromHotspot):
            from_query(query, "r1", HOSTS)


def test_a_signed_value_altered_or_signed_for_another_purpose_is_refused() -> None:
    signer = Signer(b"0123456789abcdef0123")
    token = signer.sign("payment", {"row": 1})
    assert signer.read("payment", token) == {"row": 1}
    body, _, mac = token.partition(".")
    forged = Signer(b"another-secret-000000").sign("payment", {"row": 2})
    for bad in (forged, f"{forged.partition('.')[0]}.{mac}", token + "x", "", "abc"):
        with pytest.raises(BadSignature):
            signer.read("payment", bad)
    with pytest.raises(BadSignature):
        signer.read("hotspot", token)


def test_a_token_is_refused_past_its_lifetime() -> None:
    now = [1_800_000_000.0]
    signer = Signer(b"0123456789abcdef0123", clock=lambda: now[0])
    payment, hotspot = signer.sign("payment", {"row": 1}), signer.sign("hotspot", {"mac": "x"})
    now[0] += LIFETIMES["hotspot"]
    assert signer.read("hotspot", hotspot) == {"mac": "x"}
    now[0] += 1
    with pytest.raises(Expired):
        signer.read("hotspot", hotspot)
    assert signer.read("payment", payment) == {"row": 1}
    now[0] = 1_800_000_000.0 + LIFETIMES["payment"] + 1
    with pytest.raises(Expired):
        signer.read("payment", payment)
    now[0] = 1_800_000_000.0 - 3600  # made in the future: a clock turned back, or forged
    with pytest.raises(Expired):
        signer.read("payment", payment)
