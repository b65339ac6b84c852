"""Writing conversion results atomically: everything goes to a temporary folder beside the target,
which replaces the target only once the conversion succeeded."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading

from engine.errors import ConversionError


def _non_empty(path: str) -> bool:
    return os.path.isfile(path) or (os.path.isdir(path) and bool(os.listdir(path)))


@contextlib.contextmanager
def staged_folder(target: str, overwrite: bool = False):
    """Yields a temporary folder; on success it becomes `target`, on any failure it vanishes."""
    target = os.path.abspath(target)
    if _non_empty(target) and not overwrite:
        raise ConversionError(f"output {target} exists and is not empty; pass --overwrite to replace it")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tfgl-convert-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        with signals_deferred():
            _replace(staging, target)
    except BaseException:
        with signals_deferred():
            shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def staged_file(target: str, overwrite: bool = False):
    """Yields a temporary file path beside `target`, renamed onto it on success."""
    target = os.path.abspath(target)
    if os.path.isdir(target):
        raise ConversionError(f"output {target} is a folder; expected a file path")
    if os.path.exists(target) and not overwrite:
        raise ConversionError(f"output {target} exists; pass --overwrite to replace it")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".tfgl-convert-", suffix=os.path.splitext(target)[1],
                                       dir=os.path.dirname(target))
    os.close(handle)
    try:
        yield staging
        os.replace(staging, target)
    except BaseException:
        with signals_deferred(), contextlib.suppress(FileNotFoundError):
            os.remove(staging)
        raise


@contextlib.contextmanager
def signals_deferred():
    """Holds SIGINT and SIGTERM back while the output is swapped into place or the staging folder is
    removed, so that a (second) Ctrl-C cannot leave half a rename or half a folder behind; a signal
    received meanwhile is delivered again afterwards. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(number)
        if handler is None or handler is signal.SIG_IGN:  # set outside Python, or ignored: leave it
            continue
        previous[number] = signal.signal(number, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])


def _replace(staging: str, target: str) -> None:
    if not os.path.exists(target):
        os.rename(staging, target)
        return
    backup = tempfile.mkdtemp(prefix=".tfgl-old-", dir=os.path.dirname(target))
    os.rmdir(backup)
    os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True) if os.path.isdir(backup) else os.remove(backup)
