"""Reading one file over http(s) so that a hostile or broken server cannot hurt the host: a total
deadline per file (headers, body and every redirect hop), a byte bound checked while the body
streams in, and redirects followed only within the file's origin."""
from __future__ import annotations

import contextvars
import socket
import threading
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter

from engine.errors import UnsafePathError, WeightsError
from engine.io.fetch import origin_of, too_long

HTTP_TIMEOUT_S = 60  # the longest a server may stay silent: connecting, or between two packets
MAX_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024


def read_url(url: str, headers: dict[str, str], max_bytes: int, deadline_s: float, bound_note: str) -> bytes:
    """The body of `url`, or a WeightsError naming it (UnsafePathError for a cross-origin redirect)."""
    with _Deadline(deadline_s) as deadline, requests.Session() as session:
        adapter = _DeadlineAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            body = _follow(session, url, headers, max_bytes, bound_note, connect_s=min(HTTP_TIMEOUT_S, deadline_s))
        except (WeightsError, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            if deadline.expired:  # whatever broke, it broke because the deadline cut the connection
                raise _past_deadline(url, deadline_s) from None
            if isinstance(error, WeightsError):
                raise
            raise WeightsError(f"cannot fetch {url}: {error}") from None
        if deadline.expired:  # a body without a length ends quietly when its connection is cut
            raise _past_deadline(url, deadline_s)
        return body


def _past_deadline(url: str, deadline_s: float) -> WeightsError:
    return WeightsError(f"{url} was not received within {deadline_s:g} s "
                        f"(engine.io.Limits.http_deadline_s, TFGL_HTTP_DEADLINE_S)")


def _follow(session: requests.Session, url: str, headers: dict[str, str], max_bytes: int, bound_note: str,
            connect_s: float) -> bytes:
    current, seen = url, {url}
    for _ in range(MAX_REDIRECTS + 1):
        with session.get(current, headers=headers, stream=True, allow_redirects=False,
                         timeout=(connect_s, HTTP_TIMEOUT_S)) as response:
            if response.status_code not in _REDIRECT_CODES:
                if response.status_code != 200:
                    via = f" (redirected to {current})" if current != url else ""
                    raise WeightsError(f"cannot fetch {url}: HTTP {response.status_code}{via}")
                return _read_body(response, url, max_bytes, bound_note)
            target = _redirect_target(response, url, current)
        if target in seen:
            raise WeightsError(f"cannot fetch {url}: redirect loop ({current} redirects back to {target})")
        seen.add(target)
        current = target
    raise WeightsError(f"cannot fetch {url}: more than {MAX_REDIRECTS} redirects")


def _redirect_target(response: requests.Response, url: str, current: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise WeightsError(f"cannot fetch {url}: HTTP {response.status_code} without a Location")
    target = urljoin(current, location).split("#", 1)[0]
    if origin_of(target) != origin_of(url):
        raise UnsafePathError(f"cannot fetch {url}: it redirects to {target}, another origin; "
                              f"redirects are followed only within the model's origin")
    return target


def _read_body(response: requests.Response, url: str, max_bytes: int, bound_note: str) -> bytes:
    # Content-Length counts the bytes on the wire: it bounds the body only when nothing decompresses it
    encoded = response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
    declared = None if encoded else _content_length(response)
    if declared is not None and declared > max_bytes:
        raise too_long(url, f"has a Content-Length of {declared} bytes", max_bytes, bound_note)
    body = bytearray()
    for chunk in response.iter_content(_CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:  # stop here: an endless body costs at most one chunk more
            raise too_long(url, f"sent at least {len(body)} bytes", max_bytes, bound_note)
    if declared is not None and len(body) != declared:
        raise WeightsError(f"{url}: the body has {len(body)} bytes but its Content-Length says {declared}")
    return bytes(body)


def _content_length(response: requests.Response) -> int | None:
    text = response.headers.get("Content-Length", "")
    return int(text) if text.strip().isdigit() else None


# -- the deadline ---------------------------------------------------------------------------------

class _Deadline:
    """Once `seconds` have passed, shuts down every connection opened while it is active: a read
    blocked on a server that sends a byte now and then (headers, TLS handshake or body) ends at once."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._token = _active_deadline.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _active_deadline.reset(self._token)
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the connection: it outlives the TLS wrapping (which detaches the original)
        # and is this object's own to shut down and close, whatever happens to the original.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread: its recv returns at once
    except OSError:  # already closed by the server
        pass


_active_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar("tfgl_http_deadline",
                                                                                   default=None)


class _WatchedConnection:
    """Hands each new connection's socket to the active deadline, before any byte is read from it."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        deadline = _active_deadline.get()
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _HTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter, its connections (direct or through an http(s) proxy) watched by the deadline."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # a SOCKS proxy brings its own connections
            manager.pool_classes_by_scheme = _POOLS
        return manager
