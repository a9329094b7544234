"""Strict YAML loading for `RunConfig`.

* unknown keys are errors, with the file, the dotted key path and the closest valid key;
* values are checked against the dataclass annotations (int, float, str, bool, Literal,
  Optional, tuples, nested sections) and their ranges (`Annotated[..., Range(...)]` /
  `Length(...)` in the schema); every float must be finite;
* a key given twice in one mapping is an error (not "last one wins"), and so is a file
  that is not UTF-8 text;
* `base: other.yaml` at the top of a file deep-merges the file over `other.yaml` (a path
  relative to the file, or the name of a shipped config such as `smoke/events`);
* `--set section.key=value` overrides are parsed as YAML scalars and checked the same way (a
  value with ` #` or a leading `&` / `*` is kept as written);
* size, nesting and alias expansion are capped (`eventsnn.config.limits`): one line, fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from eventsnn.config.limits import check_file_size, load_yaml, override_value
from eventsnn.config.packaged import resolve_config_path
from eventsnn.config.schema import Length, Range, RunConfig
from eventsnn.errors import ConfigError
from eventsnn.utils.io import atomic_write_text

T = TypeVar("T")
_YAML_BOOL_WORDS = {False: ("off", "no", "false", "n"), True: ("on", "yes", "true", "y")}
_BASE_KEY = "base"


def load_config(path: str | os.PathLike[str] | None, overrides: typing.Sequence[str] = ()) -> RunConfig:
    """Load a YAML file (or the defaults when `path` is None) and apply `--set` overrides.

    `path` is a file, or the name of a shipped config (`smoke/events`, `demo`; see
    `eventsnn.config.packaged`) when no such file exists.
    """
    if path is None:
        return config_from_mapping({}, overrides, source="<defaults>")
    file = resolve_config_path(path)
    return config_from_mapping(_read_with_bases(file, seen=()), overrides, source=str(file))


def config_from_mapping(
    raw: typing.Mapping[str, Any], overrides: typing.Sequence[str] = (), *, source: str = "<dict>"
) -> RunConfig:
    """A `RunConfig` from already-read data (e.g. the config stored in a checkpoint) with
    `--set` overrides applied, checked exactly like a config file."""
    import copy

    data = _upgrade_legacy_keys(copy.deepcopy(dict(raw)))
    for item in overrides:
        _apply_override(data, item)
    if overrides:
        source = f"{source} (with --set)"
    cfg = from_dict(RunConfig, data, source=source)
    _check_across_fields(cfg, source)
    return cfg


def _upgrade_legacy_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Configs written by eventsnn 0.1 (stored in its checkpoints) in today's keys.

    0.1's `train.amp: true` meant fp16 autocast on CUDA and fp32 on CPU; it is read as
    `train.precision: auto` (fp16 on CUDA, fp32 on CPU), `false` as `fp32`. A config
    that sets both keeps its `precision`.
    """
    train = data.get("train")
    if isinstance(train, dict) and "amp" in train:
        amp = train.pop("amp")
        train.setdefault("precision", "auto" if amp else "fp32")
    return data


def from_dict(cls: type[T], data: Any, *, source: str = "<dict>", prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "top level"
        raise ConfigError(f"{source}: {where}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"{source}: {dotted}: unknown key{_suggest(str(key), fields, dotted)}")
        kwargs[key] = _convert(value, hints[key], source=source, dotted=dotted)
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{source}: {prefix}{missing[0]}: required key is missing")
    return cls(**kwargs)


def to_dict(obj: Any) -> Any:
    """A dataclass tree -> plain YAML-friendly data (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def dump_yaml(cfg: Any) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)


PATH_FIELDS = (("data", "root"), ("data", "cache_dir"), ("model", "pretrained"), ("output", "root"))


def with_absolute_paths(cfg: RunConfig, base: str | os.PathLike[str] | None = None) -> RunConfig:
    """`cfg` with its relative paths (`PATH_FIELDS`) made absolute against `base` (default: the
    working directory), so that a run folder's config and checkpoints work from any folder.

    >>> cfg = with_absolute_paths(RunConfig(), base="/data/lab")
    >>> cfg.data.root, cfg.output.root, cfg.model.pretrained
    ('/data/lab/datasets/digits_dvs', '/data/lab/runs', None)
    """
    root = Path(base) if base is not None else Path.cwd()
    sections: dict[str, Any] = {}
    for section, key in PATH_FIELDS:
        part = sections.get(section, getattr(cfg, section))
        value = getattr(part, key)
        if value is not None and not Path(value).is_absolute():
            part = dataclasses.replace(part, **{key: str(root / value)})
        sections[section] = part
    return dataclasses.replace(cfg, **sections)


def save_resolved(cfg: Any, run_dir: str | os.PathLike[str], name: str = "config.yaml") -> Path:
    """Write the resolved config into a run directory atomically; return its path."""
    path = Path(run_dir) / name
    atomic_write_text(path, dump_yaml(cfg))
    return path


# ----------------------------------------------------------------------------- internals
class _RangeError(ConfigError):
    """A value of the right type outside its valid range (not retried against other union arms)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _check_across_fields(cfg: RunConfig, source: str) -> None:
    """Checks that involve two fields at once."""
    p = cfg.plasticity
    if p.gate_min > p.gate_max:
        raise ConfigError(
            f"{source}: plasticity.gate_min ({p.gate_min:g}) must not exceed "
            f"plasticity.gate_max ({p.gate_max:g})"
        )


def _read_with_bases(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    check_file_size(path.stat().st_size, str(path))
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the file as UTF-8"
        ) from None
    try:
        raw = load_yaml(text, _StrictLoader, str(path))  # size, depth and alias limits
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(raw).__name__}")
    base = raw.pop(_BASE_KEY, None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path}: {_BASE_KEY}: expected a path string")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():  # not a file next to this one: a shipped config's name (`smoke/events`)
        base_path = resolve_config_path(base).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: {_BASE_KEY}: circular reference to {base_path}")
    merged = _read_with_bases(base_path, (*seen, base_path))
    return _deep_merge(merged, raw)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _apply_override(raw: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected section.key=value")
    dotted, text = item.split("=", 1)
    parts = dotted.strip().split(".")
    if len(parts) < 2 or not all(parts):
        raise ConfigError(f"--set {item}: expected section.key=value")
    value = override_value(text, item)
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def dotted_keys(cls: type = RunConfig, prefix: str = "") -> list[str]:
    """Every leaf key of a config dataclass as `section.key` (`optim.lr`, `data.root`, ...)."""
    keys = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(tp):
            keys.extend(dotted_keys(tp, f"{prefix}{f.name}."))
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _suggest(key: str, valid: typing.Iterable[str], dotted: str = "") -> str:
    """The hint after "unknown key": the same key in another section first (`train.lr` -> `optim.lr`),
    else the closest key of this section, else the section's keys."""
    elsewhere = [d for d in dotted_keys() if d.rsplit(".", 1)[-1] == key and d != dotted]
    if elsewhere:
        return f"; did you mean {' or '.join(elsewhere)}?"
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    if match:
        return f"; did you mean {dotted.removesuffix(key)}{match[0]}?"
    anywhere = difflib.get_close_matches(key, [d.rsplit(".", 1)[-1] for d in dotted_keys()], n=1, cutoff=0.8)
    if anywhere:
        full = [d for d in dotted_keys() if d.rsplit(".", 1)[-1] == anywhere[0]]
        return f"; did you mean {' or '.join(full)}?"
    return f"; valid keys: {', '.join(sorted(valid))}"


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *marks = get_args(tp)
        return " ".join([_type_name(inner), *(str(m) for m in marks)])
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_name(args[0])}"
        return f"list of {len(args)} ({', '.join(_type_name(a) for a in args)})"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, *, source: str, dotted: str) -> Any:
    def fail() -> typing.NoReturn:
        got = type(value).__name__
        raise ConfigError(f"{source}: {dotted}: expected {_type_name(tp)}, got {got} {value!r}")

    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        inner, *marks = get_args(tp)
        if isinstance(value, (list, tuple)):  # lengths first: they explain a wrong element count best
            for mark in marks:
                if isinstance(mark, Length) and len(value) not in mark.allowed:
                    raise _RangeError(f"{source}: {dotted}: expected {mark}, got {len(value)}: {value!r}")
        out = _convert(value, inner, source=source, dotted=dotted)
        for mark in marks:
            if isinstance(mark, Range) and out not in mark:
                raise _RangeError(f"{source}: {dotted}: must be {mark}, got {out!r}")
        return out
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            fail()
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, source=source, dotted=dotted)
            except _RangeError:
                raise
            except ConfigError:
                continue
        fail()
    if origin is Literal:
        if isinstance(value, bool):  # YAML 1.1 reads off/no/on/yes as booleans
            spelled = [a for a in get_args(tp) if isinstance(a, str) and a.lower() in _YAML_BOOL_WORDS[value]]
            if len(spelled) == 1:
                return spelled[0]
            fail()
        if value in get_args(tp):
            return value
        fail()
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            fail()
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                _convert(v, args[0], source=source, dotted=f"{dotted}[{i}]") for i, v in enumerate(value)
            )
        if len(value) != len(args):
            fail()
        pairs = enumerate(zip(value, args))
        return tuple(_convert(v, a, source=source, dotted=f"{dotted}[{i}]") for i, (v, a) in pairs)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            fail()
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source=source, prefix=f"{dotted}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
        fail()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        fail()
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # PyYAML reads "5e-4" as a string
            try:
                number = float(value)
            except ValueError:
                fail()
        if number is None:
            fail()
        if not math.isfinite(number):
            raise _RangeError(f"{source}: {dotted}: must be a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        fail()
    raise ConfigError(f"{source}: {dotted}: unsupported annotation {tp!r}")  # pragma: no cover
