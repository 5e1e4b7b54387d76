"""The `wisp` command line: `main` builds the parser; one module per family of subcommands, each
with `register(subparsers)`."""

from console.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
