"""`python pipelines/demo.py ARGS` is `eventsnn demo ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
