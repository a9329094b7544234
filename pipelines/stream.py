"""`python pipelines/stream.py ARGS` is `eventsnn stream ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["stream", *sys.argv[1:]]))
