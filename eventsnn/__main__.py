"""`python -m eventsnn ...` (also what `torchrun -m eventsnn ...` runs)."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
