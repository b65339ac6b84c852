"""Reading model files from a path, a file:// URL or an http(s):// URL, and resolving weight paths
against the model's location without ever leaving its folder or origin."""
from __future__ import annotations

import os
from urllib.parse import unquote, urljoin, urlparse, urlunparse

from engine.errors import UnsafePathError, WeightsError

HTTP_TIMEOUT_S = 60


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https", "file")


def _local_path(location: str) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme in ("http", "https"):
        return None
    return location


def read_bytes(location: str, headers: dict[str, str] | None = None) -> bytes:
    """The whole content of a local file or URL; raises WeightsError/TfglError with the location."""
    path = _local_path(location)
    if path is not None:
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            raise WeightsError(f"file not found: {path}") from None
        except OSError as error:
            raise WeightsError(f"cannot read {path}: {error.strerror}") from None
        except ValueError as error:  # a NUL inside the path
            raise WeightsError(f"cannot read {path!r}: {error}") from None
    import requests
    try:
        response = requests.get(location, headers=headers or {}, timeout=HTTP_TIMEOUT_S)
    except requests.RequestException as error:
        raise WeightsError(f"cannot fetch {location}: {error}") from None
    if response.status_code != 200:
        raise WeightsError(f"cannot fetch {location}: HTTP {response.status_code}")
    return response.content


def parent_of(location: str) -> str:
    """The folder (or URL prefix) that a model file's weight paths are relative to.

    An http(s) URL keeps its query, which every weight URL gets too (as TF.js does, for signed URLs)."""
    if is_url(location):
        parsed = urlparse(location)
        folder = parsed.path.rsplit("/", 1)[0] + "/"
        return urlunparse(parsed._replace(path=folder, params="", fragment="",
                                          query=parsed.query if parsed.scheme != "file" else ""))
    return os.path.dirname(os.path.abspath(location))


def resolve_weight_path(base: str, relative: str) -> str:
    """Joins a manifest path to the model's folder or URL, refusing anything that escapes it."""
    if not isinstance(relative, str) or not relative:
        raise UnsafePathError(f"weight path must be a non-empty string, got {relative!r}")
    if any(ord(c) < 32 or c == "\x7f" for c in unquote(relative)):
        raise UnsafePathError(f"weight path {relative!r} contains control characters")
    parsed = urlparse(relative)
    if parsed.scheme or parsed.netloc or relative.startswith(("/", "\\")) or _is_windows_absolute(relative):
        raise UnsafePathError(f"weight path {relative!r} is absolute; only paths relative to the model are allowed")
    parts = unquote(relative).replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafePathError(f"weight path {relative!r} contains '..'")
    if is_url(base):
        resolved = urljoin(base, relative)
        if _origin(resolved) != _origin(base):
            raise UnsafePathError(f"weight path {relative!r} points to another origin than the model")
        query = urlparse(base).query
        if query and not urlparse(resolved).query:
            resolved += "?" + query
        return resolved
    return os.path.join(base, *[p for p in parts if p not in ("", ".")])


def _is_windows_absolute(path: str) -> bool:
    return len(path) > 1 and path[1] == ":" and path[0].isalpha()


def _origin(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.scheme, parsed.netloc

