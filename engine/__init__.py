"""tfgl's engine: runs TensorFlow.js models from Python on an OpenGL (WebGL-style) or numpy backend.

    import engine
    model = engine.load_graph_model("web_model/model.json")
    y = model.predict(x)

The public names below load their module on first use (PEP 562), so `import engine.io` (as the
converter does) loads format I/O alone, never the kernels or the GL backend. Every public entry
point registers the kernels first (engine/kernels/register_all.py).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine import autodiff, backends, callbacks, errors, io, losses, metrics, ops, optimizers, tfjs
    from engine.backends import available_backends, get_backend, set_backend
    from engine.graph import GraphModel, TensorInfo, load_graph_model
    from engine.layers import LayersModel, load_layers_model, load_model
    from engine.tensors import Tensor, tensor

__version__ = "0.1.0"

_PUBLIC = {
    "autodiff": "engine.autodiff", "backends": "engine.backends", "errors": "engine.errors", "io": "engine.io",
    "ops": "engine.ops", "optimizers": "engine.optimizers", "tfjs": "engine.tfjs", "callbacks": "engine.callbacks",
    "losses": "engine.losses", "metrics": "engine.metrics",
    "available_backends": "engine.backends", "get_backend": "engine.backends", "set_backend": "engine.backends",
    "GraphModel": "engine.graph", "TensorInfo": "engine.graph", "load_graph_model": "engine.graph",
    "LayersModel": "engine.layers", "load_layers_model": "engine.layers", "load_model": "engine.layers",
    "Tensor": "engine.tfjs", "tensor": "engine.tfjs",
}
__all__ = ["GraphModel", "LayersModel", "Tensor", "TensorInfo", "autodiff", "available_backends", "backends",
           "callbacks", "errors", "get_backend", "io", "load_graph_model", "load_layers_model", "load_model", "losses",
           "metrics", "ops", "optimizers", "set_backend", "tensor", "tfjs"]


def __getattr__(name: str):
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    importlib.import_module("engine.kernels.register_all")
    module = importlib.import_module(module_name)
    value = module if module_name == f"engine.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
