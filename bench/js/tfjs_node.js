// Times a TF.js graph or layers model in node: the first call after loading, then N steady calls
// (every output read back with data(), as users do). Run by bench/peers.py.
//   node tfjs_node.js JOB.json
// JOB: {model: path/to/model.json, format: "graph"|"layers", backend: "cpu"|"wasm", runs: N,
//       inputs: [{name, dtype, shape, file}]}   (files: raw little-endian values)
// Prints one JSON line: {"first_ms": .., "calls_ms": [first, steady...], "backend": .., ...}
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');
// The same model loading and input reading as the real-model tests' TF.js reference.
const { artifacts, readInput } = require('../../tests/real/tfjs_reference.js');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2]));
  const info = {};
  if (job.backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  }
  if (!await tf.setBackend(job.backend)) throw new Error(`TF.js backend ${job.backend} did not initialise`);
  await tf.ready();
  if (job.backend === 'wasm') {
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  const handler = { load: async () => artifacts(job.model) };
  const model = job.format === 'layers' ? await tf.loadLayersModel(handler) : await tf.loadGraphModel(handler);
  const xs = job.inputs.map(readInput);
  const feeds = {};
  job.inputs.forEach((spec, i) => { feeds[spec.name] = xs[i]; });
  // execute() where the graph allows it (as users do), else executeAsync() (control flow, dynamic shapes)
  let sync = true;
  const run = async () => {
    let result = null;
    if (job.format === 'layers') result = model.predict(xs.length === 1 ? xs[0] : xs);
    else if (sync) {
      try { result = model.execute(feeds); } catch (error) {
        if (!/executeAsync/.test(String(error))) throw error;
        sync = false;
      }
    }
    if (result === null) result = await model.executeAsync(feeds);
    const outputs = Array.isArray(result) ? result : (result instanceof tf.Tensor ? [result] : Object.values(result));
    for (const t of outputs) await t.data();
    tf.dispose(outputs);
  };
  const calls = [];
  for (let i = 0; i <= job.runs; i++) {
    const start = performance.now();
    await run();
    calls.push(performance.now() - start);
  }
  console.log(JSON.stringify({ first_ms: calls[0], calls_ms: calls, backend: tf.getBackend(),
                               mode: job.format === 'layers' ? 'predict' : sync ? 'execute' : 'executeAsync', version: tf.version.tfjs,
                               node: process.version, ...info }));
}

main().catch((error) => {
  console.error(error && error.stack || String(error));
  console.log(JSON.stringify({ error: String(error && error.message || error).split('\n')[0] }));
  process.exit(1);
});
