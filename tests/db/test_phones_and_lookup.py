"""Phone numbers in one form, and names found the way an operator types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from db import catalog
from db.engine import make_engine, session_scope, upgrade
from db.phones import PhoneError, normalise_phone, phone_fragment
from tests import factories


@pytest.mark.parametrize(
    "typed",
    [
        "0722000111",
        "722000111",
        "254722000111",
        "+254722000111",
        "+254 722-000 111",
        "00254722000111",
    ],
)
def test_every_way_of_writing_a_kenyan_number_is_one_number(typed: str) -> None:
    assert normalise_phone(typed) == "+254722000111"


def test_foreign_numbers_keep_their_country_and_junk_is_refused() -> None:
    assert normalise_phone("+1 415 555 0100") == "+14155550100"
    assert normalise_phone("0110000111") == "+254110000111"
    assert normalise_phone("  ") is None
    for junk in ("12345", "07220001112", "+2547220001", "call me", "+abc"):
        with pytest.raises(PhoneError, match="is not a phone number"):
            normalise_phone(junk)


def test_a_search_fragment_looks_like_the_stored_form() -> None:
    assert phone_fragment("0722 000") == "+254722000"
    assert phone_fragment("254722") == "+254722"
    assert phone_fragment("000111") == "000111"
    assert phone_fragment("amina") is None


def test_names_are_found_in_any_case_and_a_miss_says_what_is_close(engine) -> None:
    factories.setup(engine)
    with session_scope(engine) as session:
        assert catalog.get_client(session, "JDOE").username == "jdoe"
        assert catalog.get_package(session, "home 10m").name == "Home 10M"
        assert catalog.get_router(session, "R1").name == "r1"
        with pytest.raises(catalog.Refused) as miss:
            catalog.get_package(session, "Home 10")
        assert str(miss.value) == "there is no package named 'Home 10'; did you mean Home 10M?"
        with pytest.raises(
            catalog.Refused, match="there is no client with username 'jdeo'; did you mean jdoe"
        ):
            catalog.get_client(session, "jdeo")
        with pytest.raises(catalog.Refused, match=r"\(see `wisp client list`\)"):
            catalog.get_client(session, "zzzzzz")
    with (
        session_scope(engine) as session,
        pytest.raises(catalog.Refused, match="a client with username 'jdoe' already exists"),
    ):
        catalog.add_client(session, username="JDoe", full_name="Another")
    with (
        session_scope(engine) as session,
        pytest.raises(catalog.Refused, match="a package named 'Home 10M' already exists"),
    ):
        catalog.add_package(
            session,
            catalog.PackageSpec("HOME 10M", "hotspot", "r1", "1", "1d", "1M"),
        )


def test_phones_are_stored_in_one_form(engine) -> None:
    factories.client(engine, "amina", phone="0722 000 111")
    with session_scope(engine) as session:
        client, changed = catalog.edit_client(session, "amina", phone="254733000222")
        assert client.phone == "+254733000222" and changed == ["phone"]
        _, again = catalog.edit_client(session, "amina", phone="0733000222")
        assert again == []


def test_the_migration_puts_stored_phones_in_one_form(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        for n, phone in enumerate(["0722 000 111", "254733000222", "not a number", None]):
            connection.execute(
                text(
                    "INSERT INTO clients (full_name, username, phone, account_type, status, "
                    "credit, created_at, updated_at) VALUES (:n, :u, :p, 'personal', 'active', 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"n": f"C{n}", "u": f"c{n}", "p": phone},
            )
    upgrade(engine)
    with engine.connect() as connection:
        phones = connection.execute(text("SELECT phone FROM clients ORDER BY id")).scalars().all()
    assert phones == ["+254722000111", "+254733000222", "not a number", None]
    engine.dispose()
