"""Writing conversion results atomically (engine/io/saving.py stages folders): an existing output is
only replaced when asked to."""
from __future__ import annotations

import contextlib
import os
import tempfile

from engine.errors import ConversionError
from engine.io.saving import signals_deferred
from engine.io.saving import staged_folder as staging_folder


def _non_empty(path: str) -> bool:
    return os.path.isfile(path) or (os.path.isdir(path) and bool(os.listdir(path)))


@contextlib.contextmanager
def staged_folder(target: str, overwrite: bool = False):
    """Yields a temporary folder; on success it becomes `target`, on any failure it vanishes."""
    target = os.path.abspath(target)
    if _non_empty(target) and not overwrite:
        raise ConversionError(f"output {target} exists and is not empty; pass --overwrite to replace it")
    with staging_folder(target) as staging:
        yield staging


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
