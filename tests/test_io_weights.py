"""Weights manifests and shards: round trips for every dtype, sharding as the official converter does it,
quantization bit-exact against `tensorflowjs_converter`'s own output, and every refusal."""
import json
import math
import os

import numpy as np
import pytest

from engine.errors import ResourceLimitError, TfglError, UnsafePathError, WeightsError
from engine.io import (DEFAULT_SHARD_BYTES, Limits, decode_group, parse_manifest, quantization, read_weight_arrays,
                       resolve_weight_path, write_weights)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _manifest(name):
    with open(os.path.join(FIXTURES, name, "model.json")) as file:
        return json.load(file)["weightsManifest"]


@pytest.fixture(scope="module")
def mobilenet_float32():
    """name -> float32/int32 array of the unquantized official fixture."""
    return read_weight_arrays(_manifest("mobilenet_v2"), os.path.join(FIXTURES, "mobilenet_v2"))


def _round_trip(tmp_path, groups, **kwargs):
    manifest = write_weights(groups, str(tmp_path), **kwargs)
    return manifest, read_weight_arrays(json.loads(json.dumps(manifest)), str(tmp_path))


def _shard_bytes(tmp_path, paths):
    return b"".join((tmp_path / p).read_bytes() for p in paths)


def _model_dir(tmp_path, weights, data, paths=("group1-shard1of1.bin",)):
    """A folder with one group: the manifest entries `weights` and `data` split over `paths` (None: no file)."""
    chunks = data if isinstance(data, (list, tuple)) else [data]
    for path, chunk in zip(paths, chunks):
        if chunk is not None:
            (tmp_path / path).write_bytes(chunk)
    return [{"paths": list(paths), "weights": weights}]


# -- round trips ----------------------------------------------------------------------------------

def test_round_trip_every_dtype(tmp_path):
    rng = np.random.default_rng(0)
    strings = np.array([b"", "h\u00e9llo \u4e16\u754c".encode(), b"\xff\x00\xfe", b"", b"plain"], object).reshape(5, 1)
    group = [
        ("f32", rng.standard_normal((3, 4)).astype(np.float32)),
        ("f32_special", np.array([np.inf, -np.inf, -0.0, np.finfo(np.float32).tiny, np.nan], np.float32)),
        ("i32", np.array([[np.iinfo(np.int32).min, -1, 0, 1, np.iinfo(np.int32).max]], np.int32)),
        ("bool", np.array([[True, False, True], [False, False, True]])),
        ("str", strings),
        ("c64", (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64).reshape(2, 2)),
    ]
    manifest, out = _round_trip(tmp_path, [group])
    assert [(w["name"], w["dtype"], w["shape"]) for w in manifest[0]["weights"]] == [
        ("f32", "float32", [3, 4]), ("f32_special", "float32", [5]), ("i32", "int32", [1, 5]),
        ("bool", "bool", [2, 3]), ("str", "string", [5, 1]), ("c64", "complex64", [2, 2])]
    assert all("quantization" not in w for w in manifest[0]["weights"])
    assert list(out) == [name for name, _ in group]
    for name, array in group:
        assert out[name].shape == array.shape, name
        assert out[name].dtype == array.dtype, name
        if array.dtype == object:
            assert out[name].tolist() == array.tolist()
        else:
            np.testing.assert_array_equal(out[name], array)
    assert np.signbit(out["f32_special"][2])  # -0.0 survives bit for bit


def test_layout_is_the_tfjs_binary_format(tmp_path):
    """Little-endian values back to back; strings as uint32 length + bytes; bools one byte each."""
    group = [("i", np.array([1, -2], np.int32)), ("s", np.array(["hi", "", "\u00e9"])),
             ("b", np.array([True, False])), ("f", np.float32(1.5)), ("c", np.array([1 - 2j], np.complex64))]
    manifest = write_weights([group], str(tmp_path))
    assert manifest[0]["paths"] == ["group1-shard1of1.bin"]
    expected = (b"\x01\x00\x00\x00\xfe\xff\xff\xff"
                + b"\x02\x00\x00\x00hi" + b"\x00\x00\x00\x00" + b"\x02\x00\x00\x00\xc3\xa9"
                + b"\x01\x00"
                + np.array(1.5, "<f4").tobytes()
                + np.array([1.0, -2.0], "<f4").tobytes())
    assert (tmp_path / "group1-shard1of1.bin").read_bytes() == expected


def test_storage_conversions(tmp_path):
    """Like the official converter: float64 -> float32, int64 -> int32, complex128 -> complex64, str -> bytes."""
    group = [("f64", np.array([0.1, 2.5])), ("i64", np.array([7, -3], np.int64)), ("u8", np.array([255], np.uint8)),
             ("f16", np.array([0.5], np.float16)), ("c128", np.array([1 + 1j])), ("u", np.array(["x", "\u00fc"]))]
    manifest, out = _round_trip(tmp_path, [group])
    assert [w["dtype"] for w in manifest[0]["weights"]] == \
        ["float32", "int32", "int32", "float32", "complex64", "string"]
    assert out["f64"].dtype == np.float32 and out["f64"].tolist() == np.array([0.1, 2.5], np.float32).tolist()
    assert out["i64"].dtype == np.int32 and out["i64"].tolist() == [7, -3]
    assert out["u8"].tolist() == [255]
    assert out["f16"].dtype == np.float32 and out["f16"].tolist() == [0.5]
    assert out["c128"].dtype == np.complex64 and out["c128"].tolist() == [1 + 1j]
    assert out["u"].tolist() == [b"x", "\u00fc".encode()]


def test_scalars_and_empty_tensors(tmp_path):
    group = [("scalar_f", np.float32(3.25)), ("scalar_i", np.int32(-4)), ("scalar_s", np.array(b"abc", object)),
             ("scalar_b", np.bool_(True)), ("empty_f", np.zeros((0, 3), np.float32)), ("empty_s", np.array([], object)),
             ("empty_b", np.zeros((2, 0), bool)), ("after", np.array([9], np.int32))]
    manifest, out = _round_trip(tmp_path, [group])
    assert [w["shape"] for w in manifest[0]["weights"]] == [[], [], [], [], [0, 3], [0], [2, 0], [1]]
    assert out["scalar_f"].shape == () and out["scalar_f"] == np.float32(3.25)
    assert out["scalar_i"].shape == () and out["scalar_i"] == -4
    assert out["scalar_s"].shape == () and out["scalar_s"].item() == b"abc"
    assert out["scalar_b"].shape == () and out["scalar_b"].dtype == np.bool_ and bool(out["scalar_b"])
    assert out["empty_f"].shape == (0, 3) and out["empty_f"].dtype == np.float32
    assert out["empty_s"].shape == (0,)
    assert out["empty_b"].shape == (2, 0) and out["empty_b"].dtype == np.bool_
    assert out["after"].tolist() == [9]


def test_group_of_only_empty_tensors_has_no_shards(tmp_path):
    """The official converter writes ceil(0 / size) = 0 shards for a group without bytes."""
    manifest, out = _round_trip(tmp_path, [[("e", np.zeros((0,), np.float32))], [("x", np.ones(2, np.float32))]])
    assert manifest[0]["paths"] == []
    assert manifest[1]["paths"] == ["group2-shard1of1.bin"]
    assert sorted(os.listdir(tmp_path)) == ["group2-shard1of1.bin"]
    assert out["e"].shape == (0,) and out["x"].tolist() == [1, 1]


def test_several_groups(tmp_path):
    rng = np.random.default_rng(1)
    groups = [[("g1/a", rng.standard_normal(5).astype(np.float32)), ("g1/b", np.arange(3, dtype=np.int32))],
              [("g2/a", np.array([b"q"], object))],
              [("g3/a", np.array([False, True])), ("g3/b", np.float32(2))]]
    manifest, out = _round_trip(tmp_path, groups)
    assert [g["paths"] for g in manifest] == [["group1-shard1of1.bin"], ["group2-shard1of1.bin"],
                                              ["group3-shard1of1.bin"]]
    assert [[w["name"] for w in g["weights"]] for g in manifest] == [["g1/a", "g1/b"], ["g2/a"], ["g3/a", "g3/b"]]
    assert sorted(os.listdir(tmp_path)) == ["group1-shard1of1.bin", "group2-shard1of1.bin", "group3-shard1of1.bin"]
    for group in groups:
        for name, array in group:
            assert np.asarray(out[name]).tolist() == np.asarray(array).tolist()


# -- sharding -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shard_size", [1, 3, 7, 16, 40, 41, 1000])
def test_small_shards_split_like_the_official_converter(tmp_path, shard_size):
    """All shards but the last hold exactly shard_size bytes; weights span shard boundaries."""
    group = [("a", np.arange(5, dtype=np.float32)), ("s", np.array([b"xyz", b""], object)),
             ("b", np.arange(3, dtype=np.int32))]
    manifest, out = _round_trip(tmp_path, [group], shard_size_bytes=shard_size)
    total = 20 + (4 + 3 + 4) + 12
    count = math.ceil(total / shard_size)
    paths = manifest[0]["paths"]
    assert paths == [f"group1-shard{i}of{count}.bin" for i in range(1, count + 1)]
    sizes = [(tmp_path / p).stat().st_size for p in paths]
    assert sizes == [shard_size] * (count - 1) + [total - shard_size * (count - 1)]
    assert sorted(os.listdir(tmp_path)) == sorted(paths)
    assert out["a"].tolist() == [0, 1, 2, 3, 4] and out["s"].tolist() == [b"xyz", b""] \
        and out["b"].tolist() == [0, 1, 2]


def test_default_shard_size_is_4_mib(tmp_path):
    assert DEFAULT_SHARD_BYTES == 4 * 1024 * 1024
    big = np.arange(DEFAULT_SHARD_BYTES // 4 + 10, dtype=np.int32)  # 40 bytes past one shard
    manifest, out = _round_trip(tmp_path, [[("small", np.ones(3, np.float32)), ("big", big)]])
    assert manifest[0]["paths"] == ["group1-shard1of2.bin", "group1-shard2of2.bin"]
    assert (tmp_path / "group1-shard1of2.bin").stat().st_size == DEFAULT_SHARD_BYTES
    assert (tmp_path / "group1-shard2of2.bin").stat().st_size == 12 + 40
    np.testing.assert_array_equal(out["big"], big)


def test_exactly_one_shard_worth_and_no_sharding(tmp_path):
    data = np.zeros(DEFAULT_SHARD_BYTES // 4, np.float32)
    manifest = write_weights([[("w", data)]], str(tmp_path))
    assert manifest[0]["paths"] == ["group1-shard1of1.bin"]
    unsharded = tmp_path / "one"
    unsharded.mkdir()
    manifest = write_weights([[("w", np.zeros(DEFAULT_SHARD_BYTES // 2, np.float32))]], str(unsharded),
                             shard_size_bytes=None)
    assert manifest[0]["paths"] == ["group1-shard1of1.bin"]
    assert (unsharded / "group1-shard1of1.bin").stat().st_size == 2 * DEFAULT_SHARD_BYTES


@pytest.mark.parametrize("size", [0, -1, 1.5])
def test_bad_shard_size(tmp_path, size):
    with pytest.raises(ValueError, match="shard size"):
        write_weights([[("w", np.ones(2, np.float32))]], str(tmp_path), shard_size_bytes=size)


def test_write_refuses_duplicate_names(tmp_path):
    """The official converter refuses them too; the manifest would be unreadable."""
    with pytest.raises(ValueError, match="'w'"):
        write_weights([[("w", np.ones(1, np.float32))], [("w", np.ones(1, np.float32))]], str(tmp_path))
    with pytest.raises(ValueError, match="'v'"):
        write_weights([[("v", np.ones(1, np.float32)), ("v", np.ones(1, np.float32))]], str(tmp_path))


# -- quantization: exact against the official converter ---------------------------------------------

@pytest.mark.parametrize("qdtype", ["uint8", "uint16", "float16"])
def test_quantization_matches_official_converter_bit_for_bit(tmp_path, mobilenet_float32, qdtype):
    official = _manifest(f"mobilenet_v2_{qdtype}")
    assert len(official) == 1
    names = [w["name"] for w in official[0]["weights"]]
    assert sorted(names) == sorted(mobilenet_float32)
    manifest = write_weights([[(name, mobilenet_float32[name]) for name in names]], str(tmp_path),
                             quantize={qdtype: True})
    assert manifest[0]["paths"] == official[0]["paths"]
    produced = _shard_bytes(tmp_path, manifest[0]["paths"])
    with open(os.path.join(FIXTURES, f"mobilenet_v2_{qdtype}", "group1-shard1of1.bin"), "rb") as file:
        assert produced == file.read()
    ours = json.loads(json.dumps(manifest))[0]["weights"]
    quantized = 0
    for mine, theirs in zip(ours, official[0]["weights"]):
        assert mine["name"] == theirs["name"]
        # exact equality of the floats (min/scale) and the same keys in the same order
        assert json.dumps(mine) == json.dumps(theirs), mine["name"]
        quantized += "quantization" in theirs
    assert quantized == 123  # every float32 weight; the int32 ones stay unquantized


def test_quantize_function_matches_official_formulas():
    """min/scale as float64, nudged so 0 is on the grid; constant data -> zeros with scale 1."""
    data = np.array([-1.0, -0.25, 0.0, 0.3, 2.0], np.float32)
    values, entry = quantization.quantize(data, "uint8")
    lo, hi = np.float64(-1.0), np.float64(2.0)
    scale = (hi - lo) / 255
    zero_point = np.round((0 - lo) / scale)
    assert entry == {"dtype": "uint8", "min": -zero_point * scale, "scale": scale}
    assert values.dtype == np.uint8 and values[0] == 0 and values[2] == zero_point
    constant, entry = quantization.quantize(np.full(4, 2.5, np.float32), "uint16")
    assert constant.dtype == np.uint16 and constant.tolist() == [0] * 4
    assert entry == {"dtype": "uint16", "min": 2.5, "scale": 1.0}
    positive, entry = quantization.quantize(np.array([1.0, 3.0], np.float32), "uint8")
    assert entry["min"] == 1.0 and entry["scale"] == 2.0 / 255  # 0 outside the range: no nudging
    assert positive.tolist() == [0, 255]
    with pytest.raises(ValueError, match="int4"):
        quantization.quantize(data, "int4")
    with pytest.raises(ValueError, match="float32"):
        quantization.quantize(np.ones(2), "float16")


def test_official_uint8_fixture_decodes_within_half_a_step(mobilenet_float32):
    manifest = _manifest("mobilenet_v2_uint8")
    decoded = read_weight_arrays(manifest, os.path.join(FIXTURES, "mobilenet_v2_uint8"))
    for spec in manifest[0]["weights"]:
        original, values = mobilenet_float32[spec["name"]], decoded[spec["name"]]
        assert values.dtype == original.dtype and values.shape == original.shape
        if "quantization" not in spec:
            np.testing.assert_array_equal(values, original)
            continue
        q = spec["quantization"]
        assert q["dtype"] == "uint8"
        step = q["scale"]
        error = np.abs(values.astype(np.float64) - original.astype(np.float64))
        bound = step / 2 * (1 + 1e-6) + np.abs(original) * 2.0 ** -23
        assert np.all(error <= bound), (spec["name"], float(error.max()), step)
        # and the values are exactly what TF.js computes: float32(q * scale + min), q from the shard
    raw = np.fromfile(os.path.join(FIXTURES, "mobilenet_v2_uint8", "group1-shard1of1.bin"), np.uint8)
    first = manifest[0]["weights"][0]
    size = math.prod(first["shape"])
    q = first["quantization"]
    expected = (raw[:size].astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
    np.testing.assert_array_equal(decoded[first["name"]].reshape(-1), expected)


def test_official_float16_fixture_decodes_to_float16_rounding(mobilenet_float32):
    manifest = _manifest("mobilenet_v2_float16")
    decoded = read_weight_arrays(manifest, os.path.join(FIXTURES, "mobilenet_v2_float16"))
    for spec in manifest[0]["weights"]:
        original, values = mobilenet_float32[spec["name"]], decoded[spec["name"]]
        assert values.dtype == original.dtype and values.shape == original.shape
        if "quantization" in spec:
            np.testing.assert_array_equal(values, original.astype(np.float16).astype(np.float32))
        else:
            np.testing.assert_array_equal(values, original)


@pytest.mark.parametrize("qdtype", ["uint8", "uint16"])
def test_affine_round_trip_error_is_at_most_half_a_step(tmp_path, qdtype):
    rng = np.random.default_rng(2)
    data = (rng.standard_normal(1000) * 3 + 0.5).astype(np.float32)
    manifest, out = _round_trip(tmp_path, [[("w", data)]], quantize={qdtype: True})
    q = manifest[0]["weights"][0]["quantization"]
    assert q["dtype"] == qdtype and q["original_dtype"] == "float32"
    assert (tmp_path / "group1-shard1of1.bin").stat().st_size == data.size * (1 if qdtype == "uint8" else 2)
    error = np.abs(out["w"].astype(np.float64) - data)
    assert error.max() <= q["scale"] / 2 * (1 + 1e-6) + 1e-6
    assert error.max() > 0


def test_zero_is_exact_after_affine_quantization(tmp_path):
    rng = np.random.default_rng(3)
    group = []
    for i in range(20):
        lo, hi = -rng.uniform(0.001, 10), rng.uniform(0.001, 10)
        data = rng.uniform(lo, hi, 50).astype(np.float32)
        data[rng.integers(0, 50, 5)] = 0.0
        data[0], data[1] = lo, hi
        group.append((f"w{i}", data))
    group.append(("edge_lo", np.array([0.0, 1.7, 0.2], np.float32)))  # 0 is the minimum
    group.append(("edge_hi", np.array([-1.3, 0.0, -0.2], np.float32)))  # 0 is the maximum
    manifest, out = _round_trip(tmp_path, [group], quantize={"uint8": ["w*", "edge_lo"], "uint16": "edge_hi"})
    for (name, data), spec in zip(group, manifest[0]["weights"]):
        q = spec["quantization"]
        zero_point = -q["min"] / q["scale"]
        assert abs(zero_point - round(zero_point)) < 1e-9, name
        assert round(zero_point) * q["scale"] + q["min"] == 0.0, name
        decoded = out[name]
        assert np.all(decoded[data == 0] == 0.0), name
        assert not np.any(np.signbit(decoded[data == 0])), name


def test_int32_quantized_weights_round_like_tfjs(tmp_path):
    """TF.js: Int32Array[i] = Math.round(q * scale + min), i.e. halves go up (towards +inf)."""
    q = np.array([0, 1, 2, 3, 4, 5, 11, 12, 13, 255], np.uint8)
    (tmp_path / "group1-shard1of1.bin").write_bytes(q.tobytes() + np.array([1, 2], "<u2").tobytes())
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [
        {"name": "i8", "shape": [10], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -3}},
        {"name": "i16", "shape": [2], "dtype": "int32",
         "quantization": {"dtype": "uint16", "scale": 0.49999999999999994, "min": 0.0}}]}]
    out = read_weight_arrays(manifest, str(tmp_path))
    restored = [v * 0.5 - 3 for v in q.tolist()]  # -3, -2.5, -2, -1.5, -1, -0.5, 2.5, 3, 3.5, 124.5
    js_round = [math.floor(x + 0.5) for x in restored]
    assert out["i8"].dtype == np.int32
    assert out["i8"].tolist() == js_round == [-3, -2, -2, -1, -1, 0, 3, 3, 4, 125]
    # Math.round(0.49999999999999994) is 0 (floor(x + 0.5) would say 1); 2 * that is 0.9999999999999999 -> 1
    assert out["i16"].tolist() == [0, 1]


def test_write_weights_quantizes_only_float32(tmp_path):
    """As the official converter: int32, bool and string weights are never quantized."""
    group = [("f", np.linspace(-1, 1, 9, dtype=np.float32)), ("i", np.arange(4, dtype=np.int32)),
             ("b", np.array([True])), ("s", np.array([b"a"], object)), ("f64", np.array([0.5, -0.5]))]
    manifest, out = _round_trip(tmp_path, [group], quantize={"uint8": True})
    kinds = {w["name"]: w.get("quantization", {}).get("dtype") for w in manifest[0]["weights"]}
    assert kinds == {"f": "uint8", "i": None, "b": None, "s": None, "f64": "uint8"}
    assert out["i"].tolist() == [0, 1, 2, 3] and out["s"].tolist() == [b"a"] and out["b"].tolist() == [True]


def test_patterns_select_weights(tmp_path):
    names = ["conv1/kernel", "conv1/bias", "conv2/kernel", "dense/kernel", "dense/bias", "other"]
    assert quantization.dtype_per_weight(names, None) == {}
    assert quantization.dtype_per_weight(names, {}) == {}
    assert quantization.dtype_per_weight(names, {"uint8": ["conv*/kernel"], "float16": "dense/*"}) == {
        "conv1/kernel": "uint8", "conv2/kernel": "uint8", "dense/kernel": "float16", "dense/bias": "float16"}
    assert quantization.dtype_per_weight(names, {"uint16": ["*bias"], "float16": True}) == {
        "conv1/kernel": "float16", "conv1/bias": "uint16", "conv2/kernel": "float16", "dense/kernel": "float16",
        "dense/bias": "uint16", "other": "float16"}
    # the same weight twice under one dtype is fine
    assert quantization.dtype_per_weight(names, {"uint8": ["conv1/*", "*/kernel"]}) == {
        "conv1/kernel": "uint8", "conv1/bias": "uint8", "conv2/kernel": "uint8", "dense/kernel": "uint8"}
    group = [(name, np.linspace(-1, 1, 6, dtype=np.float32) * (i + 1)) for i, name in enumerate(names)]
    manifest, out = _round_trip(tmp_path, [group], quantize={"uint8": ["conv*"], "float16": ["dense/kernel"]})
    kinds = {w["name"]: w.get("quantization", {}).get("dtype") for w in manifest[0]["weights"]}
    assert kinds == {"conv1/kernel": "uint8", "conv1/bias": "uint8", "conv2/kernel": "uint8",
                     "dense/kernel": "float16", "dense/bias": None, "other": None}
    assert (tmp_path / "group1-shard1of1.bin").stat().st_size == 3 * 6 + 6 * 2 + 2 * 6 * 4
    np.testing.assert_array_equal(out["other"], group[-1][1])


def test_pattern_conflicts_are_errors(tmp_path):
    with pytest.raises(ValueError, match="more than one"):
        quantization.dtype_per_weight(["a"], {"uint8": True, "float16": True})
    with pytest.raises(ValueError, match="'conv/kernel' matches both uint8 and float16"):
        quantization.dtype_per_weight(["conv/kernel", "x"], {"uint8": "conv/*", "float16": ["*kernel"]})
    with pytest.raises(ValueError, match="int4"):
        quantization.dtype_per_weight(["a"], {"int4": True})
    with pytest.raises(ValueError, match="more than one"):
        write_weights([[("a", np.ones(2, np.float32))]], str(tmp_path), quantize={"uint8": True, "uint16": True})
    assert os.listdir(tmp_path) == []


# -- refusals -------------------------------------------------------------------------------------

F32 = {"name": "w", "shape": [2], "dtype": "float32"}


def test_missing_shard_file(tmp_path):
    manifest = _model_dir(tmp_path, [{"name": "w", "shape": [4], "dtype": "float32"}], [b"\0" * 8, None],
                          paths=("group1-shard1of2.bin", "group1-shard2of2.bin"))
    with pytest.raises(WeightsError, match="group1-shard2of2.bin"):
        read_weight_arrays(manifest, str(tmp_path))


def test_short_shard_names_weight_and_sizes(tmp_path):
    weights = [{"name": "first", "shape": [2], "dtype": "int32"},
               {"name": "second", "shape": [3, 2], "dtype": "float32"}]
    manifest = _model_dir(tmp_path, weights, b"\0" * (8 + 24 - 4))
    with pytest.raises(WeightsError) as info:
        read_weight_arrays(manifest, str(tmp_path))
    message = str(info.value)
    assert "'second'" in message and "32" in message and "28" in message and "group1-shard1of1.bin" in message


def test_long_shard(tmp_path):
    """Refused before reading it: a shard may hold no more than its group still needs."""
    manifest = _model_dir(tmp_path, [F32], b"\0" * 9)
    with pytest.raises(WeightsError, match=r"group1-shard1of1.bin holds 9 bytes, more than 8 .*needs 8 bytes"):
        read_weight_arrays(manifest, str(tmp_path))


def test_long_shard_over_several_shards(tmp_path):
    manifest = _model_dir(tmp_path, [F32], [b"\0" * 4, b"\0" * 8], paths=("a.bin", "b.bin"))
    with pytest.raises(WeightsError, match=r"b.bin holds 8 bytes, more than 4 .*needs 8 bytes in all, 4 of them"):
        read_weight_arrays(manifest, str(tmp_path))


@pytest.mark.parametrize("entry, pattern", [
    ({**F32, "dtype": "float64"}, r"'w': unknown dtype 'float64'"),
    ({**F32, "dtype": None}, r"'w': unknown dtype None"),
    ({**F32, "quantization": {"dtype": "int8", "scale": 1, "min": 0}}, r"'w': unknown quantization"),
    ({**F32, "quantization": "uint8"}, r"'w': unknown quantization"),
    ({**F32, "quantization": {"dtype": "uint8", "scale": 0.1}}, r"'w': uint8 quantization needs a finite 'min'"),
    ({**F32, "quantization": {"dtype": "uint16", "min": 0.1}}, r"'w': uint16 quantization needs a finite 'scale'"),
    ({**F32, "quantization": {"dtype": "uint8", "min": 0, "scale": float("nan")}}, r"finite 'scale'"),
    ({**F32, "quantization": {"dtype": "uint8", "min": "0", "scale": 1}}, r"finite 'min'"),
    ({**F32, "dtype": "int32", "quantization": {"dtype": "float16"}}, r"'w': float16 quantization applies to float32"),
    ({**F32, "dtype": "bool", "quantization": {"dtype": "uint8", "min": 0, "scale": 1}}, r"'w': uint8 quantization"),
    ({**F32, "shape": [2, -1]}, r"'w': negative dimension"),
    ({**F32, "shape": "2"}, r"'w': shape must be a list"),
    ({**F32, "shape": None}, r"'w': shape must be a list"),
    ({**F32, "shape": [2.0]}, r"'w': shape must be a list"),
    ({**F32, "shape": [True]}, r"'w': shape must be a list"),
    ({"shape": [2], "dtype": "float32"}, r"without a name"),
])
def test_bad_manifest_entries(tmp_path, entry, pattern):
    manifest = _model_dir(tmp_path, [entry], b"\0" * 8)
    with pytest.raises(WeightsError, match=pattern):
        read_weight_arrays(manifest, str(tmp_path))


@pytest.mark.parametrize("manifest", [{}, None, [{"paths": "a.bin", "weights": []}], [{"weights": []}], [[]],
                                      [{"paths": ["a.bin", 0], "weights": []}], [{"paths": [None], "weights": []}]])
def test_bad_manifest_structure(manifest):
    with pytest.raises(WeightsError, match="weightsManifest"):
        parse_manifest(manifest)


def test_duplicate_weight_names(tmp_path):
    with pytest.raises(WeightsError, match="'w' appears twice"):
        parse_manifest([{"paths": [], "weights": [F32, F32]}])
    with pytest.raises(WeightsError, match="'w' appears twice"):
        parse_manifest([{"paths": [], "weights": [F32]}, {"paths": [], "weights": [{**F32, "dtype": "int32"}]}])


def test_tensor_over_the_limit_is_refused_before_reading_shards(tmp_path, monkeypatch):
    monkeypatch.setattr(Limits, "max_tensor_bytes", 1000)
    ok = {"name": "ok", "shape": [250], "dtype": "float32"}  # exactly at the limit
    parse_manifest([{"paths": [], "weights": [ok]}])
    big = {"name": "huge/kernel", "shape": [251], "dtype": "float32"}
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [ok]},
                {"paths": ["group2-shard1of1.bin"], "weights": [big]}]  # neither shard exists
    with pytest.raises(ResourceLimitError, match=r"'huge/kernel'.*1004 bytes.*1000"):
        read_weight_arrays(manifest, str(tmp_path))
    quantized = {"name": "q", "shape": [300], "dtype": "float32",
                 "quantization": {"dtype": "uint8", "min": 0, "scale": 1}}
    with pytest.raises(ResourceLimitError, match="'q'"):  # decoded size counts, not the 300 stored bytes
        parse_manifest([{"paths": [], "weights": [quantized]}])
    monkeypatch.setattr(Limits, "max_tensor_bytes", 10 ** 6)
    with pytest.raises(ResourceLimitError, match="'overflow'"):
        parse_manifest([{"paths": [], "weights": [{"name": "overflow", "shape": [2 ** 40, 2 ** 40], "dtype": "bool"}]}])


def test_string_weight_running_past_the_end(tmp_path):
    spec = {"name": "vocab", "shape": [2], "dtype": "string"}
    claims_too_much = np.array([1], "<u4").tobytes() + b"a" + np.array([100], "<u4").tobytes() + b"abc"
    with pytest.raises(WeightsError, match=r"'vocab' element 1 claims 100 bytes"):
        read_weight_arrays(_model_dir(tmp_path, [spec], claims_too_much), str(tmp_path))
    no_room_for_length = np.array([1], "<u4").tobytes() + b"a" + b"\0\0"
    with pytest.raises(WeightsError, match=r"'vocab' runs past the end"):
        read_weight_arrays(_model_dir(tmp_path, [spec], no_room_for_length), str(tmp_path))
    ok = np.array([1], "<u4").tobytes() + b"a" + np.array([0], "<u4").tobytes()
    assert read_weight_arrays(_model_dir(tmp_path, [spec], ok), str(tmp_path))["vocab"].tolist() == [b"a", b""]


def test_decode_group_directly():
    from engine.io import WeightSpec
    specs = [WeightSpec("a", (2,), "int32"), WeightSpec("b", (), "bool")]
    out = decode_group(np.array([5, 6], "<i4").tobytes() + b"\x02", specs)
    assert out["a"].tolist() == [5, 6] and out["b"].dtype == np.bool_ and bool(out["b"])
    with pytest.raises(WeightsError, match="my-where"):
        decode_group(b"\0" * 4, specs, where="my-where")


# -- weight paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/etc/passwd", "\\windows\\system32", "C:\\weights.bin", "c:/weights.bin", "../outside.bin",
    "sub/../../outside.bin", "sub/../x.bin", "%2e%2e/outside.bin", "sub%2F..%2F..%2Foutside.bin", "..\\outside.bin",
    "file:///etc/passwd", "http://evil.example/w.bin", "//evil.example/w.bin", "", None, 3,
])
def test_unsafe_weight_paths_local(tmp_path, path):
    (tmp_path / "m").mkdir()
    with pytest.raises(UnsafePathError):
        resolve_weight_path(str(tmp_path / "m"), path)


def test_unsafe_weight_path_is_refused_before_reading(tmp_path):
    """An absolute path to a real file, or a '..' to a real sibling, is never read."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 8)
    (tmp_path / "model").mkdir()
    for path in (str(secret), "../secret.bin"):
        manifest = [{"paths": [path], "weights": [F32]}]
        with pytest.raises(UnsafePathError, match="secret.bin"):
            read_weight_arrays(manifest, str(tmp_path / "model"))
    assert issubclass(UnsafePathError, WeightsError) and issubclass(WeightsError, TfglError)


@pytest.mark.parametrize("path", [
    "http://other.example/m/w.bin", "https://models.example/m/w.bin", "http://models.example:81/m/w.bin",
    "//other.example/w.bin", "///other.example/w.bin", "/m/w.bin", "../w.bin", "a/../../w.bin", "%2E%2E/w.bin",
    "javascript:alert(1)", "\\\\other.example\\w.bin",
])
def test_unsafe_weight_paths_http(path):
    with pytest.raises(UnsafePathError):
        resolve_weight_path("http://models.example/m/", path)


def test_safe_weight_paths():
    assert resolve_weight_path("http://models.example:8080/a/m/", "group1-shard1of2.bin") == \
        "http://models.example:8080/a/m/group1-shard1of2.bin"
    assert resolve_weight_path("https://models.example/m/", "sub/./w.bin") == "https://models.example/m/sub/w.bin"
    assert resolve_weight_path("file:///models/m/", "w.bin") == "file:///models/m/w.bin"
    # the model URL's query goes onto every weight URL, as TF.js does (signed URLs)
    assert resolve_weight_path("https://models.example/m/?sig=a%2Fb&t=1", "group1-shard1of1.bin") == \
        "https://models.example/m/group1-shard1of1.bin?sig=a%2Fb&t=1"
    assert resolve_weight_path("/models/m", "./sub/w.bin") == os.path.join("/models/m", "sub", "w.bin")
    assert resolve_weight_path("/models/m", "sub//w.bin") == os.path.join("/models/m", "sub", "w.bin")
    assert resolve_weight_path("/models/m", "a..b.bin") == os.path.join("/models/m", "a..b.bin")
