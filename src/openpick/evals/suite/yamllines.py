"""YAML that remembers where things were written, so every error can name its line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class LineDict(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


# libyaml's parser when PyYAML was built with it (several times faster on big suites),
# with the same safe constructor; the pure-Python parser otherwise.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    d = LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark) from None
        if key in d:  # PyYAML would keep the last one silently
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[key] = key_node.start_mark.line + 1
    return d


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(Exception):
    def __init__(self, problem: str, line: int | None):
        super().__init__(problem)
        self.problem, self.line = problem, line


def load(text: str) -> Any:
    """Parse YAML (safe: plain data only) into LineDicts; raises YamlError(problem, line)."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and cmark is not None and (mark is None or cmark.line != mark.line):
            problem += f" ({context} at line {cmark.line + 1})"
        raise YamlError(f"YAML error: {problem}", mark.line + 1 if mark else None) from None
    except RecursionError:  # absurdly deep nesting
        raise YamlError("YAML error: nested too deeply", None) from None
    except (ValueError, OverflowError) as e:  # e.g. a date that is no date, a 5,000-digit int
        raise YamlError(f"YAML error: {' '.join(str(e).split())[:200]}", None) from None


MAX_VALUES = 200_000  # a suite is rarely more than a few thousand values


def expanded_size(doc: Any, limit: int = MAX_VALUES) -> int:
    """How many values the document holds once YAML aliases are expanded (counting stops
    past `limit`): a few lines of anchors can stand for billions of values (an "alias
    bomb"), which validation would walk one by one."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = limit + 1  # a cycle counts as too big
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        sizes[id(node)] = total
        return total

    try:
        return size(doc)
    except RecursionError:
        return limit + 1


def line_of(m: Any, key: Any) -> int | None:
    return m.line_of(key) if isinstance(m, LineDict) else None


def locate(doc: Any, loc: Sequence[Any]) -> tuple[Any, int | None]:
    """Follow a path of keys and list indices into the parsed document: the value found
    there (None where the path leaves the document) and the line of the deepest place
    reached (a key's own line, else its mapping's line)."""
    line = doc.line if isinstance(doc, LineDict) else 1
    node: Any = doc
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.line_of(part) or line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, LineDict) and node.line:
                line = node.line
        else:
            return None, line
    return node, line
