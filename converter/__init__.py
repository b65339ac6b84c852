"""tfgl's converter: a drop-in for `tensorflowjs_converter` (needs TensorFlow).

    from converter import convert
    convert("saved_model_dir", "web_model", input_format="tf_saved_model")
"""
from converter.api import FORMAT_PAIRS, convert

__all__ = ["FORMAT_PAIRS", "convert"]
