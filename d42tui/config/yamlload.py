"""Reading the config's YAML: syntax errors with their line, and a key given twice is an error.

PyYAML keeps the last of two equal keys without a word; in a failover config that is a
setting silently lost, so the mapping nodes are checked before they are built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .messages import format_loc

_MERGE_TAG = "tag:yaml.org,2002:merge"


def duplicate_keys(root: yaml.Node) -> list[str]:
    """`key.path: given twice, on lines 5 and 9…` for each key written more than once."""
    out: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())]
    while stack:  # iterative: a hostile file may nest deeper than Python recurses
        node, loc = stack.pop()
        if id(node) in seen:
            continue  # an alias: its anchor was looked at already
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        lines: dict[str, list[int]] = {}
        for key, value in node.value:
            if key.tag == _MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                continue  # keys a merge (`<<: *base`) brings in may be overridden on purpose
            lines.setdefault(key.value, []).append(key.start_mark.line + 1)
            stack.append((value, (*loc, key.value)))
        for name, where in lines.items():
            if len(where) > 1:
                times = "twice" if len(where) == 2 else f"{len(where)} times"
                listed = ", ".join(map(str, where[:-1])) + f" and {where[-1]}"
                out.append(f"{format_loc((*loc, name))}: given {times}, on lines {listed} "
                           "(only the last would count): keep one")
    return sorted(out)


def read_yaml(text: str, path: Path) -> Any:
    """The document in `text`; ConfigError naming `path` for bad syntax or a repeated key."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # its reader already refuses some characters
        node = loader.get_single_node()
        if node is None:
            return None
        if problems := duplicate_keys(node):
            raise ConfigError([f"{path}: {p}" for p in problems])
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = (exc.problem or exc.context or "syntax error").strip()
        raise ConfigError([f"{path}: {where}: YAML syntax error: {problem}"]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise ConfigError([f"{path}: YAML error: {exc.__class__.__name__}"]) from None
    finally:
        if loader is not None:
            loader.dispose()
