"""Writing model folders whole or not at all: everything goes to a temporary folder beside the
target, which replaces the target only once writing succeeded; and the layers-model writer (model.json
in the official converter's keys and order, weights in groupN-shardKofM.bin shards), shared by the
converter and LayersModel.save."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from engine.io.model_json import LAYERS_MODEL
from engine.io.weights import DEFAULT_SHARD_BYTES, write_weights

Groups = Sequence[Sequence[tuple[str, np.ndarray]]]


@contextlib.contextmanager
def staged_folder(target: str) -> Iterator[str]:
    """Yields a temporary folder beside `target`; on success it replaces `target` (a previous
    output there is swapped out), on any failure it vanishes and `target` is left as it was."""
    target = os.path.abspath(target)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tfgl-staging-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        with signals_deferred():
            replace_folder(staging, target)
    except BaseException:
        with signals_deferred():
            shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Holds SIGINT and SIGTERM back while an output is swapped into place or a staging folder is
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


def replace_folder(staging: str, target: str) -> None:
    """Renames `staging` onto `target`, moving a previous `target` aside until the rename is done."""
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


def write_layers_model(topology: dict | None, groups: Groups, folder: str, converted_by: str | None,
                       quantize: Mapping[str, object] | None = None, shard_size_bytes: int = DEFAULT_SHARD_BYTES,
                       metadata: dict | None = None, generator: str | None = None,
                       training_config: dict | None = None) -> dict:
    """Writes model.json and its shards into `folder`; returns the model.json object. A bad shard
    size or quantization raises ValueError."""
    model_json = {"format": LAYERS_MODEL, "generatedBy": generator or generated_by(topology),
                  "convertedBy": converted_by}
    if metadata:
        model_json["userDefinedMetadata"] = metadata
    model_json["modelTopology"] = topology or None
    if training_config:
        model_json["trainingConfig"] = training_config
    model_json["weightsManifest"] = write_weights(groups, folder, shard_size_bytes, quantize)
    with open(os.path.join(folder, "model.json"), "w") as file:
        json.dump(model_json, file)
    return model_json


def generated_by(topology: dict | None) -> str | None:
    if topology and "keras_version" in topology:
        return f"keras v{topology['keras_version']}"
    return None
