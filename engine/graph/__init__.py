"""TF.js graph models: graph structure, execution plans and executors."""
from engine.graph.model import GraphModel, TensorInfo, load_graph_model

__all__ = ["GraphModel", "TensorInfo", "load_graph_model"]
