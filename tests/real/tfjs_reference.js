// Runs a TF.js model with @tensorflow/tfjs (CPU backend) on inputs given as raw files; the
// reference for tfgl's outputs.
//   node tfjs_reference.js JOB.json
// JOB: {model: path/to/model.json, format: "graph"|"layers", inputs: [{name, dtype, shape, file}],
//       outputs: [tensor names] (graph models), outdir}; a layers model's outputs are named "0", "1", ...
// Writes outdir/outputs.json ([{name, dtype, shape, file}]) and one little-endian file per output.
// A string tensor's file (input or output) is a JSON list of its elements' bytes in base64: the
// bytes pass through unchanged, valid UTF-8 or not.
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');

function artifacts(modelPath) {
  const json = JSON.parse(fs.readFileSync(modelPath));
  const dir = path.dirname(modelPath);
  const specs = [];
  const shards = [];
  for (const group of json.weightsManifest || []) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
    convertedBy: json.convertedBy, signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer, initializerSignature: json.initializerSignature, weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

function readInput(spec) {
  if (spec.dtype === 'string') {
    const elements = JSON.parse(fs.readFileSync(spec.file)).map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
    return tf.tensor(elements, spec.shape, 'string');
  }
  const raw = fs.readFileSync(spec.file);
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const values = spec.dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer);
  return tf.tensor(values, spec.shape, spec.dtype);
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2]));
  await tf.setBackend('cpu');
  const handler = { load: async () => artifacts(job.model) };
  let outputs;
  if (job.format === 'layers') {
    const model = await tf.loadLayersModel(handler);
    const xs = job.inputs.map(readInput);
    const result = model.predict(xs.length === 1 ? xs[0] : xs);
    outputs = (Array.isArray(result) ? result : [result]).map((t, i) => [String(i), t]);
  } else {
    const model = await tf.loadGraphModel(handler);
    const feeds = {};
    for (const spec of job.inputs) feeds[spec.name] = readInput(spec);
    let result = await model.executeAsync(feeds, job.outputs);
    result = Array.isArray(result) ? result : [result];
    outputs = result.map((t, i) => [job.outputs[i], t]);
  }
  const written = [];
  for (let i = 0; i < outputs.length; i++) {
    const [name, t] = outputs[i];
    if (t.dtype === 'string') {
      const file = path.join(job.outdir, `output${i}.json`);
      fs.writeFileSync(file, JSON.stringify((await t.bytes()).map((b) => Buffer.from(b).toString('base64'))));
      written.push({ name, dtype: t.dtype, shape: t.shape, file });
      continue;
    }
    const data = await t.data();
    const file = path.join(job.outdir, `output${i}.bin`);
    // Converted by value: some TF.js kernels hand back an Int32Array under dtype float32.
    const typed = t.dtype === 'float32' ? Float32Array.from(data)
      : t.dtype === 'int32' ? Int32Array.from(data) : Uint8Array.from(data);
    fs.writeFileSync(file, Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
    written.push({ name, dtype: t.dtype, shape: t.shape, file });
  }
  fs.writeFileSync(path.join(job.outdir, 'outputs.json'), JSON.stringify(written));
}

module.exports = { artifacts, readInput };  // bench/js/tfjs_node.js loads models the same way
if (require.main === module) {
  main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
}
