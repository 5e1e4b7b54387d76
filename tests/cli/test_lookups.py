"""Names typed in any case, "did you mean" on a miss, phone numbers in any form, validity units."""

from __future__ import annotations

from tests.cli.conftest import Wisp


def test_clients_and_packages_are_found_in_any_case(shop: Wisp) -> None:
    done = shop.ok("activate", "AMINA", "day", "--method", "cash", "--json").json()
    assert (done["client"], done["package"]) == ("amina", "Day")
    assert shop.ok("client", "show", "Amina", "--json").json()["client"]["username"] == "amina"
    miss = shop("activate", "amnia", "Day", "--method", "cash")
    assert miss.code == 1
    assert miss.err == "wisp: there is no client with username 'amnia'; did you mean amina?\n"
    miss = shop("package", "edit", "Dya", "--price", "60")
    assert miss.err == "wisp: there is no package named 'Dya'; did you mean Day?\n"
    taken = shop("client", "add", "Amina", "--name", "Another Amina")
    assert taken.code == 1 and "a client with username 'amina' already exists" in taken.err


def test_phone_numbers_are_stored_and_searched_in_one_form(shop: Wisp) -> None:
    shop.ok("client", "add", "carol", "--name", "Carol", "--phone", "+254 733 000 222")
    phones = {c["username"]: c["phone"] for c in shop.ok("client", "list", "--json").json()}
    assert phones == {"amina": "+254722000111", "bob": None, "carol": "+254733000222"}
    for typed in ("0722000111", "722000111", "254722000111", "+254722000111", "0722 000"):
        found = shop.ok("client", "list", "--search", typed, "--json").json()
        assert [c["username"] for c in found] == ["amina"], typed
    assert [
        c["username"] for c in shop.ok("client", "list", "--search", "CAR", "--json").json()
    ] == ["carol"]
    bad = shop("client", "edit", "bob", "--phone", "12345")
    assert bad.code == 1 and bad.err == (
        "wisp: phone '12345' is not a phone number; write it as 0722000111 or +254722000111.\n"
    )


def test_validity_takes_weeks_and_the_help_lists_every_unit(shop: Wisp) -> None:
    added = shop.ok(
        *("package", "add", "Fortnight", "--type", "hotspot", "--router", "r1", "--price", "90"),
        *("--validity", "2w", "--rate", "5M", "--json"),
    ).json()
    assert added["validity"] == {
        "length": 14,
        "unit": "days",
        "seconds": 14 * 86400,
        "text": "14 days",
    }
    helped = shop("package", "add", "--help")
    assert helped.code == 0
    for unit in ("minutes", "hours", "days", "weeks", "months", "45m", "12h", "30d", "2w", "1mo"):
        assert unit in " ".join(helped.out.split()), unit
    wrong = shop(*["package", "edit", "Day", "--validity", "3y"])
    assert "use m (minutes), h (hours), d (days), w (weeks) or mo (months)" in wrong.err
