"""What model.save writes after training loads in TF.js itself (node, its CPU backend) and gives
tfgl's predictions, which training changed. The source is a Keras 2 .h5 converted by `tfgl convert`:
TF.js 4.22 cannot read Keras 3 configs at all (tests/real/test_interop.py)."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.fixtures import layers_sources
from tests.real.reference import tfjs_outputs

pytestmark = [pytest.mark.real, pytest.mark.node, pytest.mark.converter, pytest.mark.tf]


def test_tfjs_loads_a_trained_and_saved_model(tmp_path, backend):
    from engine.cli import main
    h5 = layers_sources.save_h5("cnn", "2", str(tmp_path / "model.h5"))
    assert main(["convert", h5, str(tmp_path / "converted"), "--input_format=keras"]) == 0
    model = engine.load_layers_model(str(tmp_path / "converted"), backend=backend)
    x = layers_sources.inputs_for("cnn", batch=6)[0]
    before = model.predict(x)
    model.compile(optimizer=engine.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(6) % 5, batch_size=3, epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "trained")
    got = model.predict(x)
    assert np.abs(got - before).max() > 1e-3   # training moved the predictions
    want = tfjs_outputs(tmp_path / "trained" / "model.json", {"image": x}, fmt="layers")["0"]
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
