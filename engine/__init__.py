"""tfgl's engine: runs TensorFlow.js models from Python on an OpenGL (WebGL-style) or numpy backend.

    import engine
    model = engine.load_graph_model("web_model/model.json")
    y = model.predict(x)
"""
from engine import errors, io, kernels  # noqa: F401  (kernels registers every kernel)
from engine.backends import available_backends, get_backend, set_backend
from engine.graph import GraphModel, TensorInfo, load_graph_model
from engine.layers import LayersModel, load_layers_model, load_model
from engine.tensor import Tensor, tensor
from engine import ops, tfjs  # noqa: E402  (needs the registered kernels)

__version__ = "0.1.0"
__all__ = ["GraphModel", "LayersModel", "Tensor", "TensorInfo", "available_backends", "errors", "get_backend", "io",
           "load_graph_model", "load_layers_model", "load_model", "ops", "set_backend", "tensor", "tfjs"]
