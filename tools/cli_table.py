"""Print the command table of docs/cli.md from the parser: `python tools/cli_table.py`.

`tests/test_cli.py` checks the table in docs/cli.md against the parser; after changing an
option, paste this script's output over the table's rows.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from eventsnn.cli import build_parser


def leaf_commands(
    parser: argparse.ArgumentParser, prefix: str = "eventsnn"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, child in subs[0].choices.items():
        yield from leaf_commands(child, f"{prefix} {name}")


def option_text(action: argparse.Action) -> str:
    many = action.nargs in ("+", "*")
    if action.option_strings:
        flag = "/".join(action.option_strings)
        metavar = action.metavar or action.dest.upper()
        text = f"`{flag}`" if action.nargs == 0 else f"`{flag} {metavar}{'...' if many else ''}`"
    else:
        metavar = action.metavar or action.dest.upper()
        text = f"`{metavar}{'...' if many else ''}`"
    if action.required and (action.option_strings or action.nargs not in ("?", "*")):
        text += " (required)"
    return text


def rows() -> list[str]:
    out = []
    for name, parser in sorted(leaf_commands(build_parser())):
        items = [
            option_text(a)
            for a in parser._actions
            if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS
        ]
        out.append(f"| `{name}` | {', '.join(items) or '(no options)'} |")
    return out


if __name__ == "__main__":
    print("\n".join(rows()))
