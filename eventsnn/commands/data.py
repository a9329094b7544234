"""`eventsnn data list`: the registered event data sets, each with the layout it expects."""

from __future__ import annotations

import argparse
import json

from eventsnn.data.sets import REGISTRY

COMMAND = "data"
HELP = "the event data sets eventsnn reads (`data list`), with the folder layout each expects"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list the data sets with sensor, split, reader and layout")
    listing.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    rows = [
        {
            "name": s.name,
            "title": s.title,
            "sensor": list(s.sensor_size) if s.sensor_size else None,
            "split": s.split,
            "reader": s.reader,
            "orientation": s.orientation,
            "other_orientations": [o for o in s.orientations if o != s.orientation],
            "layout": s.layout,
        }
        for s in REGISTRY.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        sensor = "x".join(str(v) for v in r["sensor"][:2]) if r["sensor"] else "from the data"
        other = f" (or {', '.join(r['other_orientations'])})" if r["other_orientations"] else ""
        print(f"{r['name']}: {r['title']}")
        print(f"    sensor {sensor}; split {r['split']}; reader {r['reader']}")
        print(f"    orientation {r['orientation']}{other}")
        print(f"    layout: {r['layout']}")
    return 0
