"""The one error family of featurestore.

Every error a user can cause is a ``FeatureStoreError``; the CLI turns them into a
short message at the top and nothing else. Each error builds its message from its own
arguments so that the message always names the file, the field or the key, and the fix.

    FeatureStoreError
    ├── ContractError            a contract YAML is malformed or inconsistent
    ├── PlanRefused              a breaking change without a new version
    ├── ProjectError             the dbt project, profiles or generated files are off
    ├── WarehouseError           the warehouse refused a query or lacks a relation
    ├── SpineError               a training spine cannot be joined
    ├── OnlineStoreError         DynamoDB is unreachable or refused a write
    │   └── BadValueError        a value DynamoDB cannot hold
    ├── LookupRequestError       a lookup request names an unknown thing (HTTP 400)
    ├── GateFailed               a quality gate failed
    └── MissingExtraError        an optional dependency is not installed
"""

from __future__ import annotations


class FeatureStoreError(Exception):
    """Root of every error featurestore raises on purpose."""


class ContractError(FeatureStoreError):
    """A contract is wrong; the message says where (file:line, field) and how to fix it."""

    def __init__(self, path: str, problem: str, *, line: int | None = None, field: str = ""):
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{path}:{line}" if line else path
        if field:
            where += f", field `{field}`"
        super().__init__(f"{where}: {problem}")


class PlanRefused(FeatureStoreError):
    """One or more breaking changes were made without bumping the view's version."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ProjectError(FeatureStoreError):
    """The project layout, profiles or generated files are not what featurestore needs."""


class WarehouseError(FeatureStoreError):
    """A warehouse query failed or a relation is missing."""


class SpineError(FeatureStoreError):
    """A training spine is missing a column, has the wrong types or mixes time zones."""

    def __init__(self, path: str, problem: str):
        self.path = path
        super().__init__(f"{path}: {problem}")


class OnlineStoreError(FeatureStoreError):
    """The online store (DynamoDB) is unreachable, misconfigured or refused a write."""


class BadValueError(OnlineStoreError):
    """A feature value that DynamoDB cannot hold or that breaks its contract."""

    def __init__(self, view: str, key: dict, feature: str, problem: str):
        self.view, self.key, self.feature = view, key, feature
        keys = ", ".join(f"{k}={v!r}" for k, v in key.items())
        super().__init__(f"view `{view}`, entity {keys}, feature `{feature}`: {problem}")


class LookupRequestError(FeatureStoreError):
    """A lookup request is malformed or names an unknown entity, view or feature."""

    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


class GateFailed(FeatureStoreError):
    """A quality gate failed; the message lists the failing expectations."""


class MissingExtraError(FeatureStoreError):
    """An optional dependency is missing; the message says which `pip install` to run."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the `{package}` package. "
            f"Install it with: pip install 'featurestore[{extra}]'"
        )
