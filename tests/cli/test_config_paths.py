"""--config from another folder: paths in the file are the file's; only `wisp init` makes a database."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import ok, wisp


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_a_relative_sqlite_path_is_the_config_files_own(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    (tmp_path / "cwd").mkdir()
    out = ok(tmp_path / "cwd", "--config", "../srv/config.toml", "init")
    assert f"sqlite:///{tmp_path / 'srv' / 'wisp.db'} is at revision" in out
    assert files(tmp_path / "cwd") == set()
    ok(
        tmp_path / "cwd",
        "--config",
        str(tmp_path / "srv" / "config.toml"),
        "client",
        "add",
        "a",
        "--name",
        "A",
    )
    listed = ok(tmp_path, "client", "list", env={"WISP_CONFIG": str(tmp_path / "srv/config.toml")})
    assert "a " in listed
    assert files(tmp_path / "cwd") == set()


def test_a_folder_in_the_path_is_made_by_init_only(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[database]\nurl = "sqlite:///data/w.db"\n')
    result = wisp(tmp_path, "jobs")
    assert result.returncode == 1
    assert result.stderr == (
        f"wisp: there is no database at {tmp_path / 'data' / 'w.db'} (config.toml); "
        "run `wisp init` first.\n"
    )
    assert files(tmp_path) == {"config.toml"}
    ok(tmp_path, "init")
    assert (tmp_path / "data" / "w.db").is_file()


def test_no_command_but_init_creates_a_database_file(tmp_path: Path) -> None:
    for command in (
        ["jobs"],
        ["client", "list"],
        ["db", "upgrade"],
        ["db", "status"],
        ["payments"],
    ):
        result = wisp(tmp_path, *command)
        assert result.returncode == 1, command
        assert result.stderr == (
            f"wisp: there is no database at {tmp_path / 'wisp.db'}; run `wisp init` first.\n"
        ), command
    assert files(tmp_path) == set()


def test_a_url_from_the_shell_is_relative_to_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    env = {
        "WISP_DATABASE_URL": "sqlite:///here.db",
        "WISP_CONFIG": str(tmp_path / "etc/config.toml"),
    }
    ok(tmp_path, "init", env=env)
    assert (tmp_path / "here.db").is_file() and not (tmp_path / "etc" / "here.db").exists()
