"""Subcommands of `wisp`, one module per family; each has `register(subparsers)`."""
