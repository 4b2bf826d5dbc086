"""The one error family of featurestore, and the exit code each kind of error means.

Every error a user can cause is a ``FeatureStoreError``; the CLI turns them into one
short message and the error's ``exit_code`` at the top, and nothing else. Each error
builds its message from its own arguments so that the message always names the file,
the field or the key, and the fix. The exit codes let a CI job tell a failing check
from an unreachable service (the README has the table)::

    exit 1  FeatureStoreError        a usage, contract or project error (the default)
            ├── ContractError            a contract YAML is malformed or inconsistent
            ├── ProjectError             the dbt project, profiles or generated files
            ├── SpineError               a training spine cannot be joined
            ├── WarehouseError           the warehouse refused a query or lacks a relation
            ├── OnlineStoreError         DynamoDB refused a request or is misconfigured
            │   └── BadValueError        a value DynamoDB cannot hold
            ├── RequestError             a request (CLI, SDK, lookup) is malformed or names
            │                            an unknown entity, view or feature (HTTP 4xx)
            ├── VersionUnavailable       the serving pointer names a version this lookup
            │                            does not know, or a retired one (HTTP 503)
            └── MissingExtraError        an optional dependency is not installed
    exit 2  CheckFailed              a check or a gate ran and said no
            ├── PlanRefused              a breaking change without a new version
            ├── ValidationFailed         contracts and built models disagree; dbt tests
            └── GateFailed               a quality gate failed
    exit 3  Unreachable              a service featurestore needs does not answer
            ├── WarehouseUnreachable     (also a WarehouseError)
            └── StoreUnavailable         DynamoDB (also an OnlineStoreError); the lookup
                                         serves defaults instead of failing

Two errors take their exit code from their causes, the highest among them:
``SyncIncomplete``, a sync that published some views but not others (a view's bad value
1, a gate that failed 2), and ``CycleFailed``, a cycle of ``featurestore run`` (a build
that failed 1, a view held back by a gate or a dbt test 2, a store that did not answer 3).
"""

from __future__ import annotations

USAGE, CHECK_FAILED, UNREACHABLE = 1, 2, 3


class FeatureStoreError(Exception):
    """Root of every error featurestore raises on purpose."""

    exit_code = USAGE


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
    """The online store (DynamoDB) refused a request or is misconfigured."""


class BadValueError(OnlineStoreError):
    """A feature value that DynamoDB cannot hold or that breaks its contract."""

    def __init__(self, view: str, key: dict, feature: str, problem: str):
        self.view, self.key, self.feature, self.problem = view, key, feature, problem
        keys = ", ".join(f"{k}={v!r}" for k, v in key.items())
        super().__init__(f"view `{view}`, entity {keys}, feature `{feature}`: {problem}")


class RequestError(FeatureStoreError):
    """A request (a CLI argument, an SDK call, a lookup over HTTP) is malformed or names
    an unknown entity, view or feature; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400):
        self.status = status
        super().__init__(message)


class VersionUnavailable(FeatureStoreError):
    """A lookup cannot serve a view: its serving pointer (DynamoDB) names a version whose
    contract this lookup was not deployed with, or a retired one. Never answered with
    another version's values or defaults; HTTP 503, because the request is right and the
    deployment is behind (a 4xx would blame the caller and miss the 5xx alarms)."""

    status = 503

    def __init__(self, view: str, served: int, known: list[int], problem: str, fix: str):
        self.view, self.served, self.known = view, served, sorted(known)
        self.problem, self.fix = problem, fix
        super().__init__(f"feature view `{view}`: {problem}. {fix}")

    def details(self) -> dict:
        """The error's fields for a JSON body."""
        return {"view": self.view, "served_version": self.served,
                "known_versions": self.known, "fix": self.fix}


class MissingExtraError(FeatureStoreError):
    """An optional dependency is missing; the message says which `pip install` to run."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the `{package}` package. "
            f"Install it with: pip install 'featurestore[{extra}]'"
        )


# -- exit 2: a check ran and said no ---------------------------------------------------
class CheckFailed(FeatureStoreError):
    """A check or a gate ran to the end and found problems."""

    exit_code = CHECK_FAILED


class PlanRefused(CheckFailed):
    """One or more breaking changes were made without bumping the view's version."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ValidationFailed(CheckFailed):
    """Contracts, generated files and built models disagree, or dbt's tests failed."""


class GateFailed(CheckFailed):
    """A quality gate failed; the message lists the failing expectations."""


# -- exit 3: a service does not answer --------------------------------------------------
class Unreachable(FeatureStoreError):
    """A warehouse or online store that featurestore needs cannot be reached."""

    exit_code = UNREACHABLE


class WarehouseUnreachable(Unreachable, WarehouseError):
    """The warehouse cannot be opened or connected to."""


class StoreUnavailable(Unreachable, OnlineStoreError):
    """DynamoDB does not answer (or not within the deadline); a lookup degrades to
    defaults, a sync stops and records the failure."""


# -- a code from its causes ------------------------------------------------------------
class SyncIncomplete(FeatureStoreError):
    """Some views of a sync were not published (a bad value, a failed gate) while the
    others were; ``exit_code`` is the highest among the causes, ``run`` the sync's
    results when the sync attached them."""

    def __init__(self, message: str, exit_code: int = USAGE):
        self.exit_code = exit_code
        self.run = None
        super().__init__(message)


class CycleFailed(FeatureStoreError):
    """A cycle of the loop that did not do all its work: a build failed, a gate or a dbt
    test held a view back, a view did not sync. Recorded as a failed cycle;
    ``exit_code`` is the highest among the causes (what ``run --once`` leaves with)."""

    def __init__(self, message: str, exit_code: int = USAGE):
        self.exit_code = exit_code
        super().__init__(message)
