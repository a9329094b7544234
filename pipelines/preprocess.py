"""Frame a data set into the cache: `python pipelines/preprocess.py -c configs/data/<dataset>.yaml`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["preprocess", *sys.argv[1:]]))
