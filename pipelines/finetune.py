"""`python pipelines/finetune.py ARGS` is `eventsnn finetune ARGS`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["finetune", *sys.argv[1:]]))
