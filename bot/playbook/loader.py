"""Read a playbook file into a `Playbook`, or say exactly what is wrong with it and where.

A playbook is edited by hand, so its errors must point at the line to fix. PyYAML and
pydantic each know half of that: PyYAML knows lines but not the schema, pydantic knows the
schema but reports a `loc` path. This module composes the YAML node tree, records the line
of every mapping key and sequence item by path, and maps each pydantic error's `loc` back
to a line. It also catches what PyYAML lets through silently (duplicate keys, where the
last one would win) and what would hurt before parsing (missing or huge files).

The result is all or nothing: `load_playbook` either returns a whole, validated `Playbook`
or raises `PlaybookError` with one line per problem; it never returns a partial one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.errors import PlaybookError
from bot.playbook.model import BUILT_IN_ROLES, ROLE_NAME_PATTERN, Playbook, unused_role

DEFAULT_PLAYBOOK: Path = Path(__file__).with_name("default.yml")
MAX_BYTES = 1024 * 1024
# Aliases can make a small file expand enormously ("billion laughs"); no real playbook has
# anywhere near this many nodes.
_MAX_NODES = 200_000

ROLE_NAME = re.compile(ROLE_NAME_PATTERN)
# libyaml's parser when PyYAML was built with it (the wheels are): the same nodes, marks
# and errors as the pure-Python one, about ten times faster (a 1 MB playbook of 20,000
# members took 4 s to read, which every replica pays at start-up).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PathKey = str | int
_Loc = tuple[_PathKey, ...]


def load_playbook(path: Path) -> Playbook:
    """Load and validate the playbook file at `path`.

    Args:
        path: the YAML file to read.

    Returns:
        The validated playbook.

    Raises:
        PlaybookError: if the file is missing, unreadable, too large, not valid YAML or not
            a valid playbook; each problem names file, line and field.
    """
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PlaybookError(
            [f"{source}: no such file (set PLAYBOOK_PATH or pass an existing file)"]
        ) from None
    except OSError as exc:
        raise PlaybookError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    if path.is_dir():
        raise PlaybookError([f"{source}: is a directory, not a playbook file"])
    if size > MAX_BYTES:
        raise PlaybookError([_too_large(source, size)])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlaybookError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlaybookError([f"{source}:{line}: not UTF-8 text ({exc.reason})"]) from None
    return load_playbook_text(text, source)


def load_playbook_text(text: str, source: str) -> Playbook:
    """Validate playbook YAML given as text.

    Args:
        text: the YAML document.
        source: the name to use in problem messages (usually the file name).

    Returns:
        The validated playbook.

    Raises:
        PlaybookError: if the text is too large, not valid YAML or not a valid playbook.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise PlaybookError([_too_large(source, size)])

    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PlaybookError(
                [
                    f"{source}:1: the file is empty; a playbook is a mapping with cio_channel,"
                    " roles, groups and conversations"
                ]
            )
        index = _NodeIndex(source)
        index.walk(root, ())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise PlaybookError([_yaml_problem(source, exc)]) from None
    except yaml.YAMLError as exc:  # errors without a position
        raise PlaybookError([f"{source}: not valid YAML: {exc}"]) from None
    except RecursionError:
        raise PlaybookError([f"{source}: the YAML is nested too deeply"]) from None
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({data!r:.40})"
        raise PlaybookError(
            [
                f"{source}:{root.start_mark.line + 1}: the top level must be a mapping with"
                f" cio_channel, roles, groups and conversations (got {kind})"
            ]
        )

    problems = list(index.duplicates)
    context: dict[str, Any] = {}
    groups = data.get("groups")
    if isinstance(groups, dict):
        context["group_keys"] = set(groups)
    roles = data.get("roles")
    if isinstance(roles, dict):  # `cio` and `admins` are role names even when left out
        own = sorted(
            {k for k in roles if isinstance(k, str) and ROLE_NAME.match(k)} - set(BUILT_IN_ROLES)
        )
        context["role_names"] = [*BUILT_IN_ROLES, *own]
    try:
        playbook = Playbook.model_validate(data, context=context or None)
    except ValidationError as exc:
        problems.extend(index.describe(err) for err in _root_causes(exc.errors(include_url=False)))
        raise PlaybookError(problems) from None
    for name in playbook.unused_roles():
        line = index.line_of(("roles", name))
        problems.append(f"{source}:{line}: roles.{name}: {unused_role(name)}")
    if problems:
        raise PlaybookError(problems)
    return playbook


def _root_causes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "too short after validation" errors caused by the failing items beneath them."""

    def has_failing_child(loc: tuple[Any, ...]) -> bool:
        return any(tuple(e["loc"][: len(loc)]) == loc and len(e["loc"]) > len(loc) for e in errors)

    return [e for e in errors if not (e["type"] == "too_short" and has_failing_child(e["loc"]))]


def _too_large(source: str, size: int) -> str:
    return f"{source}: the file is {size:,} bytes; a playbook may be at most {MAX_BYTES:,} bytes"


def _yaml_problem(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = f"{mark.line + 1}" if mark is not None else "?"
    context = exc.context or ""
    if context and exc.context_mark is not None and exc.context_mark is not mark:
        context += f" (started at line {exc.context_mark.line + 1})"
    what = ", ".join(p for p in (context, exc.problem) if p) or "invalid YAML"
    return f"{source}:{line}: YAML syntax error: {what}"


class _NodeIndex:
    """Lines of the YAML nodes by path, and the duplicate keys found on the way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[_Loc, int] = {}
        self.duplicates: list[str] = []
        self._visited = 0
        self._constructor = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, path: _Loc) -> None:
        """Record the line of `node` and everything under it, at `path`."""
        self._visited += 1
        if self._visited > _MAX_NODES:
            raise yaml.YAMLError(f"more than {_MAX_NODES:,} nodes once aliases are expanded")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines.setdefault((*path, i), item.start_mark.line + 1)
                self.walk(item, (*path, i))
        elif isinstance(node, yaml.MappingNode):
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                    merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else []
                    for source_node in merged or [value_node]:
                        self.walk(source_node, path)
                    continue
                key = self._key(key_node)
                line = key_node.start_mark.line + 1
                if key in first_seen:
                    where = f"{_format_path(path)}: " if path else ""
                    self.duplicates.append(
                        f"{self.source}:{line}: {where}duplicate key {key!r}"
                        f" (first at line {first_seen[key]}; YAML would silently keep the last)"
                    )
                else:
                    first_seen[key] = line
                if not isinstance(key, str | int):
                    continue  # not addressable by pydantic; the schema will reject it
                self.lines.setdefault((*path, key), line)
                self.lines.setdefault((*path, key, "[key]"), line)
                self.walk(value_node, (*path, key))

    def _key(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._constructor.construct_object(node)
        return f"<{type(node).__name__} at line {node.start_mark.line + 1}>"

    def line_of(self, loc: Iterable[_PathKey]) -> int:
        """The line of the deepest node along `loc` that the YAML has (1 if none)."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def describe(self, err: ErrorDetails) -> str:
        """One problem line for a pydantic error: file, line, field path, message, input."""
        loc = tuple(err["loc"])
        line = self.line_of(loc)
        message = err["msg"].removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = f"key {message[0].lower()}{message[1:]}" if message else "bad key"
        value = err.get("input")
        if err["type"] != "missing" and isinstance(value, str | int | float | bool):
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
            if shown not in message:
                message = f"{message} (got {shown})"
        where = f"{_format_path(loc)}: " if loc else ""
        return f"{self.source}:{line}: {where}{message}"


def _format_path(loc: Iterable[_PathKey]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
