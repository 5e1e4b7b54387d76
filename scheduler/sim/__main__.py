"""python -m scheduler.sim: the same as `wisp sim`."""

import argparse
import sys

from scheduler.sim.cli import DESCRIPTION, configure_parser, run


def main() -> int:
    """Parse the command line and run the simulator."""
    parser = argparse.ArgumentParser(prog="wisp sim", description=DESCRIPTION)
    configure_parser(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
