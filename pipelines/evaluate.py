"""`python pipelines/evaluate.py ARGS` is `eventsnn evaluate ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
