"""What every versions command checks in its arguments: the view version, who, why.

A reason is data: one line of printable text, kept whole up to ``MAX_REASON``
characters, because it is written into the serving pointer and the registry and shown
again by ``featurestore versions``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

from featurestore.contracts import FeatureView, text_problem
from featurestore.errors import RequestError
from featurestore.feature_refs import pick_version
from featurestore.project import Project

Say = Callable[[str], None]
MAX_REASON = 500  # characters of a reason kept in the pointer and the registry


def quiet(_line: str) -> None:
    pass


def who_of(project: Project, who: str | None) -> str:
    return who or project.settings.user or getpass.getuser()


def checked_reason(reason: str | None, command: str) -> str:
    """The reason as data: one line of printable text, kept whole up to MAX_REASON."""
    if not reason or not reason.strip():
        raise RequestError(f"{command} needs --reason: say why (it is recorded in the "
                           "registry with who and when)")
    problem = text_problem(reason)
    if problem:
        raise RequestError(f"--reason: {problem}")
    if len(reason) > MAX_REASON:
        raise RequestError(f"--reason is {len(reason):,} characters; keep it under "
                           f"{MAX_REASON}")
    return reason.strip()


def pick_view_version(project: Project, view_name: str, version: int) -> FeatureView:
    catalog = project.catalog()
    catalog.view(view_name)  # an unknown view: ContractError naming the closest
    return pick_version(catalog, view_name, version)
