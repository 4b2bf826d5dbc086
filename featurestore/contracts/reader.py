"""Field access on one YAML mapping of a contract, raising located ContractErrors.

Every loader reads its mapping through a ``FieldReader``, so that each problem names the
file, the line and the field the same way, whichever part of the contract it is in.
"""

from __future__ import annotations

from featurestore.contracts.rules import (
    IDENTIFIER,
    MAX_DURATION_DAYS,
    RESERVED_WORDS,
    suggest,
    text_problem,
)
from featurestore.durations import parse_duration
from featurestore.errors import ContractError
from featurestore.yaml_lines import LineDict


class FieldReader:
    """Field access on one YAML mapping that raises located ContractErrors."""

    def __init__(self, path: str, mapping: object, what: str, line: int | None = None):
        if not isinstance(mapping, dict):
            raise ContractError(path, f"{what} must be a mapping of fields", line=line)
        self.path = path
        self.mapping = mapping
        self.what = what

    def line(self, key: str | None = None) -> int | None:
        if isinstance(self.mapping, LineDict):
            return self.mapping.line_of(key) if key else self.mapping.line
        return None

    def error(self, key: str, problem: str) -> ContractError:
        return ContractError(self.path, problem, line=self.line(key), field=key)

    def check_fields(self, allowed: dict[str, bool], prefix: str = "") -> None:
        for key in self.mapping:
            if key not in allowed:
                shown = key if isinstance(key, str) and key.isprintable() else repr(key)
                raise ContractError(
                    self.path,
                    f"unknown field in {self.what}{suggest(key, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                    line=self.line(key),
                    field=f"{prefix}{shown}",
                )
        for key, required in allowed.items():
            if required and self.mapping.get(key) in (None, ""):
                raise ContractError(
                    self.path, f"{self.what} is missing the required field `{prefix}{key}`",
                    line=self.line(), field=f"{prefix}{key}",
                )

    def get(self, key: str, default=None):
        return self.mapping.get(key, default)

    def identifier(self, key: str, prefix: str = "", sql: bool = True) -> str:
        """A name; ``sql``: one the generated SQL writes bare, so no SQL keyword."""
        value = self.mapping.get(key)
        if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
            raise ContractError(
                self.path,
                f"{value!r} is not a valid name: use lowercase letters, digits and "
                f"underscores, starting with a letter",
                line=self.line(key), field=f"{prefix}{key}",
            )
        if sql and value in RESERVED_WORDS:
            raise ContractError(
                self.path,
                f"`{value}` is a reserved word of DuckDB or Snowflake SQL, which the "
                f"generated SQL cannot use as a name; rename it, e.g. `{value}_value`",
                line=self.line(key), field=f"{prefix}{key}",
            )
        return value

    def text(self, key: str, prefix: str = "", multiline: bool = False) -> str:
        value = self.mapping.get(key, "")
        if not isinstance(value, str):
            raise ContractError(
                self.path, f"expected text, got {value!r}", line=self.line(key),
                field=f"{prefix}{key}",
            )
        return self.clean(value, key, prefix, multiline).strip()

    def clean(self, value: str, key: str, prefix: str = "", multiline: bool = False) -> str:
        """``value`` when every character of it can be text in SQL, Jinja and YAML alike;
        else a ContractError naming the character."""
        problem = text_problem(value, multiline)
        if problem:
            raise ContractError(self.path, problem, line=self.line(key), field=f"{prefix}{key}")
        return value

    def duration(self, key: str) -> int | None:
        value = self.mapping.get(key)
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if seconds > MAX_DURATION_DAYS * 86400:
            fix = "leave `ttl` out for no expiry" if key == "ttl" else "shorten it"
            raise self.error(key, f"{value} is longer than {MAX_DURATION_DAYS}d (1000 years), "
                             f"the most a warehouse timestamp can take here; {fix}")
        return seconds

    def number(self, key: str, prefix: str, low=None, high=None) -> float | None:
        value = self.mapping.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(self.path, f"expected a number, got {value!r}",
                                line=self.line(key), field=f"{prefix}{key}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ContractError(self.path, f"expected a number from {low} to {high}, got "
                                f"{value!r}", line=self.line(key), field=f"{prefix}{key}")
        return float(value)
