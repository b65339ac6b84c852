"""Reverse-mode autodiff over the ops tfgl's backends run: the foundation of training (issue 15).

Design, in the order a gradient is made:

* **The tape** (engine/tape.py, below the backends) records. `Backend.run`, the one door every op
  goes through (a graph executor's step, a layers model's node, an eager `engine.ops` call), reports
  each op it ran to the thread's open tapes; a tape keeps an op only when an input is watched or came
  from a kept op, and holds what it kept alive until it closes (the executor asks before freeing a
  tensor early). A layers model's forward pass is recorded by running its graph with the weights fed
  as watched tensors: no second implementation of any layer, and the forward ops run on the model's
  backend as at inference (GL programs on webgl).
* **Gradients** (engine/autodiff/gradients/<family>.py) are one definition per TensorFlow op, by op
  name, in the kernel families' grouping (arithmetic, basic_math, convolution, ...), each family a
  `GradientTable` and engine/autodiff/register_all.py the one place that registers them, as
  tfjs-core's gradients/ and register_all_gradients.ts. A definition sees the op's recorded inputs,
  outputs and attrs and the gradients of its outputs, and returns one gradient per input, computed by
  running ops (`g.run("Conv2DBackpropFilter", ...)`) on the backend the forward op ran on.
* **Backward kernels** are ordinary kernels under TensorFlow's names (ReluGrad, EluGrad,
  Conv2DBackpropFilter, MaxPoolGrad, AvgPoolGrad, BiasAddGrad, LRNGrad, ResizeBilinearGrad, ...),
  defined in the per-backend kernel tables of their family (engine/kernels/{cpu,webgl}/backprop.py
  and window_grads.py, the resizes' in image.py, LRNGrad in normalization.py; GLSL in
  shaders/backprop/ and beside the forward shaders) and registered by engine/kernels/register_all.py
  like any forward kernel, so `engine.ops`, the conformance harness and `tfgl ops` see them too. On
  webgl every backward op the gradients here emit has a GL kernel except UnsortedSegmentSum
  (Embedding's gradient), and so do the forward ops gradients are made of (Mul, Sum, MatMul, ...):
  a backward pass stays on the GPU except where a kernel hands its case to the CPU (a loop past the
  driver's limit).
* **Backprop** (backprop.py): `GradientTape` (watch, record, `gradient(target, sources)`) and
  `gradients(loss_fn, variables)`, TF.js's variableGrads: walks the kept ops from last to first,
  skipping those that do not lead to the target, summing the gradients of tensors read twice.
* **Layers models** (engine/layers/training.py): `forward` runs the model's training-mode graph
  (LayersModel.build(shapes, training=True): BatchNormalization by batch statistics, Dropout's
  masks as Placeholders filled from a seed, weights kept as inputs of the ops that use them) with
  the weights fed as tensors; the graph also gives BatchNormalization's new moving statistics.
  `train_step` is Keras's step: forward, loss (engine/losses.py, Keras 3's formulas as ops; a
  crossentropy from a softmax's or sigmoid's input, as Keras takes it), gradients of the trainable
  weights (frozen layers' left out), the optimizer, the layers' own updates. engine/layers/fit.py
  loops over it for LayersModel's compile / fit / evaluate (engine/layers/keras_api.py).
* **Optimizers** (engine/optimizers/: SGD with momentum / Nesterov, Adam, RMSprop, Adagrad, Keras
  3's rules and defaults) update weights where the backend holds them: an update is ops on the
  weight tensors (GL programs on their textures on webgl) returning new tensors, so weights stay on
  the GPU between steps and are downloaded only when read.
"""
from __future__ import annotations

from engine.autodiff.backprop import GradientTape, gradients
from engine.autodiff.registry import GradientTable, gradient_for

__all__ = ["GradientTable", "GradientTape", "gradient_for", "gradients"]
