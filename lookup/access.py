"""Who may read which features: API keys mapped to sensitivity levels and views.

Keys are stored only as SHA-256 hex digests, in a JSON file (``FEATURESTORE_API_KEYS_FILE``)
or an environment variable (``FEATURESTORE_API_KEYS``, the same JSON; in Lambda a
template parameter)::

    {"keys": [{"name": "fraud-model", "sha256": "<hex of the key>",
               "sensitivities": ["public", "internal"], "views": ["*"]}]}

With keys configured, a request without a valid ``x-api-key`` header gets 401 and a
feature above the key's rights 403 naming it. With no key configured at all (a laptop
running ``featurestore serve``), callers are anonymous and read public and internal
features of every view, never ``pii``. Every refusal is logged, with the key's name,
never the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from featurestore.contracts import SENSITIVITIES
from featurestore.errors import ProjectError, RequestError

log = logging.getLogger("featurestore.lookup.access")
HEADER = "x-api-key"
ANONYMOUS_LEVELS = frozenset({"public", "internal"})


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    name: str
    sensitivities: frozenset[str]
    views: frozenset[str] | None  # None: every view

    def denied(self, plans) -> list[str]:
        """The ``view:feature`` names of ``plans`` this grant may not read, with why."""
        refused = []
        for plan in plans:
            if self.views is not None and plan.view.name not in self.views:
                refused.extend(f"`{ref}` (view `{plan.view.name}` is not granted)"
                               for ref in plan.refs)
                continue
            refused.extend(f"`{ref}` (sensitivity {feature.sensitivity})"
                           for ref, feature in zip(plan.refs, plan.features, strict=True)
                           if feature.sensitivity not in self.sensitivities)
        return refused


ANONYMOUS = Grant("anonymous", ANONYMOUS_LEVELS, None)


class AccessPolicy:
    def __init__(self, grants: dict[str, Grant] | None):
        self.grants = grants  # sha256 -> grant; None: no keys configured (anonymous)

    @classmethod
    def from_config(cls, text: str | None, source: str) -> AccessPolicy:
        if text is None:
            return cls(None)
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ProjectError(f"{source}: API keys are not valid JSON ({exc})") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ProjectError(f'{source}: expected {{"keys": [{{"name", "sha256", '
                               '"sensitivities", "views"}]}')
        grants = {}
        for index, entry in enumerate(entries):
            where = f"{source}, keys[{index}]"
            if not isinstance(entry, dict):
                raise ProjectError(f"{where}: expected an object")
            digest = str(entry.get("sha256", "")).lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ProjectError(f"{where}, field `sha256`: expected the 64-character hex "
                                   "SHA-256 of the key (python -c \"import hashlib; print("
                                   "hashlib.sha256(b'KEY').hexdigest())\")")
            levels = entry.get("sensitivities", ["public"])
            bad = [x for x in levels if x not in SENSITIVITIES] if isinstance(levels, list) \
                else [levels]
            if bad:
                raise ProjectError(f"{where}, field `sensitivities`: {bad[0]!r} is not one of "
                                   f"{', '.join(SENSITIVITIES)}")
            views = entry.get("views", ["*"])
            if not isinstance(views, list) or not all(isinstance(v, str) for v in views):
                raise ProjectError(f"{where}, field `views`: expected a list of view names "
                                   "or [\"*\"]")
            name = str(entry.get("name") or f"key-{index}")
            grants[digest] = Grant(name, frozenset(levels),
                                   None if "*" in views else frozenset(views))
        return cls(grants)

    @classmethod
    def from_settings(cls, lookup, project_file: Path | None = None) -> AccessPolicy:
        """FEATURESTORE_API_KEYS (JSON), else the file FEATURESTORE_API_KEYS_FILE names or
        ``project_file``, else anonymous access. ``lookup`` is ``Settings.lookup``."""
        if lookup.api_keys:
            return cls.from_config(lookup.api_keys, "FEATURESTORE_API_KEYS")
        if lookup.api_keys_file is not None:
            if not lookup.api_keys_file.exists():
                raise ProjectError(f"{lookup.api_keys_file}: FEATURESTORE_API_KEYS_FILE names "
                                   "a file that does not exist")
            return cls.from_config(lookup.api_keys_file.read_text(),
                                   str(lookup.api_keys_file))
        if project_file is not None and project_file.exists():
            return cls.from_config(project_file.read_text(), str(project_file))
        return cls(None)

    def authenticate(self, key: str | None, request_id: str, path: str) -> Grant:
        if self.grants is None:
            return ANONYMOUS
        if not key:
            self._deny(401, "no API key", None, request_id, path)
            raise RequestError(f"missing API key: send it in the `{HEADER}` header",
                                     status=401)
        grant = self.grants.get(hash_key(key))
        if grant is None:
            self._deny(401, "unknown API key", None, request_id, path)
            raise RequestError(f"unknown API key: the `{HEADER}` header matches no "
                                     "configured key", status=401)
        return grant

    def authorize(self, grant: Grant, plans, request_id: str, path: str) -> None:
        refused = grant.denied(plans)
        if refused:
            self._deny(403, "feature not granted", grant.name, request_id, path, refused)
            raise RequestError(
                f"API key `{grant.name}` may not read {', '.join(refused)}; ask for a key "
                "granted that sensitivity or view, or leave the feature out", status=403)

    @staticmethod
    def _deny(status, reason, key_name, request_id, path, features=None) -> None:
        log.warning(json.dumps({"event": "access_denied", "status": status, "reason": reason,
                                "key": key_name, "request_id": request_id, "path": path,
                                "features": features or []}))
