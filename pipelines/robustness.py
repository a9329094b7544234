"""Robustness sweeps: `python pipelines/robustness.py -c FILE --checkpoint A [--checkpoint B]`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["robustness", *sys.argv[1:]]))
