"""`python pipelines/predict.py ARGS` is `eventsnn predict ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["predict", *sys.argv[1:]]))
