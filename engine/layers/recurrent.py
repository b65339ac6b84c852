"""Recurrent layers: SimpleRNN, LSTM, GRU (and RNN over one of their cells), unrolled over the
sequence length the graph is built for.

The input projection of every time step is one MatMul over the whole sequence (then Unpack into
steps); each step adds the recurrent MatMul of the previous state and applies the cell's gates,
with Keras's gate order and equations (LSTM i, f, c, o; GRU z, r, h with reset_after either way).
Initial states come as extra inputs after the sequence, zeros otherwise (Keras 2 lists them as
inbound tensors; Keras 3 writes them as the call's `initial_state` keyword, which the config reader
must turn into inputs after the positional ones). Inference only: dropout is a no-op,
masks are ignored (every step counts, as if no mask), and a `stateful` layer starts from zero (or
the given) states on every call, like a Keras model whose states were just reset.
"""
from __future__ import annotations

import numpy as np

from engine.errors import ModelFormatError
from engine.layers import activations
from engine.layers.builder import Sym
from engine.layers.normalization import weight_array
from engine.layers.registry import LayerContext, layer

STATE_COUNT = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}
CELLS = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}


def cell_of(ctx: LayerContext) -> tuple[str, dict]:
    """(SimpleRNN | LSTM | GRU, the config holding units/activations/use_bias)."""
    class_name = ctx.spec.class_name
    if class_name in STATE_COUNT:
        return class_name, ctx.config
    cell = ctx.get("cell")
    if isinstance(cell, list) and len(cell) == 1:
        cell = cell[0]
    cell_class = cell.get("class_name") if isinstance(cell, dict) else None
    if cell_class not in CELLS:
        what = "a list of cells (StackedRNNCells)" if isinstance(cell, list) else repr(cell_class)
        raise ModelFormatError(f"layer {ctx.name!r} (RNN): cell {what} is not supported "
                               f"(supported: {', '.join(CELLS)})")
    return CELLS[cell_class], cell.get("config", {})


@layer("SimpleRNN", "LSTM", "GRU", "RNN")
def recurrent(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> list[Sym]:
    kind, cell = cell_of(ctx)
    if not inputs:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}) has no input")
    x, states = inputs[0], list(inputs[1:])
    if x.rank != 3:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}) takes a rank-3 sequence, "
                               f"got shape {x.shape}")
    if states and len(states) != STATE_COUNT[kind]:
        raise ModelFormatError(f"layer {ctx.name!r} ({kind}) takes {STATE_COUNT[kind]} initial state(s), "
                               f"got {len(states)}")
    time_major = bool(ctx.get("time_major", False))
    if time_major:
        x = ctx.op("Transpose", [x, ctx.g.ints([1, 0, 2], "perm")])
    if ctx.get("go_backwards", False):
        x = ctx.op("ReverseV2", [x, ctx.g.ints([1], "axis")])
    units = int(cell["units"])
    recurrent = weight_array(ctx, "recurrent_kernel")
    if recurrent.ndim != 2 or recurrent.shape[0] != units:  # checked before sizing the zero state by units
        raise ModelFormatError(f"layer {ctx.name!r} ({kind}): units is {units} but its recurrent_kernel has "
                               f"shape {list(recurrent.shape)}")
    if not states:
        zeros = ctx.g.const(np.zeros((x.shape[0], units), np.float32), f"{ctx.name}/zero_state")
        states = [zeros] * STATE_COUNT[kind]
    step = {"SimpleRNN": _SimpleRNNStep, "LSTM": _LSTMStep, "GRU": _GRUStep}[kind](ctx, cell, units)
    outputs = []
    for x_t in _input_steps(ctx, x, step.kernel, step.input_bias):
        states = step(x_t, states)
        outputs.append(states[0])
    if ctx.get("return_sequences", False):
        output = ctx.g.op("Pack", outputs, {"N": len(outputs), "axis": 0 if time_major else 1},
                          name=f"{ctx.name}/Pack")
    else:
        output = outputs[-1]
    return [output, *states] if ctx.get("return_state", False) else [output]


def _input_steps(ctx: LayerContext, x: Sym, kernel: Sym, bias: Sym | None) -> list[Sym]:
    """x (batch, time, features) @ kernel (+ bias), all steps in one MatMul, split into time steps."""
    g = ctx.g
    batch, steps, features = x.shape
    width = kernel.shape[-1]
    y = ctx.op("MatMul", [ctx.op("Reshape", [x, g.ints([batch * steps, features])]), kernel])
    if bias is not None:
        y = ctx.op("BiasAdd", [y, bias])
    y = ctx.op("Reshape", [y, g.ints([batch, steps, width])])
    if steps == 1:
        return [ctx.op("Reshape", [y, g.ints([batch, width])])]
    return g.op_outputs("Unpack", [y], {"num": steps, "axis": 1}, name=f"{ctx.name}/Unpack")


class _Step:
    kernel: Sym
    input_bias: Sym | None

    def __init__(self, ctx: LayerContext, cell: dict):
        self.ctx = ctx
        self.activation = cell.get("activation", "tanh")
        self.recurrent_activation = cell.get("recurrent_activation", "sigmoid")
        self.use_bias = bool(cell.get("use_bias", True))

    def op(self, op: str, inputs: list[Sym], attrs: dict | None = None) -> Sym:
        return self.ctx.op(op, inputs, attrs)

    def act(self, x: Sym) -> Sym:
        return activations.apply(self.ctx, x, self.activation)

    def gate(self, x: Sym) -> Sym:
        return activations.apply(self.ctx, x, self.recurrent_activation)

    def split(self, x: Sym, parts: int) -> list[Sym]:
        return self.ctx.g.op_outputs("Split", [self.ctx.g.ints(-1, "axis"), x], {"num_split": parts},
                                     name=f"{self.ctx.name}/Split")


class _SimpleRNNStep(_Step):
    """h = activation(x W + b + h' U)."""

    def __init__(self, ctx: LayerContext, cell: dict, units: int):
        super().__init__(ctx, cell)
        self.kernel, self.recurrent = ctx.weight("kernel"), ctx.weight("recurrent_kernel")
        self.input_bias = ctx.weight("bias") if self.use_bias else None

    def __call__(self, x_t: Sym, states: list[Sym]) -> list[Sym]:
        h = self.act(self.op("AddV2", [x_t, self.op("MatMul", [states[0], self.recurrent])]))
        return [h]


class _LSTMStep(_Step):
    """z = x W + b + h' U; i, f, c~, o = split(z); c = f c' + i act(c~); h = o act(c)."""

    def __init__(self, ctx: LayerContext, cell: dict, units: int):
        super().__init__(ctx, cell)
        self.kernel, self.recurrent = ctx.weight("kernel"), ctx.weight("recurrent_kernel")
        self.input_bias = ctx.weight("bias") if self.use_bias else None

    def __call__(self, x_t: Sym, states: list[Sym]) -> list[Sym]:
        h, c = states
        i, f, candidate, o = self.split(self.op("AddV2", [x_t, self.op("MatMul", [h, self.recurrent])]), 4)
        c = self.op("AddV2", [self.op("Mul", [self.gate(f), c]), self.op("Mul", [self.gate(i), self.act(candidate)])])
        h = self.op("Mul", [self.gate(o), self.act(c)])
        return [h, c]


class _GRUStep(_Step):
    """x_z, x_r, x_h = split(x W + b_in); z = σ(x_z + h' U_z), r = σ(x_r + h' U_r);
    reset_after: h~ = act(x_h + r (h' U_h + b_rec)), else h~ = act(x_h + (r h') U_h);
    h = z h' + (1 - z) h~."""

    def __init__(self, ctx: LayerContext, cell: dict, units: int):
        super().__init__(ctx, cell)
        g = ctx.g
        bias = weight_array(ctx, "bias") if self.use_bias else None
        # Keras always writes reset_after; TF.js's GRU has none (and computes reset_after=False)
        self.reset_after = bool(cell.get("reset_after", bias is not None and bias.ndim == 2))
        self.kernel = ctx.weight("kernel")
        self.input_bias = self.recurrent_bias = None
        # the weights' parts: constants cut at build time, or, training, ops on the weights
        part = _part_op if ctx.training else _part_const
        if bias is not None:
            if self.reset_after:
                if bias.shape != (2, 3 * units):
                    raise ModelFormatError(f"layer {ctx.name!r} (GRU, reset_after): bias shape {bias.shape}, "
                                           f"expected {(2, 3 * units)}")
                self.input_bias = part(ctx, "bias", [0, 0], [1, -1], [3 * units], "input_bias")
                self.recurrent_bias = part(ctx, "bias", [1, 0], [1, -1], [3 * units], "recurrent_bias")
            else:
                self.input_bias = part(ctx, "bias", [0] * bias.ndim, [-1] * bias.ndim, [-1], "bias")
        if self.reset_after:
            self.recurrent = ctx.weight("recurrent_kernel")
        else:
            self.recurrent_zr = part(ctx, "recurrent_kernel", [0, 0], [-1, 2 * units], None, "recurrent_kernel_zr")
            self.recurrent_h = part(ctx, "recurrent_kernel", [0, 2 * units], [-1, -1], None, "recurrent_kernel_h")
        self.one = g.const(np.float32(1), "one")

    def __call__(self, x_t: Sym, states: list[Sym]) -> list[Sym]:
        (h,) = states
        x_z, x_r, x_h = self.split(x_t, 3)
        if self.reset_after:
            inner = self.op("MatMul", [h, self.recurrent])
            if self.recurrent_bias is not None:
                inner = self.op("BiasAdd", [inner, self.recurrent_bias])
            r_z, r_r, r_h = self.split(inner, 3)
            z, r = self.gate(self.op("AddV2", [x_z, r_z])), self.gate(self.op("AddV2", [x_r, r_r]))
            candidate = self.act(self.op("AddV2", [x_h, self.op("Mul", [r, r_h])]))
        else:
            r_z, r_r = self.split(self.op("MatMul", [h, self.recurrent_zr]), 2)
            z, r = self.gate(self.op("AddV2", [x_z, r_z])), self.gate(self.op("AddV2", [x_r, r_r]))
            candidate = self.act(self.op("AddV2", [x_h, self.op("MatMul", [self.op("Mul", [r, h]), self.recurrent_h])]))
        h = self.op("AddV2", [self.op("Mul", [z, h]), self.op("Mul", [self.op("Sub", [self.one, z]), candidate])])
        return [h]


def _part_const(ctx: LayerContext, final: str, begin: list[int], size: list[int], shape: list[int] | None,
                tag: str) -> Sym:
    """A block of a weight (begin, size as Slice's: -1 to the end), reshaped, as a constant."""
    value = weight_array(ctx, final)
    block = value[tuple(slice(b, None if n == -1 else b + n) for b, n in zip(begin, size))]
    return ctx.g.const(block if shape is None else block.reshape(shape), f"{ctx.name}/{tag}")


def _part_op(ctx: LayerContext, final: str, begin: list[int], size: list[int], shape: list[int] | None,
             tag: str) -> Sym:
    """_part_const as Slice and Reshape ops on the weight, so gradients reach it."""
    g = ctx.g
    block = g.op("Slice", [ctx.weight(final), g.ints(begin, "begin"), g.ints(size, "size")], name=f"{ctx.name}/{tag}")
    return block if shape is None else ctx.op("Reshape", [block, g.ints(shape)])
