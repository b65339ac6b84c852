"""Writing conversion results atomically: everything goes to a temporary folder beside the target,
which replaces the target only once the conversion succeeded."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

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
        _replace(staging, target)
    except BaseException:
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
        with contextlib.suppress(FileNotFoundError):
            os.remove(staging)
        raise


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
