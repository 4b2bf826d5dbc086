"""``/catalog/``: the feature catalog's static files, served by ``featurestore serve``.

The lookup server knows nothing of how the catalog is made: it is given a folder
(``target/catalog/``, which ``featurestore catalog`` writes) and serves the files in it,
read at request time, so a rebuilt catalog is served at once. What it refuses, and why:

- any path that would leave the folder: ``..`` segments, encoded or not, a backslash, a
  NUL, an absolute path, a symbolic link pointing outside (the resolved path must stay
  under the resolved folder);
- any file type the catalog does not write (only ``.html``, ``.css``, ``.js``, ``.svg``,
  ``.png``, ``.json``, ``.txt``), and dotfiles;
- any method but GET and HEAD (405).

The catalog shows internal metadata and value distributions (never pii values), so it
is served to the requests that may read internal features of every view: anonymous
access where the server allows it (on loopback without keys, or ``--allow-anonymous``),
or an API key granted ``internal`` on every view. Answers carry their content type,
``nosniff`` and a Content-Security-Policy that allows nothing from elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from featurestore.errors import RequestError

PREFIX = "/catalog"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
    ".png": "image/png", ".json": "application/json", ".txt": "text/plain; charset=utf-8",
}
HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": ("default-src 'none'; style-src 'self'; script-src 'self'; "
                                "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"),
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
MAX_PATH_CHARS = 1024


def is_catalog_path(target: str) -> bool:
    path = urlsplit(target).path
    return path == PREFIX or path.startswith(PREFIX + "/")


def resolve(folder: Path, target: str) -> tuple[int, str | Path]:
    """(200, file) to serve for the request target ``target``; (301, location) for the
    bare ``/catalog``; (404, message) for anything else."""
    raw = urlsplit(target).path
    if raw == PREFIX:
        return 301, PREFIX + "/"
    relative = raw[len(PREFIX) + 1:]
    if len(relative) > MAX_PATH_CHARS:
        return 404, "no such catalog page"
    decoded = unquote(relative, errors="strict") if "%" in relative else relative
    parts = [p for p in decoded.split("/") if p]
    if ("\\" in decoded or "\x00" in decoded or any(p in (".", "..") for p in parts)
            or any(p.startswith(".") for p in parts)):
        return 404, "no such catalog page"
    if not folder.is_dir():
        return 404, ("no catalog has been built for this project yet; run `featurestore "
                     "catalog`, then reload")
    root = folder.resolve()
    path = root.joinpath(*parts) if parts else root
    if path.is_dir():
        path = path / "index.html"
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return 404, "no such catalog page"
    if not resolved.is_relative_to(root) or not resolved.is_file() \
            or resolved.suffix not in CONTENT_TYPES:
        return 404, "no such catalog page"
    return 200, resolved


def check_access(access, key: str | None, request_id: str, path: str) -> None:
    """RequestError (401 or 403) unless the request may read internal features of every
    view: what the catalog's pages show."""
    access.authorize_operations(key, request_id, path, "the catalog")


def answer(folder: Path, method: str, target: str, access, key: str | None,
           request_id: str) -> tuple[int, dict, bytes | None, str]:
    """(status, headers, file bytes or None, error message) for a catalog request."""
    if method not in ("GET", "HEAD"):
        return 405, {"allow": "GET, HEAD"}, None, f"{PREFIX}/ answers GET and HEAD, not {method}"
    try:
        check_access(access, key, request_id, urlsplit(target).path)
    except RequestError as exc:
        return exc.status, {}, None, str(exc)
    try:
        status, found = resolve(folder, target)
    except UnicodeDecodeError:
        return 404, {}, None, "no such catalog page"
    if status == 301:
        return 301, {"location": str(found)}, None, "moved to /catalog/"
    if status != 200:
        return status, {}, None, str(found)
    return 200, {"content-type": CONTENT_TYPES[found.suffix], **HEADERS}, \
        found.read_bytes(), ""
