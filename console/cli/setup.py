"""`wisp init` and `wisp db upgrade`: files and schema."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from console.cli import common

CONFIG_SKELETON = """\
# WISP Console settings. config.example.toml documents every setting.
# Secrets never go here: put them in the environment or in .env beside this file.

[database]
url = "sqlite:///wisp.db"

[console]
timezone = "Africa/Nairobi"
"""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    init = commands.add_parser(
        "init",
        help="write config.toml and .env if absent, create or upgrade the database",
        description="Set up WISP Console where the config file is (--config PATH, $WISP_CONFIG "
        "or ./config.toml): write the config file if it is absent, add a new WISP_SECRET_KEY to "
        "the .env beside it if none is set, and create the database or bring it to this "
        "version's schema. Safe to run again: nothing that exists is overwritten. It is the only "
        "command that creates a database; a relative SQLite path in the config file is relative "
        "to the config file's folder.",
    )
    init.set_defaults(handler=run_init)
    common.add_json_flag(init)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    common.command(
        db_commands, "upgrade", run_upgrade, "create or upgrade the schema to this version"
    )
    common.command(
        db_commands,
        "status",
        run_status,
        "show the schema revision (exit 1 when the database is behind this version)",
    )


def run_init(args: argparse.Namespace) -> int:
    from db.config import SECRET_KEY_ENV, config_path

    path = config_path(args.config)
    written: dict[str, str | None] = {"config_written": None, "env_written": None}
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CONFIG_SKELETON)
        written["config_written"] = str(path)
        if not args.json:
            print(f"wrote {path}")
    env_file = path.parent / ".env"
    if not os.environ.get(SECRET_KEY_ENV) and not _has_key(env_file):
        _write_key(env_file)
        written["env_written"] = str(env_file)
        if not args.json:
            print(
                f"wrote {env_file} with a new {SECRET_KEY_ENV} (keep it: stored passwords need it)"
            )
    return run_upgrade(args, create=True, extra={"config": str(path), **written})


def _has_key(env_file: Path) -> bool:
    from db.config import SECRET_KEY_ENV

    return env_file.exists() and any(
        line.strip().startswith(f"{SECRET_KEY_ENV}=") for line in env_file.read_text().splitlines()
    )


def _write_key(env_file: Path) -> None:
    from db.config import SECRET_KEY_ENV
    from db.secrets import new_key

    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # An existing .env keeps its mode on open: it holds the key now, so only its owner may read it.
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(f"{SECRET_KEY_ENV}={new_key()}\n")


def run_upgrade(
    args: argparse.Namespace, *, create: bool = False, extra: dict[str, str | None] | None = None
) -> int:
    from db.engine import head_revision, safe_url, upgrade

    engine = common.engine(args, check_schema=False, create=create)
    before = current_revision_or_none(engine)
    upgrade(engine)
    after = head_revision()
    where = safe_url(engine.url)
    common.say(
        args,
        {**(extra or {}), "database": where, "revision": after, "previous_revision": before},
        f"database {where} is at revision {after}"
        + ("" if before == after else f" (was {before or 'empty'})"),
    )
    return 0


def current_revision_or_none(engine):  # type: ignore[no-untyped-def]
    from db.engine import check_connection, current_revision

    check_connection(engine)
    return current_revision(engine)


def run_status(args: argparse.Namespace) -> int:
    from db.engine import head_revision, safe_url

    engine = common.engine(args, check_schema=False)
    current = current_revision_or_none(engine)
    head = head_revision()
    state = "up to date" if current == head else f"behind (this version needs {head})"
    where = safe_url(engine.url)
    common.say(
        args,
        {"database": where, "revision": current, "head": head, "up_to_date": current == head},
        f"database {where}: revision {current or 'none'}, {state}",
    )
    return 0 if current == head else 1
