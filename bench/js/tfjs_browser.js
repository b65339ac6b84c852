// Times a TF.js model on TF.js's WebGL backend in Debian's headless Chromium (WebGL on SwiftShader
// there), driven by playwright-core. Run by bench/peers.py.
//   node tfjs_browser.js JOB.json   (JOB as tfjs_node.js's, plus "chromium": the browser's path)
// The model's files, the inputs and tf.min.js are copied into a fresh temporary folder, and only
// that folder is served, from 127.0.0.1; the browser gets a fresh profile (--user-data-dir), or the
// folder JOB's "profile" names (peers.py's reused-profile row: Chromium's GPU program cache lives there).
const { chromium } = require('playwright-core');
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');

function stage(job, root) {
  // root/model/model.json + its shards, root/input<i>.bin, root/tf.min.js
  fs.mkdirSync(path.join(root, 'model'));
  const json = JSON.parse(fs.readFileSync(job.model));
  fs.copyFileSync(job.model, path.join(root, 'model', 'model.json'));
  for (const group of json.weightsManifest || []) {
    for (const shard of group.paths) {
      const name = path.posix.normalize(shard);
      if (path.isAbsolute(name) || name.split('/')[0] === '..') throw new Error(`shard path ${shard} leaves the model's folder`);
      fs.mkdirSync(path.dirname(path.join(root, 'model', name)), { recursive: true });
      fs.copyFileSync(path.join(path.dirname(job.model), name), path.join(root, 'model', name));
    }
  }
  job.inputs.forEach((spec, i) => fs.copyFileSync(spec.file, path.join(root, `input${i}.bin`)));
  fs.copyFileSync(path.join(path.dirname(require.resolve('@tensorflow/tfjs')), 'tf.min.js'),
                  path.join(root, 'tf.min.js'));
}

function serve(root) {
  return new Promise((resolve, reject) => {
    const server = http.createServer((request, response) => {
      let url;
      try { url = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname); } catch { url = null; }
      if (url === '/') { response.setHeader('Content-Type', 'text/html'); response.end('<html><body></body></html>'); return; }
      const file = url && path.resolve(root, '.' + url);
      if (!file || !file.startsWith(root + path.sep)) { response.statusCode = 403; response.end(); return; }
      fs.readFile(file, (error, data) => {
        if (error) { response.statusCode = 404; response.end(); return; }
        if (file.endsWith('.js')) response.setHeader('Content-Type', 'text/javascript');
        else if (file.endsWith('.json')) response.setHeader('Content-Type', 'application/json');
        response.end(data);
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2]));
  const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tfgl-bench-')));
  const root = path.join(scratch, 'www');
  const profile = job.profile || path.join(scratch, 'profile');
  fs.mkdirSync(root);
  fs.mkdirSync(profile, { recursive: true });
  let server = null;
  let browser = null;
  try {
    stage(job, root);
    server = await serve(root);
    const base = `http://127.0.0.1:${server.address().port}`;
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: job.chromium, headless: true,
      args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const page = browser.pages()[0] || await browser.newPage();
    await page.goto(base + '/');
    await page.addScriptTag({ url: base + '/tf.min.js' });
    const inputs = job.inputs.map((spec, i) => ({ ...spec, file: undefined, url: `${base}/input${i}.bin` }));
    const result = await page.evaluate(async ({ modelUrl, format, inputs, runs }) => {
      if (!await tf.setBackend('webgl')) throw new Error('TF.js WebGL backend did not initialise in Chromium');
      await tf.ready();
      const model = format === 'layers' ? await tf.loadLayersModel(modelUrl) : await tf.loadGraphModel(modelUrl);
      const xs = [];
      const feeds = {};
      for (const spec of inputs) {
        const buffer = await (await fetch(spec.url)).arrayBuffer();
        const x = tf.tensor(spec.dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer),
                            spec.shape, spec.dtype);
        xs.push(x);
        feeds[spec.name] = x;
      }
      let sync = true;  // execute() where the graph allows it, else executeAsync()
      const run = async () => {
        let out = null;
        if (format === 'layers') out = model.predict(xs.length === 1 ? xs[0] : xs);
        else if (sync) {
          try { out = model.execute(feeds); } catch (error) {
            if (!/executeAsync/.test(String(error))) throw error;
            sync = false;
          }
        }
        if (out === null) out = await model.executeAsync(feeds);
        const outputs = Array.isArray(out) ? out : (out instanceof tf.Tensor ? [out] : Object.values(out));
        for (const t of outputs) await t.data();
        tf.dispose(outputs);
      };
      const calls = [];
      for (let i = 0; i <= runs; i++) {
        const start = performance.now();
        await run();
        calls.push(performance.now() - start);
      }
      const gl = tf.backend().gpgpu.gl;
      const debug = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
      return { first_ms: calls[0], calls_ms: calls, backend: tf.getBackend(),
               mode: format === 'layers' ? 'predict' : sync ? 'execute' : 'executeAsync', version: tf.version.tfjs, renderer,
               webgl_version: tf.env().getNumber('WEBGL_VERSION'), pack: tf.env().getBool('WEBGL_PACK') };
    }, { modelUrl: base + '/model/model.json', format: job.format, inputs, runs: job.runs });
    result.browser = browser.browser() ? browser.browser().version() : null;
    console.log(JSON.stringify(result));
  } finally {
    if (browser) await browser.close();
    if (server) server.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

module.exports = { stage, serve };
if (require.main === module) main().catch((error) => {
  console.error(error && error.stack || String(error));
  console.log(JSON.stringify({ error: String(error && error.message || error).split('\n')[0] }));
  process.exit(1);
});
