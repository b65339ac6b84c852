"""Where compiled shaders outlive the process: the GL drivers' own disk caches, pointed into $TFGL_CACHE,
and tfgl's linked program binaries beside them (program_cache.py).

llvmpipe JIT-compiles each fragment shader at its first draw, and a new process pays that again, so a
model's first call costs 15-70x its steady state. Mesa and NVIDIA keep compiled shaders on disk when
told where; this module tells them, before the process's first GL context, and reports and clears
what they wrote. What remains with a warm driver cache is GLSL compile and link in the driver's front
end, which the program binaries skip.

Environment:
  TFGL_CACHE=DIR          tfgl's cache root (default ~/.cache/tfgl); shaders go to DIR/shaders/<driver>,
                          program binaries to DIR/programs
  TFGL_PROGRAM_CACHE=0    no cache of tfgl's own: no program binaries, the drivers' cache variables left alone
  TFGL_PROGRAM_BINARIES=0 no program binaries, the driver caches kept (to measure what the binaries save)
  TFGL_CACHE_MAX_MB=N     size bound of each driver cache and of the program binaries (default 1024)

What tfgl sets (each only where the user has not set it; a user who set a driver's folder variable
keeps that whole driver cache to themselves):
  Mesa:   MESA_SHADER_CACHE_DIR, MESA_SHADER_CACHE_MAX_SIZE. A user's MESA_SHADER_CACHE_DISABLE
          is respected; tfgl never sets it (except `tfgl bench --no-cache`).
  NVIDIA: __GL_SHADER_DISK_CACHE=1, __GL_SHADER_DISK_CACHE_PATH, __GL_SHADER_DISK_CACHE_SIZE (bytes).
          __GL_SHADER_DISK_CACHE_SKIP_CLEANUP is left alone: it switches the size bound off.

When the drivers read them: Mesa when it creates its screen (the first EGL/GLX display a process
initializes), NVIDIA when its driver loads (also at the first context). Setting os.environ inside
the process works as long as it happens before that (checked on Mesa 22.3 llvmpipe: a variable set
after moderngl and libEGL were loaded still takes effect; a second context in the same process
keeps the first one's cache folder). A process that made a GL context before tfgl's first one has
its driver caches fixed already, and tfgl cannot redirect them.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import TfglError
from engine.settings import whole_number
from engine.webgl.program_cache import ProgramCache

ROOT_VARIABLE = "TFGL_CACHE"
SWITCH_VARIABLE = "TFGL_PROGRAM_CACHE"
LIMIT_VARIABLE = "TFGL_CACHE_MAX_MB"
DEFAULT_LIMIT_MB = 1024
BINARIES_VARIABLE = "TFGL_PROGRAM_BINARIES"
SHADER_SUBFOLDER = "shaders"
PROGRAM_SUBFOLDER = "programs"
OFF_VALUES = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Variable:
    """A driver variable tfgl sets, its value from (the driver's folder, the limit in MB), and the older
    names the driver also reads (a user's value under any of them wins)."""

    name: str
    value: Callable[[Path, int], str]
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class DriverCache:
    """One driver's disk cache: its subfolder of the shader folder and the variables that steer it."""

    name: str
    folder: Variable                 # set by the user: the whole cache is theirs, tfgl sets nothing for it
    variables: tuple[Variable, ...]  # what tfgl sets, folder included
    off: tuple[tuple[str, str], ...]  # what switches the cache off

    @property
    def names(self) -> list[str]:
        """Every variable of this cache tfgl knows, once each."""
        return list(dict.fromkeys([name for variable in self.variables for name in variable.names]
                                  + [name for name, _ in self.off]))


_MESA_FOLDER = Variable("MESA_SHADER_CACHE_DIR", lambda folder, mb: str(folder), ("MESA_GLSL_CACHE_DIR",))
_NVIDIA_FOLDER = Variable("__GL_SHADER_DISK_CACHE_PATH", lambda folder, mb: str(folder))
DRIVERS = (
    DriverCache("mesa", _MESA_FOLDER, (
        _MESA_FOLDER,
        Variable("MESA_SHADER_CACHE_MAX_SIZE", lambda folder, mb: f"{mb}M", ("MESA_GLSL_CACHE_MAX_SIZE",)),
    ), (("MESA_SHADER_CACHE_DISABLE", "true"),)),
    # NVIDIA's cache is off by default for root and its driver creates no folder but its default one:
    # tfgl switches it on and creates the folder.
    DriverCache("nvidia", _NVIDIA_FOLDER, (
        Variable("__GL_SHADER_DISK_CACHE", lambda folder, mb: "1"),
        _NVIDIA_FOLDER,
        Variable("__GL_SHADER_DISK_CACHE_SIZE", lambda folder, mb: str(mb * 2**20)),
    ), (("__GL_SHADER_DISK_CACHE", "0"),)),
)


class CacheError(TfglError):
    """The shader cache cannot be changed now, or its folder is not one tfgl can safely clear."""


def cache_root(environ: MutableMapping[str, str] = os.environ) -> Path:
    return Path(environ.get(ROOT_VARIABLE) or Path.home() / ".cache" / "tfgl")


def shader_folder(environ: MutableMapping[str, str] = os.environ) -> Path:
    return cache_root(environ) / SHADER_SUBFOLDER


def program_folder(environ: MutableMapping[str, str] = os.environ) -> Path:
    return cache_root(environ) / PROGRAM_SUBFOLDER


def enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """False when TFGL_PROGRAM_CACHE says off (0, false, no, off)."""
    return environ.get(SWITCH_VARIABLE, "1").strip().lower() not in OFF_VALUES


def binaries_enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Whether tfgl keeps program binaries: its cache on and TFGL_PROGRAM_BINARIES not off."""
    return enabled(environ) and environ.get(BINARIES_VARIABLE, "1").strip().lower() not in OFF_VALUES


def limit_mb(environ: MutableMapping[str, str] = os.environ) -> int:
    return whole_number(LIMIT_VARIABLE, DEFAULT_LIMIT_MB, minimum=1, unit="megabytes", environ=environ)


def user_settings(environ: MutableMapping[str, str] = os.environ) -> dict[str, list[str]]:
    """driver -> the 'VARIABLE=value' settings of its cache the user made (they win over tfgl's)."""
    settings = {}
    for driver in DRIVERS:
        ours = _applied or {}
        chosen = [f"{name}={environ[name]}" for name in driver.names
                  if name in environ and environ[name] != ours.get(name)]
        if chosen:
            settings[driver.name] = chosen
    return settings


def driver_variables(folder: Path, limit: int, environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """The variables tfgl would set: every driver's, less what the user already set."""
    wanted = {}
    for driver in DRIVERS:
        if any(name in environ for name in driver.folder.names):
            continue
        for variable in driver.variables:
            if not any(name in environ for name in variable.names):
                wanted[variable.name] = variable.value(folder / driver.name, limit)
    return wanted


# -- once per process, before the first context ------------------------------------------------------
_lock = threading.Lock()
_applied: dict[str, str] | None = None   # None until configure() ran: then what it set
_programs: ProgramCache | None = None    # the process's program binaries, once configure() found them usable


def configure() -> dict[str, str]:
    """Points the drivers' disk caches into $TFGL_CACHE/shaders and opens $TFGL_CACHE/programs; returns
    the variables it set.

    engine/webgl/context.py calls this before making each context; only the first call acts (the
    drivers read their variables once). A folder that cannot be created or written means one
    RuntimeWarning, no variables set (the drivers keep their own defaults) and no program binaries."""
    global _applied, _programs
    with _lock:
        if _applied is not None:
            return _applied
        _applied = {}
        if not enabled():
            return _applied
        folder, limit = shader_folder(), limit_mb()
        wanted = driver_variables(folder, limit)
        binaries = binaries_enabled()
        if not wanted and not binaries:
            return _applied
        folders = [folder / driver.name for driver in DRIVERS] if wanted else []
        folders += [program_folder()] if binaries else []
        failed, problem = _unwritable(folders)
        if problem:
            warnings.warn(f"tfgl: shader cache folder {failed} is not usable ({problem}); running without "
                          f"tfgl's shader cache (driver caches and program binaries)", RuntimeWarning, stacklevel=3)
            return _applied
        if binaries:
            _programs = ProgramCache(program_folder(), limit * 2**20)
        os.environ.update(wanted)
        _applied = wanted
        return _applied


def program_cache() -> ProgramCache | None:
    """The process's program binaries (None when off or unusable); configure() decides, at the first context."""
    return _programs


def _unwritable(folders: list[Path]) -> tuple[Path | None, str]:
    """The first of `folders` tfgl or the drivers could not write in and why ((None, '') when they
    can). Tries it, as root passes os.access."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            return folder, error.strerror or str(error)
    return None, ""


def _check_not_configured() -> None:
    if _applied is not None:
        raise CacheError("this process already made a GL context, and drivers read their shader cache settings "
                         "only at the first one: choose the cache in a fresh process")


def use_private_folder(root: str, environ: MutableMapping[str, str] = os.environ) -> None:
    """For cold measurements: caches go to `root` (tfgl's and the drivers'), whatever `environ` chose."""
    if environ is os.environ:
        _check_not_configured()
    environ[ROOT_VARIABLE] = root
    environ.pop(SWITCH_VARIABLE, None)
    for driver in DRIVERS:
        for name in driver.names:
            environ.pop(name, None)


def switch_off(environ: MutableMapping[str, str] = os.environ) -> None:
    """No shader disk cache at all: tfgl's off, Mesa's and NVIDIA's disabled."""
    if environ is os.environ:
        _check_not_configured()
    environ[SWITCH_VARIABLE] = "0"
    for driver in DRIVERS:
        environ.update(driver.off)


# -- reporting and clearing ----------------------------------------------------------------------------
@dataclass
class Usage:
    bytes: int = 0
    entries: int = 0


@dataclass
class CacheInfo:
    path: str                                                 # the shader folder
    enabled: bool
    limit_bytes: int                                          # per driver cache, and for the program binaries
    programs_path: str = ""
    binaries: bool = True                                     # program binaries kept (TFGL_PROGRAM_BINARIES)
    total: Usage = field(default_factory=Usage)               # shaders and programs
    subfolders: dict[str, Usage] = field(default_factory=dict)  # mesa, nvidia, ... as found on disk
    programs: Usage = field(default_factory=Usage)
    user_settings: dict[str, list[str]] = field(default_factory=dict)  # driver -> the user's own settings


def info() -> CacheInfo:
    """What is in the shader and program folders now (files and their bytes, never following links
    inside them)."""
    folder, programs = shader_folder(), program_folder()
    report = CacheInfo(str(folder), enabled(), limit_mb() * 2**20, str(programs), binaries_enabled(),
                       user_settings=user_settings())
    for parent in (folder, programs):
        if not parent.is_dir():
            continue
        for entry in os.scandir(parent):
            usage = _usage(entry)
            report.total.bytes += usage.bytes
            report.total.entries += usage.entries
            if parent == programs:
                report.programs.bytes += usage.bytes
                report.programs.entries += usage.entries
            elif entry.is_dir(follow_symlinks=False):
                report.subfolders[entry.name] = usage
    return report


def _usage(entry: os.DirEntry) -> Usage:
    if not entry.is_dir(follow_symlinks=False):
        return Usage(entry.stat(follow_symlinks=False).st_size, 1)
    usage = Usage()
    for parent, folders, files in os.walk(entry.path):  # lists links to folders with the folders, never enters them
        links = [name for name in folders if os.path.islink(os.path.join(parent, name))]
        for name in files + links:
            usage.bytes += os.lstat(os.path.join(parent, name)).st_size
            usage.entries += 1
    return usage


def clear() -> Usage:
    """Deletes everything in the shader and program folders (the folders stay) and returns what they held.

    Links inside are deleted, never followed; the rest of $TFGL_CACHE (npm downloads, ...) is not
    touched. A folder that is itself a link is refused: clearing it would delete elsewhere."""
    folders = (shader_folder(), program_folder())
    for folder in folders:
        if folder.is_symlink():
            raise CacheError(f"{folder} is a symbolic link; clear its target yourself")
    report = info()
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)  # fd-based on Linux: does not follow links planted while it runs
            else:
                os.unlink(entry.path)
    return report.total
