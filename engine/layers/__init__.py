"""TF.js layers models (Keras configs): each layer call becomes graph ops, run by the graph executor."""
from engine.layers.model import LayersModel, load_layers_model, load_model

__all__ = ["LayersModel", "load_layers_model", "load_model"]
