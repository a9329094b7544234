"""Print the resolved config: `python pipelines/show_config.py FILE [--set a.b=c]`."""

import sys

from eventsnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["config", "show", *sys.argv[1:]]))
