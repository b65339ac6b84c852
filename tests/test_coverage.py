"""`tfgl ops`' column for TF.js's WebGL backend (engine/tfjs_webgl.json)."""
import json

from engine import coverage
from engine.cli import main


def test_every_kernel_of_tfjs_webgl_is_mapped_once():
    """Each kernel of the data file has a place it computes, and no TensorFlow op is under two kernels."""
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
    rows = {"Conv2D": {"cpu": "cpu", "webgl": "cpu"}, "Relu": {"cpu": "cpu", "webgl": "gl"},
            "Unique": {"cpu": "cpu", "webgl": "cpu"}, "MaxPoolGrad": {"cpu": "missing", "webgl": "missing"},
            "Merge": {"cpu": "neutral", "webgl": "neutral"}}
    assert coverage.gpu_in_tfjs_only(rows) == ["Conv2D", "MaxPoolGrad"]


def test_ops_json_and_text_carry_the_column(capsys):
    assert main(["ops", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ops"]["evaluation"]["TopKV2"] == {"cpu": "cpu", "webgl": "gl"}
    assert data["tfjs_webgl"]["TopKV2"] == "GPU" and data["tfjs_webgl"]["NonMaxSuppressionV5"] == "CPU"
    assert data["tfjs_webgl_only"]["Step"] == {"cpu": "cpu", "webgl": "gl"} and data["tfjs_webgl"]["Step"] == "GPU"
    assert set(data["tfjs_webgl"]) == {op for rows in (*data["ops"].values(), data["tfjs_webgl_only"]) for op in rows}
    assert "TopKV2" not in data["cpu_here_gpu_in_tfjs"] and "Step" not in data["cpu_here_gpu_in_tfjs"]
    assert main(["ops"]) == 0
    text = capsys.readouterr().out
    rows = {op: row for table in (*data["ops"].values(), data["tfjs_webgl_only"]) for op, row in table.items()}
    for state, label in (("cpu", "CPU"), ("missing", "missing")):
        count = sum(rows[op]["webgl"] == state for op in data["cpu_here_gpu_in_tfjs"])
        assert f"{label} here, GPU in TF.js: {count} ops" in text
    assert "tfjs-webgl: GPU" in text and "tfjs-webgl: CPU" in text and "tfjs-webgl: absent" in text
