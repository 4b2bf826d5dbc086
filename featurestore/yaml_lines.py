"""YAML loading that remembers where every key was written.

Contract errors must name the line a user has to fix; PyYAML knows the line while
composing and forgets it while constructing. This loader keeps it.
"""

from __future__ import annotations

import re
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
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.MarkedYAMLError(
                problem="a key must be a plain word, not a list or a mapping",
                problem_mark=key_node.start_mark,
            )
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

# libyaml's parser, where PyYAML was built with it: the same constructor and resolver (so
# the same values and key lines), about 13 times faster than the pure-Python reader,
# which counts when a catalog loads hundreds of contracts. A document it refuses is read
# again by the pure-Python loader, whose errors (and their wording) are the ones users see.
_FastLineLoader = None
if getattr(yaml, "__with_libyaml__", False):
    class _FastLineLoader(yaml.CSafeLoader):
        pass

    _FastLineLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
    )


def _parse(text: str):
    if _FastLineLoader is not None:
        try:
            return yaml.load(text, Loader=_FastLineLoader)
        except yaml.YAMLError:
            pass  # read again below, for the pure-Python reader's message and line
    return yaml.load(text, Loader=_LineLoader)


# Control characters other than tab and line ends, and Unicode's line separators.
_CONTROL = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029]")


def _line_at(text: str | bytes, position: int) -> int:
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, position) + 1


def load_yaml(path: Path, display: str):
    """Parse ``path``; a syntax error, bytes that are not UTF-8 or a character YAML
    does not allow (a raw control character) becomes a ContractError at its line."""
    from featurestore.errors import ContractError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContractError(display, f"cannot read the file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(
            display, f"byte 0x{data[exc.start]:02X} is not UTF-8; save the file as UTF-8",
            line=_line_at(data, exc.start)) from None
    # Checked here, not left to the YAML reader: it takes U+0085 and U+2028 for line
    # breaks (so its line numbers drift from the editor's), and names no line at all.
    found = _CONTROL.search(text)
    if found:
        raise ContractError(
            display, f"the control character U+{ord(found.group()):04X} is not allowed in a "
            "contract; remove it", line=_line_at(text, found.start())) from None
    try:
        return _parse(text)
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise ContractError(
            display, f"the character U+{ord(character):04X} is not allowed in YAML; remove it",
            line=_line_at(text, exc.position)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ContractError(display, f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise ContractError(display, f"invalid YAML: {exc}") from None
