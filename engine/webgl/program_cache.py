"""Linked program binaries on disk ($TFGL_CACHE/programs): a new process loads each program with
glProgramBinary instead of compiling and linking its GLSL again (~3 ms a program in Mesa's front end).

An entry is only good for the driver that wrote it. Its file name is the sha256 of the driver's
vendor, renderer and version strings and the full vertex and fragment source; the entry stores the
strings again, the binary format, lengths and a sha256 of everything before it, so a truncated,
corrupt, renamed or foreign entry is refused before the driver sees it. A binary the driver still
rejects (an updated driver) fails its link status: the program is compiled from source and the entry
written anew. Nothing here raises: any I/O error means one warning and no cache for the process.

Writes go to a temporary file in the same folder, then os.replace: processes filling the cache at once
need no lock, a reader sees a whole entry or none. Least recently used entries go first when the
folder passes TFGL_CACHE_MAX_MB (its own bound, as each driver cache has one; one driver is in use on
a machine, so $TFGL_CACHE holds at most about twice the bound): a hit touches its entry's mtime
(atime is unreliable under noatime/relatime mounts).
"""
from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"TFGLPRG\0"
VERSION = 1
_HEADER = struct.Struct("<8sIIIIII32s")  # magic, version, format, vendor/renderer/version/binary lengths, key
_DIGEST = 32
SUFFIX = ".bin"
TEMPORARY_SUFFIX = ".tmp"
EVICT_TO = 0.9   # eviction leaves the folder at this share of the bound, so the next writes don't evict again


@dataclass(frozen=True)
class Driver:
    vendor: str
    renderer: str
    version: str

    def encoded(self) -> tuple[bytes, bytes, bytes]:
        return self.vendor.encode(), self.renderer.encode(), self.version.encode()


def key(driver: Driver, vertex: str, fragment: str) -> bytes:
    digest = hashlib.sha256()
    for part in (*driver.encoded(), vertex.encode(), fragment.encode()):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()


def encode(entry_key: bytes, driver: Driver, binary_format: int, binary: bytes) -> bytes:
    strings = driver.encoded()
    body = _HEADER.pack(MAGIC, VERSION, binary_format, *(len(s) for s in strings), len(binary), entry_key) \
        + b"".join(strings) + binary
    return body + hashlib.sha256(body).digest()


@dataclass(frozen=True)
class Entry:
    key: bytes
    driver: Driver
    binary_format: int
    binary: bytes


def parse(data: bytes) -> Entry | None:
    """A whole, intact entry (magic, version, lengths and checksum right); None for anything else."""
    if len(data) < _HEADER.size + _DIGEST:
        return None
    magic, version, binary_format, *lengths, stored_key = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or len(data) != _HEADER.size + sum(lengths) + _DIGEST:
        return None
    body = data[:-_DIGEST]
    if hashlib.sha256(body).digest() != data[-_DIGEST:]:
        return None
    strings, offset = [], _HEADER.size
    for length in lengths[:3]:
        strings.append(body[offset:offset + length].decode(errors="replace"))
        offset += length
    return Entry(stored_key, Driver(*strings), binary_format, body[offset:])


def decode(data: bytes, entry_key: bytes, driver: Driver) -> tuple[int, bytes] | None:
    """(format, binary) of an intact entry of this key and driver; None for anything else."""
    entry = parse(data)
    if entry is None or entry.key != entry_key or entry.driver != driver:
        return None
    return entry.binary_format, entry.binary


class ProgramCache:
    """One process's view of the programs folder (shared by its threads)."""

    def __init__(self, folder: Path, limit_bytes: int):
        self.folder = folder
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._estimate: int | None = None   # bytes in the folder, as of the last scan plus what was written since

    def path(self, entry_key: bytes) -> Path:
        return self.folder / (entry_key.hex() + SUFFIX)

    def read(self, entry_key: bytes, driver: Driver) -> tuple[int, bytes] | None:
        """The entry's (format, binary), touched as recently used; None when missing or unusable."""
        if self._broken:
            return None
        path = self.path(entry_key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            self._fail(error)
            return None
        found = decode(data, entry_key, driver)
        if found is not None:
            try:
                os.utime(path)
            except OSError:  # another process replaced or evicted it meanwhile, or a read-only folder
                pass
        return found

    def write(self, entry_key: bytes, driver: Driver, binary_format: int, binary: bytes) -> None:
        if self._broken:
            return
        data = encode(entry_key, driver, binary_format, binary)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Not named *.bin: eviction by another process must not delete it before the replace.
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=TEMPORARY_SUFFIX)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(temporary, self.path(entry_key))
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as error:
            self._fail(error)
            return
        with self._lock:
            if self._estimate is None:
                self._estimate = self._scan_bytes()
            else:
                self._estimate += len(data)
            if self._estimate > self.limit_bytes:
                self._estimate = evict(self.folder, int(self.limit_bytes * EVICT_TO))

    def _scan_bytes(self) -> int:
        return sum(size for _, size, _ in _entries(self.folder))

    def _fail(self, error: OSError) -> None:
        with self._lock:
            if self._broken:
                return
            self._broken = error.strerror or str(error)
        warnings.warn(f"tfgl: program cache folder {self.folder} is not usable ({self._broken}); running without "
                      f"tfgl's program cache", RuntimeWarning, stacklevel=4)


def _entries(folder: Path) -> list[tuple[float, int, str]]:
    """(mtime, bytes, path) of each entry file."""
    found = []
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.name.endswith(SUFFIX):
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except OSError:  # evicted or replaced by another process meanwhile
                        continue
                    found.append((stat.st_mtime, stat.st_size, entry.path))
    except OSError:
        pass
    return found


def evict(folder: Path, target_bytes: int) -> int:
    """Deletes least recently used entries until the folder holds at most `target_bytes`; returns
    what it holds then. Another process evicting at the same time only makes some unlinks miss."""
    entries = sorted(_entries(folder))
    total = sum(size for _, size, _ in entries)
    for _, size, path in entries:
        if total <= target_bytes:
            break
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            break
        total -= size
    return total
