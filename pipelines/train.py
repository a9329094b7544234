"""`python pipelines/train.py ARGS` is `eventsnn train ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
