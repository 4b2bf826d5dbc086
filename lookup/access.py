"""Who may read which features: API keys mapped to sensitivity levels and views.

Keys are stored only as SHA-256 hex digests, in a JSON file (``FEATURESTORE_API_KEYS_FILE``)
or an environment variable (``FEATURESTORE_API_KEYS``, the same JSON; in Lambda a
template parameter)::

    {"keys": [{"name": "fraud-model", "sha256": "<hex of the key>",
               "sensitivities": ["public", "internal"], "views": ["*"],
               "shadow": ["user_transactions@v2"]}]}

``shadow`` (optional): view versions read beside the served ones on every request of
that key, for the serving log only (as the ``shadow`` query parameter does per request).

A request without a valid ``x-api-key`` header gets 401 and a feature above the key's
rights 403 naming it. Anonymous access (no key: public and internal features of every
view, never ``pii``) is off unless turned on: ``FEATURESTORE_ALLOW_ANONYMOUS=true``
(deployed), or ``featurestore serve`` on a loopback address of a project without keys
(only this machine can call it). So a deployment whose keys were left empty refuses every
feature request instead of serving internal features to whoever finds its URL. Every
refusal is logged, with the key's name, never the key.

``create_key`` (``featurestore keys create``) makes a random key, shows it once and keeps
only its digest in the keys file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from featurestore.contracts import SENSITIVITIES
from featurestore.errors import ProjectError, RequestError
from featurestore.feature_refs import parse_view_version

log = logging.getLogger("featurestore.lookup.access")
HEADER = "x-api-key"
ANONYMOUS_LEVELS = frozenset({"public", "internal"})


def _is_view_version(text: object) -> bool:
    """Whether ``text`` is exactly ``view@vN`` (feature_refs.py, the one parser)."""
    if not isinstance(text, str):
        return False
    try:
        parse_view_version(text)
    except RequestError:
        return False
    return True


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    name: str
    sensitivities: frozenset[str]
    views: frozenset[str] | None  # None: every view
    shadow: tuple[str, ...] = ()  # "view@vN": versions read beside the served ones

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
    def __init__(self, grants: dict[str, Grant] | None, *, anonymous: bool | None = None):
        self.grants = grants  # sha256 -> grant; None: no keys configured
        # whether a request without a key is served, as ANONYMOUS; by default only when
        # no key is configured (what tests and a caller building a policy by hand expect;
        # from_settings decides it explicitly)
        self.anonymous = grants is None if anonymous is None else anonymous

    @property
    def locked(self) -> bool:
        """No key can be valid and anonymous access is off: every secured request is 401."""
        return not self.grants and not self.anonymous

    def accepts(self, key: str | None) -> bool:
        """Whether ``authenticate`` would let ``key`` in (without logging anything)."""
        if not key:
            return self.anonymous
        return self.grants is None or hash_key(key) in self.grants

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
            shadow = entry.get("shadow", [])
            if not isinstance(shadow, list) or not all(_is_view_version(v) for v in shadow):
                raise ProjectError(f"{where}, field `shadow`: expected a list of view "
                                   "versions like [\"user_transactions@v2\"]")
            name = str(entry.get("name") or f"key-{index}")
            grants[digest] = Grant(name, frozenset(levels),
                                   None if "*" in views else frozenset(views), tuple(shadow))
        return cls(grants)

    @classmethod
    def from_settings(cls, lookup, project_file: Path | None = None, *,
                      anonymous_without_keys: bool = False) -> AccessPolicy:
        """FEATURESTORE_API_KEYS (JSON), else the file FEATURESTORE_API_KEYS_FILE names or
        ``project_file``. ``lookup`` is ``Settings.lookup``.

        Anonymous access is on with FEATURESTORE_ALLOW_ANONYMOUS, or when no key is
        configured and the caller says so (``anonymous_without_keys``: ``featurestore
        serve`` on loopback); else a policy without keys refuses every secured request.
        """
        policy = cls._configured(lookup, project_file)
        policy.anonymous = bool(lookup.allow_anonymous or (
            anonymous_without_keys and policy.grants is None))
        if policy.grants is None and not policy.anonymous:
            policy.grants = {}
        return policy

    @classmethod
    def _configured(cls, lookup, project_file: Path | None) -> AccessPolicy:
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

    def describe(self) -> str:
        """One line for ``featurestore serve``: who may read."""
        keys = (f"{len(self.grants)} API key(s)" if self.grants else "no API key")
        if self.anonymous:
            return f"{keys}; requests without a key are anonymous (public and internal " \
                   "features, never pii)"
        return f"{keys}; requests without a valid key are refused (401)"

    def authenticate(self, key: str | None, request_id: str, path: str) -> Grant:
        if not key and self.anonymous:
            return ANONYMOUS
        if self.grants is None:  # no key configured, anonymous access on: any key is anonymous
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

    def authorize_operations(self, key: str | None, request_id: str, path: str,
                             what: str) -> Grant:
        """The grant of ``key`` if it may read internal features of every view, which is
        what the catalog and ``/metrics`` show (view names, lags, traffic); else a
        RequestError (401 without a valid key, 403 with a narrower one)."""
        grant = self.authenticate(key, request_id, path)
        if grant.views is not None or "internal" not in grant.sensitivities:
            self._deny(403, "operations not granted", grant.name, request_id, path)
            raise RequestError(f"API key `{grant.name}` may not read {what}: it shows "
                               "internal features of every view; use a key granted "
                               "`internal` on every view", status=403)
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


def create_key(path: Path, name: str, sensitivities: list[str],
               views: list[str] | None = None) -> str:
    """Make a random key granted ``sensitivities`` and ``views`` (None: every view), add
    its SHA-256 to the keys file at ``path`` (created if missing, readable by its owner
    only) and return the key: the one time it exists outside the caller's hands.

    The file keeps the other keys as they are; a name already in it is refused, so that a
    key is never replaced by mistake. Several ``keys create`` at once each keep their key:
    the read, the check and the write happen under an exclusive lock on ``.<name>.lock``
    beside the file (``flock``: it excludes other processes and other threads alike), and
    the file is replaced whole (written to a scratch file, then renamed over it), so a
    reader never sees half of it.
    """
    from featurestore.errors import RequestError

    bad = [level for level in sensitivities if level not in SENSITIVITIES]
    if bad or not sensitivities:
        raise RequestError(f"--grant: {bad[0] if bad else 'nothing'!r} is not a sensitivity; "
                           f"grant some of {', '.join(SENSITIVITIES)} (comma-separated)")
    if not name or not name.strip():
        raise RequestError("--name: give the key a name (it is logged with each refusal)")
    with _locked(path):
        document = {"keys": []}
        if path.exists():
            text = path.read_text()
            AccessPolicy.from_config(text, str(path))  # a broken file stops here, untouched
            document = json.loads(text)
        if any(entry.get("name") == name for entry in document["keys"]):
            raise RequestError(f"{path}: a key named `{name}` exists already; choose another "
                               "name (or remove that entry to retire the key)")
        key = secrets.token_urlsafe(32)
        document["keys"].append({"name": name, "sha256": hash_key(key),
                                 "sensitivities": sorted(set(sensitivities),
                                                         key=SENSITIVITIES.index),
                                 "views": sorted(set(views)) if views else ["*"]})
        _replace(path, json.dumps(document, indent=2) + "\n")
    return key


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``.<name>.lock`` beside ``path``, held while the body runs."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a scratch file (owner-only) beside ``path``, flush it to disk,
    and rename it over ``path``: the file is the old one or the new one, never a mix."""
    import tempfile

    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                           dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
