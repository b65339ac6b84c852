"""Reading model files from a path, a file:// URL or an http(s):// URL, and resolving weight paths
against the model's location without ever leaving its folder (symlinks included) or origin."""
from __future__ import annotations

import os
import stat
from urllib.parse import unquote, urljoin, urlparse, urlunparse

from engine.errors import UnsafePathError, WeightsError
from engine.io.limits import Limits

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https", "file")


def _local_path(location: str) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme in ("http", "https"):
        return None
    return location


def read_bytes(location: str, headers: dict[str, str] | None = None, *, max_bytes: int | None = None,
               deadline_s: float | None = None, bound_note: str = "") -> bytes:
    """The whole content of a local file or URL. A file past `max_bytes` (default
    Limits.max_tensor_bytes; `bound_note` says where the bound comes from), or a URL not received
    within `deadline_s` seconds (default Limits.http_deadline_s), is refused with a WeightsError
    naming it, having held at most one read chunk past the bound in memory."""
    limit = Limits.max_tensor_bytes if max_bytes is None else max_bytes
    path = _local_path(location)
    if path is not None:
        return _read_file(path, limit, bound_note)
    from engine.io import remote  # imports requests, which `import engine` does not need
    return remote.read_url(location, headers or {}, limit,
                           Limits.http_deadline_s if deadline_s is None else deadline_s, bound_note)


def too_long(location: str, received: str, max_bytes: int, bound_note: str) -> WeightsError:
    """The error for a file bigger than it may be; `received` says how big ("holds 9 bytes")."""
    return WeightsError(f"{location} {received}, more than {max_bytes}" + (f" ({bound_note})" if bound_note else ""))


def _read_file(path: str, max_bytes: int, bound_note: str) -> bytes:
    try:
        info = os.stat(path)
        # a FIFO would block the open, a device (/dev/zero) has no end
        if not stat.S_ISREG(info.st_mode):
            raise WeightsError(f"cannot read {path}: not a regular file")
        if info.st_size > max_bytes:
            raise too_long(path, f"holds {info.st_size} bytes", max_bytes, bound_note)
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)  # +1: a file growing since the stat is still caught
    except FileNotFoundError:
        raise WeightsError(f"file not found: {path}") from None
    except OSError as error:
        raise WeightsError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:  # a NUL inside the path
        raise WeightsError(f"cannot read {path!r}: {error}") from None
    if len(data) > max_bytes:
        raise too_long(path, f"holds more than {max_bytes} bytes", max_bytes, bound_note)
    return data


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
        if urlparse(base).scheme == "file":
            _refuse_symlink_escape(_local_path(base), _local_path(resolved), relative)
            return resolved
        if origin_of(resolved) != origin_of(base):
            raise UnsafePathError(f"weight path {relative!r} points to another origin than the model")
        query = urlparse(base).query
        if query and not urlparse(resolved).query:
            resolved += "?" + query
        return resolved
    resolved = os.path.join(base, *[p for p in parts if p not in ("", ".")])
    _refuse_symlink_escape(base, resolved, relative)
    return resolved


def _refuse_symlink_escape(folder: str, path: str, relative: str) -> None:
    """A weight file (or a folder on its way) that is a symlink must still land inside the model's
    folder; the folder itself may be a symlink, so both sides are compared resolved."""
    real_folder, real_path = os.path.realpath(folder), os.path.realpath(path)
    if os.path.commonpath([real_folder, real_path]) != real_folder:
        raise UnsafePathError(f"weight path {relative!r} resolves through a symlink to {real_path}, "
                              f"outside the model's folder {real_folder}")


def _is_windows_absolute(path: str) -> bool:
    return len(path) > 1 and path[1] == ":" and path[0].isalpha()


def origin_of(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one spelled out), as browsers compare origins."""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:  # a port that is not a number
        raise UnsafePathError(f"{url} has an invalid port") from None
    return parsed.scheme.lower(), (parsed.hostname or "").lower(), port or _DEFAULT_PORTS.get(parsed.scheme.lower())

