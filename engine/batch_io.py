"""The files of `tfgl batch`: inputs from .npy/.npz files or image folders, outputs to .npz or .parquet.

Every input is checked against the model's signature before any worker starts, so a bad file fails
at once, naming itself. Outputs are written beside the target and renamed when complete, so a failure
never leaves half a file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from engine.errors import InputError
from engine.graph import TensorInfo
from engine.graph.model import check_input

OUTPUT_SUFFIXES = (".npz", ".parquet")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_IMAGE_MODES = {1: "L", 3: "RGB", 4: "RGBA", None: "RGB"}

Columns = dict[str, np.ndarray]


def read_sources(paths: Sequence[str], inputs: Sequence[TensorInfo]) -> list[Columns]:
    """One dict of columns (named by the model's inputs, rows along the first axis) per path, in order."""
    sources = []
    for path in paths:
        if os.path.isdir(path):
            columns = _read_images(path, inputs)
        elif path.endswith(".npz"):
            columns = _read_npz(path, inputs)
        elif path.endswith(".npy"):
            columns = _read_npy(path, inputs)
        else:
            raise InputError(f"{path}: inputs are .npy or .npz files or image folders")
        _check(path, columns, inputs)
        sources.append(columns)
    return sources


def _read_npy(path: str, inputs: Sequence[TensorInfo]) -> Columns:
    if len(inputs) != 1:
        raise InputError(f"{path}: the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                         f"give an .npz with one array per input")
    try:
        return {inputs[0].name: np.load(path, mmap_mode="r", allow_pickle=False)}
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None


def _read_npz(path: str, inputs: Sequence[TensorInfo]) -> Columns:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [info.name for info in inputs if info.name not in archive.files]
            if missing:
                raise InputError(f"{path} has no array {', '.join(map(repr, missing))}; it holds "
                                 f"{', '.join(map(repr, archive.files)) or 'none'}")
            return {info.name: archive[info.name] for info in inputs}
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None


def _read_images(folder: str, inputs: Sequence[TensorInfo]) -> Columns:
    """The folder's images in file-name order, decoded to the channels the model takes, not resized."""
    try:
        from PIL import Image
    except ImportError:
        raise InputError("reading an image folder needs Pillow: pip install 'tfgl[ray]'") from None
    if len(inputs) != 1 or inputs[0].accepted_shape is None or len(inputs[0].accepted_shape) != 4:
        raise InputError(f"{folder}: an image folder feeds a model with one image input [batch, height, width, "
                         f"channels]; this one takes {', '.join(_pretty(i) for i in inputs)}")
    info = inputs[0]
    channels = info.accepted_shape[3]
    if channels not in _IMAGE_MODES:
        raise InputError(f"{folder}: input {_pretty(info)} has {channels} channels; images have 1, 3 or 4")
    files = sorted(name for name in os.listdir(folder) if name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise InputError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for name in files:
        path = os.path.join(folder, name)
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert(_IMAGE_MODES[channels]))
        except OSError as error:
            raise InputError(f"cannot decode {path}: {error}") from None
        pixels = pixels[..., None] if pixels.ndim == 2 else pixels
        expected = tuple(d for d in info.accepted_shape[1:3])
        if any(e is not None and e != d for e, d in zip(expected, pixels.shape)) or \
                (images and pixels.shape != images[0].shape):
            wanted = "x".join("any" if d is None else str(d) for d in expected)
            raise InputError(f"{path} is {pixels.shape[0]}x{pixels.shape[1]}; {_pretty(info)} takes {wanted} "
                             f"(height x width) and every image of a folder the same size: tfgl does not resize")
        images.append(pixels)
    return {info.name: np.stack(images)}


def _check(path: str, columns: Columns, inputs: Sequence[TensorInfo]) -> None:
    """Equal row counts, and a first row the model accepts (the same errors as predict's)."""
    lengths = {name: len(values) if np.ndim(values) else 0 for name, values in columns.items()}
    if set(lengths.values()) != {next(iter(lengths.values()))} or not all(lengths.values()):
        raise InputError(f"{path}: every input needs the same number of rows (> 0), first axis; got "
                         + ", ".join(f"{name}: {count}" for name, count in lengths.items()))
    for info in inputs:
        try:
            check_input(info.name, columns[info.name][:1], info)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None


def _pretty(info: TensorInfo) -> str:
    shape = "?" if info.accepted_shape is None else [-1 if d is None else d for d in info.accepted_shape]
    return f"{info.name}{shape}"


def check_output(path: str) -> None:
    """Fails before any work if the output could not be written."""
    if not path.endswith(OUTPUT_SUFFIXES):
        raise InputError(f"--output {path}: write .npz or .parquet")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"--output {path}: no folder {folder}")


@contextlib.contextmanager
def staged(path: str) -> Iterator[str]:
    """A temporary path beside `path` that becomes `path` when the block succeeds, and is removed if not."""
    handle, staging = tempfile.mkstemp(prefix=".tfgl-", suffix=os.path.splitext(path)[1],
                                       dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        yield staging
        os.replace(staging, path)
    except BaseException:
        os.remove(staging)
        raise


@contextlib.contextmanager
def output_writer(path: str) -> Iterator[Callable[[Mapping[str, np.ndarray]], None]]:
    """write(batch) appends a batch of output columns; the file appears when the block ends.
    .npz: one array per output, rows in order; .parquet: one column per output, tensor columns
    (arrow.fixed_shape_tensor) where a row is more than a number, written one row group per batch."""
    with staged(path) as staging:
        if path.endswith(".npz"):
            batches: list[Mapping[str, np.ndarray]] = []
            yield batches.append
            names = list(batches[0]) if batches else []
            np.savez(staging, **{name: np.concatenate([b[name] for b in batches]) for name in names})
        else:
            with _parquet_writer(staging) as write:
                yield write


@contextlib.contextmanager
def _parquet_writer(path: str) -> Iterator[Callable[[Mapping[str, np.ndarray]], None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: list[pq.ParquetWriter] = []

    def write(batch: Mapping[str, np.ndarray]) -> None:
        table = pa.table({name: pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(values))
                          if values.ndim > 1 else values for name, values in batch.items()})
        if not writer:
            writer.append(pq.ParquetWriter(path, table.schema))
        writer[0].write_table(table)

    try:
        yield write
    finally:
        if writer:
            writer[0].close()
