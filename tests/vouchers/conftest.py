"""The CLI's fixtures (a `wisp` on each database, and a shop on a simulated router) for the
voucher commands."""

from tests.cli.conftest import shop, sim, wisp

__all__ = ["shop", "sim", "wisp"]
