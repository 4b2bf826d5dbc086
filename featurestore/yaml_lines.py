"""YAML loading that remembers where every key was written.

Contract errors must name the line a user has to fix; PyYAML knows the line while
composing and forgets it while constructing. This loader keeps it.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class LineDict(dict):
    """A mapping that also knows the line (1-based) of each key and of itself."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key `{key}`", problem_mark=key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def load_yaml(path: Path, display: str):
    """Parse ``path``; a syntax error becomes a ContractError at its line."""
    from featurestore.errors import ContractError

    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ContractError(display, f"invalid YAML: {exc.problem}", line=line) from None
    except OSError as exc:
        raise ContractError(display, f"cannot read the file: {exc.strerror}") from None
