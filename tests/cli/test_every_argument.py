"""Every value-taking argument of every `wisp` subcommand, fed hostile values on every database:
each is refused with one line on stderr and a non-zero exit, with no traceback, no ciphertext and
nothing written.

The argparse tree is walked, so an argument added later fails `test_every_argument_is_covered`
until it has a base invocation here (or is excluded with a reason).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from console.cli.main import build_parser, main
from db.engine import make_engine
from tests import factories
from tests.conftest import BACKENDS, TEST_SECRET_KEY, emptied, server_url

Path_ = tuple[str, ...]

LONG = "x" * 300
TEXT = {
    "long": LONG,
    "line break": "a\nb",
    "nul": "a\x00b",
    "escape": "a\x1b[2Jb",
    "not utf-8": os.fsdecode(b"\xff\xfe"),
    "empty": "",
}
NUMBER = {
    "-1": "-1",
    "0": "0",
    "10**20": str(10**20),
    "nan": "nan",
    "inf": "inf",
    "1e100": "1e100",
}

EXCLUDED_COMMANDS: dict[Path_, str] = {
    ("sim",): "serves a simulated router until interrupted",
    ("sim-mpesa",): "serves a simulated Daraja until interrupted",
    ("console",): "opens the terminal UI",
    ("demo",): "opens the terminal UI on a database of its own",
}
"""Subcommands that serve forever or take over the terminal."""

SKIPPED_OPTIONS = {"--config", "--verbose", "--help"}
"""The root's options: the config path is the test's own, the others take no value."""

NOTHING_TO_TEST: dict[Path_, str] = {
    ("init",): "writes a config and a database: takes no value",
    ("db", "upgrade"): "takes no value",
    ("db", "status"): "takes no value",
    ("router", "list"): "takes no value",
    ("package", "list"): "takes no value",
    ("voucher", "batches"): "takes no value",
}
"""Subcommands with only on/off flags."""


@dataclass(frozen=True)
class Base:
    """A known-good invocation: positionals in order, then options (None: a flag)."""

    positionals: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()
    code: int = 0
    """What the good invocation itself exits with on the fixture (1: the router or Daraja
    refuses the connection, or the thing named does not exist; 5: jobs held on the router)."""

    def argv(self, path: Path_) -> list[str]:
        words = [*path, *self.positionals]
        for option, value in self.options:
            words += [option] if value is None else [option, value]
        return words


ROUTER = (("--host", "127.0.0.1"), ("--password-env", "PW"), ("--no-check", None))
BASES: dict[Path_, Base] = {
    ("router", "add"): Base(("t9",), ROUTER),
    ("router", "edit"): Base(("r1",), (("--user", "admin2"), ("--no-check", None))),
    ("router", "remove"): Base(("r2",), (("--forget-accounts", None),)),
    ("router", "check"): Base(("r1",), code=1),
    ("package", "add"): Base(
        ("Day",),
        (
            ("--type", "hotspot"),
            ("--router", "r1"),
            ("--price", "50"),
            ("--validity", "1d"),
            ("--rate", "5M"),
        ),
    ),
    ("package", "edit"): Base(("Home 10M",), (("--price", "1600"), ("--yes", None))),
    ("client", "add"): Base(("newguy",), (("--name", "New Guy"),)),
    ("client", "edit"): Base(("jdoe",), (("--name", "John Q Doe"),)),
    ("client", "list"): Base(),
    ("client", "suspend"): Base(("jdoe",)),
    ("client", "resume"): Base(("jdoe",), code=1),
    ("client", "show"): Base(("jdoe",)),
    ("activate",): Base(("jdoe", "Home 10M"), (("--method", "cash"),)),
    ("jobs",): Base(),
    ("retry",): Base(("1",), code=1),
    ("subscriptions",): Base(),
    ("payments",): Base(),
    ("run",): Base((), (("--once", None),), code=5),
    ("users",): Base(("r1",), code=1),
    ("reconcile",): Base(("r1",), code=1),
    ("import",): Base(("r1",), (("--dry-run", None),), code=1),
    ("pay", "request"): Base(("jdoe", "Home 10M"), (("--phone", "0722000111"),), code=1),
    ("pay", "list"): Base(),
    ("pay", "reconcile"): Base(code=1),
    ("pay", "assign"): Base(("1", "jdoe"), code=1),
    ("pay", "register"): Base(code=1),
    ("voucher", "generate"): Base(("Home 10M",), (("--count", "2"),)),
    ("voucher", "list"): Base(),
    ("voucher", "print"): Base(
        ("B1",), (("--format", "html"), ("--output", "cards.html"), ("--dns-name", "hotspot.lan"))
    ),
    ("voucher", "revoke"): Base((), (("--batch", "B1"),)),
    ("voucher", "redeem"): Base(("NOSUCH", "jdoe"), code=1),
    ("report", "sales"): Base(),
    ("portal", "login-page"): Base(("r1",), (("--output", "login.html"),)),
}

BASE_FOR_ARGUMENT: dict[tuple[Path_, str], Base] = {
    (("voucher", "revoke"), "code"): Base(("NOSUCH",), code=1),
}
"""Where the argument under test cannot go with the subcommand's base (one voucher or a batch)."""

ACCEPTED: dict[tuple[Path_, str, str], str] = {}
"""Hostile values that are in fact good for that argument (exit 0 allowed), with the reason."""


def leaves(
    parser: argparse.ArgumentParser, path: Path_ = ()
) -> Iterator[tuple[Path_, argparse.ArgumentParser]]:
    """Every runnable subcommand: its path of words and its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from leaves(child, (*path, name))


def value_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments that take a value (not flags, not --help, not subcommands)."""
    return [
        action
        for action in parser._actions
        if action.nargs != 0
        and not isinstance(action, argparse._SubParsersAction)
        and not SKIPPED_OPTIONS & set(action.option_strings)
    ]


def name_of(action: argparse.Action) -> str:
    return action.option_strings[0] if action.option_strings else action.dest


def values_for(action: argparse.Action) -> dict[str, str]:
    """The hostile values of an argument: the numeric ones too for a number. An empty value is
    hostile only where a value is required: an option that may be left out takes "" as left out
    (`--phone "$PHONE"` in a script with no phone)."""
    values = {**NUMBER, **TEXT} if action.type in (int, float) else dict(TEXT)
    if action.option_strings and not action.required:
        del values["empty"]
    return values


def invocations(
    path: Path_, parser: argparse.ArgumentParser
) -> Iterator[tuple[str, str, list[str]]]:
    """(argument, value kind, argv) for every hostile value of every argument of `path`."""
    for action in value_arguments(parser):
        name = name_of(action)
        base = BASE_FOR_ARGUMENT.get((path, name), BASES[path])
        for kind, value in values_for(action).items():
            if action.option_strings:
                options = [(o, v) for o, v in base.options if o != name]
                argv = Base(base.positionals, (*options, (name, value))).argv(path)
            else:
                index = [a.dest for a in parser._actions if not a.option_strings].index(action.dest)
                positionals = list(base.positionals)
                if index < len(positionals):
                    positionals[index] = value
                else:
                    positionals.append(value)
                argv = Base(tuple(positionals), base.options).argv(path)
            yield name, kind, argv


def commands_under_test() -> list[Path_]:
    return [path for path, _ in leaves(build_parser()) if path in BASES]


def test_every_argument_is_covered() -> None:
    declared = {path for path, _ in leaves(build_parser())}
    handled = set(BASES) | set(EXCLUDED_COMMANDS) | set(NOTHING_TO_TEST)
    assert declared == handled, (
        f"not covered: {sorted(declared - handled)}; gone: {sorted(handled - declared)}"
    )
    for path, parser in leaves(build_parser()):
        if path in NOTHING_TO_TEST:
            assert value_arguments(parser) == [], path
    arguments = {
        (path, name_of(a)) for path, p in leaves(build_parser()) for a in value_arguments(p)
    }
    parsers = dict(leaves(build_parser()))
    fed: dict[tuple[Path_, str], int] = {}
    for path in commands_under_test():
        for name, _, _ in invocations(path, parsers[path]):
            fed[path, name] = fed.get((path, name), 0) + 1
    excluded = {(path, name) for path, name in arguments if path in EXCLUDED_COMMANDS}
    assert set(fed) | excluded == arguments, sorted(arguments - set(fed) - excluded)
    assert min(fed.values()) >= len(TEXT) - 1, "every argument gets every kind of bad text"
    assert {(p, n) for p, n in BASE_FOR_ARGUMENT} <= arguments
    assert {(p, n) for p, n, _ in ACCEPTED} <= arguments


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        "[routers]\nconnect_timeout = 2.0\ncommand_timeout = 5.0\n"
        f'[mpesa]\nbase_url = "http://127.0.0.1:{closed_port()}"\n'
        'callback_base_url = "https://pay.example.co.ke"\n'
        '[portal]\npublic_url = "http://portal.example.co.ke/portal"\n'
    )
    return path


def prepare(engine: Engine, config: Path) -> None:
    """The fixture: routers r1 and r2 on a closed port, packages Home 10M and Fibre 20M on r1,
    client jdoe, and a batch B1 of two vouchers."""
    factories.setup(engine, router_port=closed_port())
    factories.router(engine, "r2", port=closed_port())
    result = wisp(config, "voucher", "generate", "Home 10M", "--count", "2")
    assert result.code == 0, result.err


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def wisp(config: Path, *argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    saved, sys.stdin = sys.stdin, io.StringIO("")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--config", str(config), *argv])
    except SystemExit as exit:  # argparse's own usage errors
        code = int(exit.code or 0)
    finally:
        sys.stdin = saved
    return Result(code, out.getvalue(), err.getvalue())


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in SQLModel.metadata.sorted_tables
        }


def environment(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.chdir(folder)
    monkeypatch.setenv("WISP_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("PW", "router-pass")
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    for name in ("CONSUMER_KEY", "CONSUMER_SECRET", "PASSKEY", "CALLBACK_TOKEN"):
        monkeypatch.setenv(f"WISP_MPESA_{name}", "test-" + name.lower())


@dataclass
class Shop:
    engine: Engine
    config: Path


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    server_databases: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Shop]:
    """One database per backend for the whole module, with the fixture's rows."""
    folder = tmp_path_factory.mktemp(f"every-{request.param}")
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, folder / "wisp.db")
        url = f"sqlite:///{folder / 'wisp.db'}"
    else:
        url = emptied(server_url(request.param, server_databases))
    engine = make_engine(url)
    config = write_config(folder, url)
    with pytest.MonkeyPatch.context() as patch:
        environment(patch, folder)
        prepare(engine, config)
    yield Shop(engine, config)
    engine.dispose()


def failure(result: Result, accepted: bool, wrote: bool) -> str | None:
    """What is wrong with one invocation's outcome, or None."""
    both = result.out + result.err
    if "Traceback" in both or "an unexpected error stopped the command" in result.err:
        return "traceback"
    if "gAAAA" in both:
        return "ciphertext"
    if wrote:
        return "write"
    if result.code == 0 and not accepted:
        return "exit 0"
    if result.code not in (0, 1, 2):
        return f"exit {result.code}"
    lines = result.err.splitlines()
    if result.code != 0 and (len(lines) != 1 or not lines[0].startswith("wisp: ")):
        return "not one line"
    return None


@pytest.mark.parametrize("path", commands_under_test(), ids=" ".join)
def test_every_hostile_value_is_refused_in_one_line_and_nothing_written(
    shop: Shop, path: Path_, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch, shop.config.parent)
    parser = dict(leaves(build_parser()))[path]
    failures = []
    before = counts(shop.engine)
    for name, kind, argv in invocations(path, parser):
        result = wisp(shop.config, *argv)
        after = counts(shop.engine)
        wrong = failure(result, (path, name, kind) in ACCEPTED, after != before)
        if wrong:
            failures.append(f"{wrong}: {argv!r} -> {result.code}, {result.err.strip()[:300]!r}")
        before = after
    assert not failures, f"{len(failures)} bad outcomes:\n" + "\n".join(failures)


@pytest.mark.parametrize("path", commands_under_test(), ids=" ".join)
def test_each_base_invocation_is_good(
    path: Path_, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each base is what the fixture accepts, so that the hostile value is all that is wrong."""
    shutil.copyfile(sqlite_template, tmp_path / "wisp.db")
    url = f"sqlite:///{tmp_path / 'wisp.db'}"
    engine = make_engine(url)
    config = write_config(tmp_path, url)
    environment(monkeypatch, tmp_path)
    prepare(engine, config)
    bases = [BASES[path], *(b for (p, _), b in BASE_FOR_ARGUMENT.items() if p == path)]
    for base in bases:
        result = wisp(config, *base.argv(path))
        assert result.code == base.code, (base.argv(path), result.err)
        assert "Traceback" not in result.err
    engine.dispose()
