"""YAML read under limits: a config can neither exhaust memory nor the stack, and fails fast.

* size: a config file is at most `MAX_FILE_BYTES`, a `--set` value at most `MAX_VALUE_CHARS`;
* nesting: at most `MAX_DEPTH` levels of mappings / lists, checked on the parser's event stream
  (iterative) before PyYAML's recursive composer runs, so 100,000 levels are one line, not a
  RecursionError;
* aliases: the document with every alias expanded may hold at most `MAX_NODES` nodes, counted on
  the composed node graph (each distinct node once, memoised) before anything is constructed:
  a "billion laughs" file (a few hundred bytes that expand to 10^9 strings) is refused in
  milliseconds.

A real config has a few hundred nodes and fewer than 10 levels.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import events as ev
from yaml import nodes

from eventsnn.errors import ConfigError

MAX_FILE_BYTES = 1 << 20
MAX_VALUE_CHARS = 64 << 10
MAX_DEPTH = 64
MAX_NODES = 100_000


def check_file_size(size: int, where: str) -> None:
    """`ConfigError` when a config file of `size` bytes is larger than `MAX_FILE_BYTES`."""
    if size > MAX_FILE_BYTES:
        raise ConfigError(
            f"{where}: {size / 2**20:.1f} MiB; a config file is at most {MAX_FILE_BYTES >> 20} MiB "
            "(is this a config?)"
        )


def _check_depth(text: str, loader: type, where: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ConfigError(
                    f"{where}: nested more than {MAX_DEPTH} levels deep (line {line}); a config has a few"
                )
        elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
            depth -= 1


def expanded_nodes(root: nodes.Node) -> int:
    """Nodes of the document with every alias expanded (each distinct node counted once)."""
    sizes: dict[int, int] = {}
    order: list[nodes.Node] = []
    stack = [root]
    while stack:  # post-order without recursion
        node = stack.pop()
        if id(node) in sizes:
            continue
        sizes[id(node)] = -1
        order.append(node)
        stack.extend(_children(node))
    for node in reversed(order):  # children before parents
        sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in _children(node)), MAX_NODES + 1)
    return sizes[id(root)]


def _children(node: nodes.Node) -> list[nodes.Node]:
    if isinstance(node, nodes.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, nodes.SequenceNode):
        return list(node.value)
    return []


def load_yaml(text: str, loader: type, where: str) -> Any:
    """`text` read by `loader` (a SafeLoader subclass) under the limits of this module.

    Raises:
        ConfigError: too deep, too many nodes once aliases are expanded.
        yaml.YAMLError: a syntax error (the caller words it).
    """
    _check_depth(text, loader, where)
    reader = loader(text)
    try:
        root = reader.get_single_node()
        if root is None:
            return None
        n = expanded_nodes(root)
        if n > MAX_NODES:
            raise ConfigError(
                f"{where}: expands to more than {MAX_NODES} values through YAML aliases (*name); "
                "a config has a few hundred"
            )
        return reader.construct_document(root)
    finally:
        reader.dispose()


def override_value(text: str, item: str) -> Any:
    """A `--set` value: YAML (`2`, `[32, 32]`, `null`, `true`), except that text YAML would cut
    or reinterpret -- a ` #` (a YAML comment) or a leading `&` / `*` (anchor, alias) -- is kept
    as written, a string."""
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(
            f"--set {item[:40]}...: the value has {len(text)} characters (at most {MAX_VALUE_CHARS})"
        )
    stripped = text.strip()
    if not stripped:
        return None
    if " #" in text or "\t#" in text or stripped.startswith(("#", "&", "*")):
        return stripped
    try:
        return load_yaml(text, yaml.SafeLoader, f"--set {item}")
    except yaml.YAMLError:
        return text
