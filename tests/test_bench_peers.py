"""bench/peers.py end to end on the shipped example model: tfgl's CPU backend and TF.js's CPU
backend in node each give positive latencies, and a missing browser turns into an "n/a" row."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import EXAMPLE_MODEL

pytestmark = [pytest.mark.node, pytest.mark.slow]
PEERS = Path(__file__).resolve().parent.parent / "bench" / "peers.py"


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_peers_on_the_example_model(tmp_path):
    out = tmp_path / "peers.json"
    result = subprocess.run(
        [sys.executable, str(PEERS), "--models", EXAMPLE_MODEL, "--runs", "2", "--backends",
         "tfgl-cpu,tfjs-cpu,tfjs-webgl,tfjs-webgl-warm", "--chromium", str(tmp_path / "no-chromium"), "--json",
         str(out)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    (model,) = report["models"].values()
    for backend in ("tfgl-cpu", "tfjs-cpu"):
        r = model["results"][backend]
        assert "error" not in r, f"{backend}: {r['error']}"
        assert len(r["calls_ms"]) == 3 and all(ms > 0 for ms in r["calls_ms"]), backend
        assert r["first_ms"] > 0 and r["steady_median_ms"] > 0 and r["steady_p90_ms"] > 0, backend
    assert "no chromium at" in model["results"]["tfjs-webgl"]["error"]
    assert "no chromium at" in model["results"]["tfjs-webgl-warm"]["error"]
    assert "tfgl cpu / tfjs-node cpu: steady" in result.stdout
    assert re.search(r"tfjs webgl \(chromium\)\s+n/a: no chromium at", result.stdout)
    assert report["machine"]["cpus"] >= 1


SERVE_CHECK = r"""
const http = require('http'), fs = require('fs'), os = require('os'), path = require('path');
const [script, model, input] = process.argv.slice(1);
const { stage, serve } = require(script);
(async () => {
  const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tfgl-serve-test-')));
  const www = path.join(scratch, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(scratch, 'secret.txt'), 'not to be served');
  stage({ model, inputs: [{ file: input }] }, www);
  const server = await serve(www);
  const get = (url) => new Promise((resolve) => http.get({ host: '127.0.0.1', port: server.address().port, path: url },
    (response) => { response.resume(); response.on('end', () => resolve(response.statusCode)); }));
  const status = {};
  for (const url of ['/model/model.json', '/model/group1-shard1of1.bin', '/tf.min.js', '/input0.bin', '/../secret.txt',
                     '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/model/../../secret.txt',
                     '/%2e%2e%2f%2e%2e%2fetc/passwd', '/etc/passwd', `/${path.relative('/', model)}`])
    status[url] = await get(url);
  server.close();
  fs.rmSync(scratch, { recursive: true, force: true });
  console.log(JSON.stringify(status));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_the_browser_peer_serves_only_its_staging_folder(tmp_path):
    """tfjs_browser.js copies the model, the inputs and tf.min.js into a fresh folder and serves
    nothing outside it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_peers", PEERS)
    peers = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, peers)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    peers = sys.modules[spec.name]
    model = Path(EXAMPLE_MODEL)
    assert json.loads(model.read_text())["weightsManifest"][0]["paths"] == ["group1-shard1of1.bin"]
    (tmp_path / "x.bin").write_bytes(b"\0" * 16)
    result = subprocess.run(["node", "-e", SERVE_CHECK, str(PEERS.parent / "js" / "tfjs_browser.js"), str(model),
                             str(tmp_path / "x.bin")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "NODE_PATH": str(peers.node_modules())})
    assert result.returncode == 0, result.stderr[-2000:]
    status = json.loads(result.stdout.strip().splitlines()[-1])
    served = [url for url, code in status.items() if code == 200]
    assert served == ["/model/model.json", "/model/group1-shard1of1.bin", "/tf.min.js", "/input0.bin"], status


@pytest.mark.webgl
def test_the_warm_row_runs_on_the_cache_a_first_process_filled(tmp_path, webgl):
    """tfgl's cold row compiles every program; the warm row's new process loads them all from the cache
    folder its filling process left, and both give the same number of draws."""
    out = tmp_path / "peers.json"
    result = subprocess.run(
        [sys.executable, str(PEERS), "--models", EXAMPLE_MODEL, "--runs", "2", "--backends",
         "tfgl-webgl-packed,tfgl-webgl-warm", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (model,) = json.loads(out.read_text())["models"].values()
    cold, warm = model["results"]["tfgl-webgl-packed"], model["results"]["tfgl-webgl-warm"]
    assert cold["programs_compiled_first"] > 0 and cold["programs_loaded_first"] == 0
    assert warm["programs_compiled_first"] == 0
    assert warm["programs_loaded_first"] == cold["programs_compiled_first"]
    assert warm["draws_per_call"] == cold["draws_per_call"]
    assert re.search(r"tfgl webgl packed, warm cache\s+[0-9.]+", result.stdout)
