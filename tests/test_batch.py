"""Batch inference without a cluster: engine.ray.Predictor as Ray Data calls it, and the files of
`tfgl batch` (inputs checked before any worker starts, outputs whole or not at all)."""
import os
import sys
import threading

import numpy as np
import pytest

import engine
from engine.batch_io import output_writer, read_sources
from engine.cli import EXAMPLE_MODEL, main
from engine.errors import InputError
from engine.graph import TensorInfo
from engine.ray import Predictor
from engine.webgl.context import create_context

TWO_INPUTS = [TensorInfo("a", "a:0", (None, 3), "float32"), TensorInfo("b", "b:0", (None,), "int32")]


def test_predictor_maps_input_columns_to_output_columns(backend, rng):
    predictor = Predictor(EXAMPLE_MODEL, backend=backend)
    images = rng.standard_normal((7, 24, 24, 3)).astype(np.float32)
    outputs = predictor({"image": images, "id": np.arange(7)})  # columns it doesn't take are ignored
    assert list(outputs) == ["output_0"]
    expected = engine.load_graph_model(EXAMPLE_MODEL, backend=backend).predict(images)
    np.testing.assert_array_equal(outputs["output_0"], expected)


def test_predictor_runs_on_one_context_whichever_thread_calls_it(webgl, monkeypatch):
    """Ray Data calls an actor from a thread other than the one that made it: one context, not one per thread."""
    made = []
    monkeypatch.setattr(engine.backends.webgl, "create_context", lambda: made.append(1) or create_context())
    predictor = Predictor(EXAMPLE_MODEL, backend=webgl)
    images = np.zeros((2, 24, 24, 3), np.float32)
    for _ in range(2):
        caller = threading.Thread(target=predictor, args=({"image": images},))
        caller.start()
        caller.join()
    assert len(made) == 1


def test_predictor_names_the_columns_it_lacks():
    with pytest.raises(InputError, match=r"no column 'image'.*columns are 'pixels'.*inputs image"):
        Predictor(EXAMPLE_MODEL, backend="cpu")({"pixels": np.zeros((1, 24, 24, 3), np.float32)})


def test_npz_gives_one_column_per_input_and_npy_the_only_one(tmp_path, rng):
    a, b = rng.standard_normal((5, 3)).astype(np.float32), np.arange(5, dtype=np.int32)
    np.savez(tmp_path / "ab.npz", a=a, b=b, label=np.zeros(5))
    np.save(tmp_path / "a.npy", a)
    (ab,) = read_sources([str(tmp_path / "ab.npz")], TWO_INPUTS)
    assert set(ab) == {"a", "b"}
    np.testing.assert_array_equal(ab["a"], a)
    np.testing.assert_array_equal(ab["b"], b)
    (single,) = read_sources([str(tmp_path / "a.npy")], TWO_INPUTS[:1])
    np.testing.assert_array_equal(single["a"], a)
    with pytest.raises(InputError, match="the model has 2 inputs"):
        read_sources([str(tmp_path / "a.npy")], TWO_INPUTS)


@pytest.mark.parametrize("arrays, message", [
    ({"a": np.zeros((5, 3), np.float32)}, r"ab.npz has no array 'b'; it holds 'a'"),
    ({"a": np.zeros((5, 3), np.float32), "b": np.zeros(4, np.int32)}, r"same number of rows.*a: 5, b: 4"),
    ({"a": np.zeros((5, 4), np.float32), "b": np.zeros(5, np.int32)}, r"ab.npz: input 'a' must have shape \[-1, 3\]"),
    ({"a": np.zeros((5, 3), np.float32), "b": np.zeros(5, np.float32)}, r"ab.npz: input 'b' must be int32"),
    ({"a": np.zeros((0, 3), np.float32), "b": np.zeros(0, np.int32)}, r"same number of rows \(> 0\)"),
])
def test_bad_inputs_fail_before_any_worker_naming_the_file(tmp_path, arrays, message):
    np.savez(tmp_path / "ab.npz", **arrays)
    with pytest.raises(InputError, match=message):
        read_sources([str(tmp_path / "ab.npz")], TWO_INPUTS)


def test_image_folder_in_file_name_order_with_the_models_channels(tmp_path, rng):
    from PIL import Image
    images = rng.integers(0, 256, (3, 24, 24, 3), dtype=np.uint8)
    for name, pixels in zip(["b.png", "c.bmp", "a.png"], images):
        Image.fromarray(pixels).save(tmp_path / name)
    Image.fromarray(images[0, ..., 0]).save(tmp_path / "gray.png")  # one channel, made RGB
    (tmp_path / "notes.txt").write_text("not an image")
    model = engine.load_graph_model(EXAMPLE_MODEL, backend="cpu")
    (columns,) = read_sources([str(tmp_path)], model.inputs)
    np.testing.assert_array_equal(columns["image"][:3], images[[2, 0, 1]])
    np.testing.assert_array_equal(columns["image"][3], np.repeat(images[0, ..., :1], 3, axis=-1))


def test_images_are_not_resized(tmp_path):
    from PIL import Image
    Image.new("RGB", (32, 24)).save(tmp_path / "wide.png")
    model = engine.load_graph_model(EXAMPLE_MODEL, backend="cpu")
    with pytest.raises(InputError, match=r"wide.png is 24x32; image\[-1, 24, 24, 3\] takes 24x24.*does not resize"):
        read_sources([str(tmp_path)], model.inputs)


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_outputs_keep_rows_in_order_and_tensor_shapes(tmp_path, rng, suffix):
    batches = [{"logits": rng.standard_normal((n, 2, 3)).astype(np.float32), "score": rng.standard_normal(n)}
               for n in (4, 1, 3)]
    path = str(tmp_path / f"out{suffix}")
    with output_writer(path) as write:
        for batch in batches:
            write(batch)
    if suffix == ".npz":
        saved = dict(np.load(path))
    else:
        import pyarrow.parquet as pq
        table = pq.read_table(path)
        saved = {"logits": table["logits"].combine_chunks().to_numpy_ndarray(), "score": table["score"].to_numpy()}
    for name in ("logits", "score"):
        np.testing.assert_array_equal(saved[name], np.concatenate([b[name] for b in batches]))
    assert os.listdir(tmp_path) == [f"out{suffix}"]


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_a_failed_run_leaves_no_output(tmp_path, suffix):
    with pytest.raises(RuntimeError), output_writer(str(tmp_path / f"out{suffix}")) as write:
        write({"y": np.zeros((2, 3), np.float32)})
        raise RuntimeError("a worker failed")
    assert os.listdir(tmp_path) == []


def test_tfgl_batch_rejects_bad_files_before_starting_ray(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((4, 24, 24, 1), np.float32))
    csv = tmp_path / "out.csv"
    assert main(["batch", EXAMPLE_MODEL, str(tmp_path / "x.npy"), "--output", str(csv)]) == 1
    assert capsys.readouterr().err.strip() == f"tfgl batch: error: --output {csv}: write .npz or .parquet"
    assert main(["batch", EXAMPLE_MODEL, str(tmp_path / "x.npy"), "--output", str(tmp_path / "out.npz")]) == 1
    assert "x.npy: input 'image' must have shape [-1, 24, 24, 3]" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["x.npy"]
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized()
