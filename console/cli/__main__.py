"""`python -m console.cli`: the `wisp` command."""

import sys

from console.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
