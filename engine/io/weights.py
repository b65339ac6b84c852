"""Weights manifests and binary shards: decoding (every dtype and quantization) and writing."""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from collections.abc import Mapping, Sequence

import numpy as np

from engine import dtypes
from engine.errors import WeightsError
from engine.io import fetch, quantization
from engine.io.limits import Limits, check_tensor_size
from engine.tensors import Tensor

DEFAULT_SHARD_BYTES = 4 * 1024 * 1024
_LE = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "bool": np.dtype("u1"),
       "complex64": np.dtype("<c8")}
_STRING_LENGTH = np.dtype("<u4")


@dataclass(frozen=True)
class WeightSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: dict | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def stored_bytes(self) -> int | None:
        """Bytes in the shard, or None for strings (their length is in the data)."""
        if self.quantization is not None:
            return self.size * quantization.QUANTIZED_DTYPES[self.quantization["dtype"]].itemsize
        if self.dtype == "string":
            return None
        return self.size * _LE[self.dtype].itemsize


@dataclass(frozen=True)
class WeightGroup:
    paths: tuple[str, ...]
    specs: tuple[WeightSpec, ...]


def parse_manifest(manifest: object) -> list[WeightGroup]:
    """Validates a weightsManifest and returns its groups."""
    if not isinstance(manifest, list):
        raise WeightsError("weightsManifest must be a list of groups")
    groups, seen = [], set()
    for g, group in enumerate(manifest):
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list) \
                or not isinstance(group.get("weights"), list):
            raise WeightsError(f"weightsManifest[{g}] needs 'paths' and 'weights' lists")
        bad_paths = [path for path in group["paths"] if not isinstance(path, str)]
        if bad_paths:
            raise WeightsError(f"weightsManifest[{g}].paths holds {bad_paths[0]!r}: shard paths are strings")
        specs = []
        for entry in group["weights"]:
            spec = _parse_spec(entry, g)
            if spec.name in seen:
                raise WeightsError(f"weight {spec.name!r} appears twice in the manifest")
            seen.add(spec.name)
            specs.append(spec)
        groups.append(WeightGroup(tuple(group["paths"]), tuple(specs)))
    return groups


def _parse_spec(entry: object, group: int) -> WeightSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise WeightsError(f"weightsManifest[{group}] has an entry without a name: {entry!r:.200}")
    name = entry["name"]
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise WeightsError(f"weight {name!r}: shape must be a list of integers, got {shape!r:.100}")
    if any(d < 0 for d in shape):
        raise WeightsError(f"weight {name!r}: negative dimension in shape {shape}")
    dtype = entry.get("dtype")
    if dtype not in dtypes.STORAGE_DTYPES:
        raise WeightsError(f"weight {name!r}: unknown dtype {dtype!r} "
                           f"(expected one of {', '.join(dtypes.STORAGE_DTYPES)})")
    quant = entry.get("quantization")
    if quant is not None:
        _check_quantization(name, dtype, quant)
    spec = WeightSpec(name, tuple(shape), dtype, quant)
    _check_size(name, shape, dtype)
    return spec


def _check_quantization(name: str, dtype: str, quant: object) -> None:
    if not isinstance(quant, dict) or not isinstance(quant.get("dtype"), str) or \
            quant["dtype"] not in quantization.QUANTIZED_DTYPES:
        raise WeightsError(f"weight {name!r}: unknown quantization {quant!r:.100} (expected uint8, uint16 or float16)")
    if quant["dtype"] == "float16":
        if dtype != "float32":
            raise WeightsError(f"weight {name!r}: float16 quantization applies to float32 weights, not {dtype}")
        return
    if dtype not in ("float32", "int32"):
        raise WeightsError(f"weight {name!r}: {quant['dtype']} quantization applies to float32/int32, not {dtype}")
    for key in ("scale", "min"):
        value = quant.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise WeightsError(f"weight {name!r}: {quant['dtype']} quantization needs a finite {key!r}, got {value!r}")


def _check_size(name: str, shape: Sequence[int], dtype: str) -> None:
    check_tensor_size(f"weight {name!r}", shape, 8 if dtype in ("complex64", "string") else 4)


def decode_group(buffer: bytes | memoryview, specs: Sequence[WeightSpec],
                 where: str = "weights") -> dict[str, np.ndarray]:
    """Decodes the concatenated shards of one group; the buffer must hold exactly the specs' bytes."""
    view = memoryview(buffer)
    out, offset = {}, 0
    for spec in specs:
        array, offset = _decode_one(view, offset, spec, where)
        out[spec.name] = array
    if offset != len(view):
        raise WeightsError(f"{where}: shards hold {len(view)} bytes but the manifest's weights need {offset} "
                           f"({len(view) - offset} extra)")
    return out


def _decode_one(view: memoryview, offset: int, spec: WeightSpec, where: str) -> tuple[np.ndarray, int]:
    nbytes = spec.stored_bytes()
    if nbytes is None:
        return _decode_strings(view, offset, spec, where)
    if offset + nbytes > len(view):
        raise WeightsError(f"{where}: weight {spec.name!r} needs bytes {offset}..{offset + nbytes} but the shards "
                           f"hold only {len(view)} bytes")
    raw = view[offset:offset + nbytes]
    if spec.quantization is not None:
        stored = np.frombuffer(raw, quantization.QUANTIZED_DTYPES[spec.quantization["dtype"]])
        values = quantization.dequantize(stored, spec.quantization, spec.dtype)
    else:
        values = np.frombuffer(raw, _LE[spec.dtype])
        values = values.astype(np.bool_) if spec.dtype == "bool" \
            else values.astype(_LE[spec.dtype].newbyteorder("="), copy=False)
    return values.reshape(spec.shape), offset + nbytes


def _decode_strings(view: memoryview, offset: int, spec: WeightSpec, where: str) -> tuple[np.ndarray, int]:
    values = np.empty(spec.size, dtype=object)
    for i in range(spec.size):
        if offset + 4 > len(view):
            raise WeightsError(f"{where}: string weight {spec.name!r} runs past the end of the shards")
        length = int(np.frombuffer(view[offset:offset + 4], _STRING_LENGTH)[0])
        offset += 4
        if offset + length > len(view):
            raise WeightsError(f"{where}: string weight {spec.name!r} element {i} claims {length} bytes, "
                               f"past the end of the shards")
        values[i] = bytes(view[offset:offset + length])
        offset += length
    return values.reshape(spec.shape), offset


def read_weight_arrays(manifest: object, base: str, headers: Mapping[str, str] | None = None,
                       progress: bool = False) -> dict[str, np.ndarray]:
    """Reads and decodes every group of a manifest; shard paths are relative to `base`."""
    groups = parse_manifest(manifest)
    out: dict[str, np.ndarray] = {}
    total = sum(len(g.paths) for g in groups)
    with _progress_bar(total, progress) as bar:
        for g, group in enumerate(groups):
            where = f"weight group {g + 1} ({', '.join(group.paths)})"
            needed, exact = _group_bytes(group.specs)
            chunks, received = [], 0
            for path in group.paths:
                # each shard is read only up to what the group still needs: a longer one is cut there
                note = (f"{where} needs {'' if exact else 'at most '}{needed} bytes in all, "
                        f"{received} of them in earlier shards")
                chunk = fetch.read_bytes(fetch.resolve_weight_path(base, path), dict(headers or {}),
                                         max_bytes=needed - received, bound_note=note)
                chunks.append(chunk)
                received += len(chunk)
                bar.update(1)
            buffer = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            out.update(decode_group(buffer, group.specs, where=where))
    return out


def _group_bytes(specs: Sequence[WeightSpec]) -> tuple[int, bool]:
    """The bytes a group's shards hold in all, and whether that is exact: a string weight's length
    is in its data, so it is bounded by its length prefixes plus the tensor size limit."""
    total, exact = 0, True
    for spec in specs:
        nbytes = spec.stored_bytes()
        if nbytes is None:
            nbytes, exact = spec.size * _STRING_LENGTH.itemsize + Limits.max_tensor_bytes, False
        total += nbytes
    return total, exact


class _Silent:
    def update(self, _: int) -> None:
        pass


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar over shards (shown after a second), or nothing: tqdm is only imported when asked for."""
    if not enabled:
        return contextlib.nullcontext(_Silent())
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="shard", desc="weights", leave=False, delay=1.0)


def load_weights(manifest: object, base: str, headers: Mapping[str, str] | None = None) -> dict[str, Tensor]:
    """name -> Tensor for every weight of a manifest (as tf.io.loadWeights)."""
    return {name: Tensor(dtypes.to_storage(array, _dtype_of(array)), _dtype_of(array))
            for name, array in read_weight_arrays(manifest, base, headers).items()}


def _dtype_of(array: np.ndarray) -> str:
    return dtypes.dtype_of_array(array)


# -- writing --------------------------------------------------------------------------------------

def encode(array: np.ndarray) -> bytes:
    if array.dtype == object or array.dtype.kind in "SU":
        parts = []
        for value in array.reshape(-1):
            data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            parts += [np.array(len(data), _STRING_LENGTH).tobytes(), data]
        return b"".join(parts)
    return np.ascontiguousarray(array, _LE[dtypes.dtype_of_array(array)]).tobytes()


def write_weights(groups: Sequence[Sequence[tuple[str, np.ndarray]]], out_dir: str,
                  shard_size_bytes: int | None = DEFAULT_SHARD_BYTES,
                  quantize: Mapping[str, object] | None = None) -> list[dict]:
    """Writes `groups` of (name, array) as groupN-shardKofM.bin files; returns the weightsManifest.

    Values are converted to storage dtypes (float64 -> float32, int64 -> int32, ...); float32
    weights named by `quantize` ({'uint8': ['conv*'], 'float16': True, ...}) are quantized.
    """
    if shard_size_bytes is not None and (not isinstance(shard_size_bytes, int) or shard_size_bytes <= 0):
        raise ValueError(f"shard size must be a positive number of bytes, got {shard_size_bytes!r}")
    seen: set[str] = set()
    for name in (name for group in groups for name, _ in group):
        if name in seen:
            raise ValueError(f"weight {name!r} appears twice; weight names must be unique across groups")
        seen.add(name)
    manifest = []
    for g, group in enumerate(groups):
        chosen = quantization.dtype_per_weight([name for name, _ in group], quantize)
        entries, blobs = [], []
        for name, array in group:
            array = np.asarray(array)
            dtype = dtypes.dtype_of_array(array)
            array = dtypes.to_storage(array, dtype)
            entry = {"name": name, "shape": list(array.shape), "dtype": dtype}
            if name in chosen and dtype == "float32":
                array, quant = quantization.quantize(array, chosen[name])
                entry["quantization"] = {**quant, "original_dtype": "float32"}
            entries.append(entry)
            blobs.append(array.tobytes() if name in chosen and dtype == "float32" else encode(array))
        data = b"".join(blobs)
        manifest.append({"paths": _write_shards(data, out_dir, g, shard_size_bytes), "weights": entries})
    return manifest


def _write_shards(data: bytes, out_dir: str, group: int, shard_size: int | None) -> list[str]:
    size = shard_size or max(len(data), 1)
    count = max(1, math.ceil(len(data) / size)) if data else 0
    paths = []
    for i in range(count):
        path = f"group{group + 1}-shard{i + 1}of{count}.bin"
        with open(os.path.join(out_dir, path), "wb") as file:
            file.write(data[i * size:(i + 1) * size])
        paths.append(path)
    return paths
