// Every asked-for tensor of a TF.js graph model, computed by @tensorflow/tfjs on node's CPU backend:
// the `tfjs` reference of `tfgl conformance`.
//   node tfjs_nodes.js JOB.json
// JOB: {model: path/to/model.json, inputs: [{name, dtype, shape, file}], outputs: ["node:0", ...], outdir}.
// Writes outdir/outputs.json ([{name, dtype, shape, file}]) and one little-endian file per tensor it
// could compute; a tensor TF.js refuses to return (inside a loop, a branch not taken) is left out.
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');

function loadHandler(modelPath) {
  const json = JSON.parse(fs.readFileSync(modelPath));
  const specs = [];
  const shards = [];
  for (const group of json.weightsManifest || []) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(shards);
  const artifacts = {
    modelTopology: json.modelTopology, format: json.format, signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata, modelInitializer: json.modelInitializer,
    initializerSignature: json.initializerSignature, weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
  return { load: async () => artifacts };
}

function readInput(spec) {
  const raw = fs.readFileSync(spec.file);
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const typed = spec.dtype === 'int32' ? new Int32Array(buffer)
    : spec.dtype === 'bool' ? new Uint8Array(buffer) : new Float32Array(buffer);
  return tf.tensor(typed, spec.shape, spec.dtype);
}

// A request TF.js refuses is halved until the tensors it cannot give are left out: a few runs per
// such tensor, not one per tensor.
async function tensorsOf(model, feeds, names) {
  try {
    const all = await model.executeAsync(feeds, names);
    return names.map((name, i) => [name, Array.isArray(all) ? all[i] : all]);
  } catch (error) {
    if (process.env.TFGL_TFJS_DEBUG) console.error(`${names.length} names: ${error}`);
    if (names.length === 1) return [];
    const half = names.length >> 1;
    return [...await tensorsOf(model, feeds, names.slice(0, half)), ...await tensorsOf(model, feeds, names.slice(half))];
  }
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2]));
  await tf.setBackend('cpu');
  const model = await tf.loadGraphModel(loadHandler(job.model));
  const feeds = {};
  for (const spec of job.inputs) feeds[spec.name] = readInput(spec);
  const written = [];
  const found = await tensorsOf(model, feeds, job.outputs);
  for (let i = 0; i < found.length; i++) {
    const [name, t] = found[i];
    if (!['float32', 'int32', 'bool'].includes(t.dtype)) continue;
    const data = await t.data();
    const typed = t.dtype === 'float32' ? Float32Array.from(data)
      : t.dtype === 'int32' ? Int32Array.from(data) : Uint8Array.from(data);
    const file = path.join(job.outdir, `tensor${i}.bin`);
    fs.writeFileSync(file, Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
    written.push({ name, dtype: t.dtype, shape: t.shape, file });
  }
  fs.writeFileSync(path.join(job.outdir, 'outputs.json'), JSON.stringify(written));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
