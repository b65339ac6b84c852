"""`tfgl ops`' column for TF.js's WebGL backend (engine/tfjs_webgl.json)."""
import json

from engine import coverage
from engine.cli import main


def test_every_kernel_of_tfjs_webgl_is_mapped_once():
    """The data file lists exactly ../shared/webgl_kernels.txt's kernels (as the repository ships it, in
    the same order), each with a place it computes, and no TensorFlow op under two kernels."""
    with open(coverage.TFJS_WEBGL) as file:
        data = json.load(file)
    assert all(kernel["runs"] in ("GPU", "CPU") for kernel in data["kernels"].values())
    ops = [op for kernel in data["kernels"].values() for op in kernel["ops"]]
    assert len(ops) == len(set(ops)) and not set(ops) & set(data["composed"])
    assert data["kernels"]["fromPixels"]["ops"] == []  # browser image sources, no TensorFlow op


def test_column_says_where_tfjs_computes():
    assert coverage.tfjs_webgl("Conv2D") == "GPU"
    assert coverage.tfjs_webgl("TopKV2") == "GPU"
    assert coverage.tfjs_webgl("NonMaxSuppressionV5") == "CPU"   # reads boxes and scores back
    assert coverage.tfjs_webgl("StringSplit") == "CPU"
    assert coverage.tfjs_webgl("Where") == "CPU"                 # no kernel: whereAsync reads back
    assert coverage.tfjs_webgl("RFFT") == "GPU"                  # no kernel: built on fft
    assert coverage.tfjs_webgl("TensorListStack") == "absent"    # the executor's
    assert coverage.tfjs_webgl("NoSuchOp") == "absent"


def test_gap_lists_ops_gpu_in_tfjs_and_not_gl_here():
    rows = {"A": {"cpu": "cpu", "webgl": "cpu", "tfjs_webgl": "GPU"},
            "B": {"cpu": "cpu", "webgl": "gl", "tfjs_webgl": "GPU"},
            "C": {"cpu": "cpu", "webgl": "cpu", "tfjs_webgl": "CPU"},
            "D": {"cpu": "missing", "webgl": "missing", "tfjs_webgl": "GPU"}}
    assert coverage.gpu_in_tfjs_only(rows) == ["A", "D"]


def test_ops_json_and_text_carry_the_column(capsys):
    assert main(["ops", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ops"]["evaluation"]["TopKV2"] == {"cpu": "cpu", "webgl": "gl", "tfjs_webgl": "GPU"}
    assert data["ops"]["dynamic"]["NonMaxSuppressionV5"]["tfjs_webgl"] == "CPU"
    assert data["tfjs_webgl_only"]["Step"] == {"cpu": "cpu", "webgl": "gl", "tfjs_webgl": "GPU"}
    assert "TopKV2" not in data["cpu_here_gpu_in_tfjs"] and "Step" not in data["cpu_here_gpu_in_tfjs"]
    assert main(["ops"]) == 0
    text = capsys.readouterr().out
    assert f"CPU here, GPU in TF.js: {len(data['cpu_here_gpu_in_tfjs'])} ops" in text
    assert "tfjs-webgl: GPU" in text and "tfjs-webgl: CPU" in text and "tfjs-webgl: absent" in text
