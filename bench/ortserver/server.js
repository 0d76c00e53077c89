// A minimal onnxruntime-node HTTP server, the baseline kubeml's serve-model
// is compared with: node's http module, JSON.parse of an Open Inference
// Protocol v2 request, one session.run, JSON.stringify of the outputs.
//
//   NODE_PATH=<dir with onnxruntime-node and onnxruntime-common> \
//     node server.js MODEL.onnx PORT [MODELNAME]
'use strict';
const http = require('http');
const ort = require('onnxruntime-node');

const [modelPath, port, name = 'fashion'] = process.argv.slice(2);
const inferPath = `/v2/models/${name}/infer`;

const types = { FP32: 'float32', FP64: 'float64', INT64: 'int64', INT32: 'int32' };
const back = { float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32' };

function fail(res, code, msg) {
  const b = JSON.stringify({ error: msg });
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
  res.end(b);
}

async function main() {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v2/health/ready') {
      res.writeHead(200); res.end(); return;
    }
    if (req.method !== 'POST' || req.url !== inferPath) { fail(res, 404, 'not found'); return; }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let feeds;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        feeds = {};
        for (const inp of body.inputs) {
          const t = types[inp.datatype];
          if (!t) throw new Error(`datatype ${inp.datatype}`);
          const data = t === 'float32' ? Float32Array.from(inp.data)
            : t === 'float64' ? Float64Array.from(inp.data)
            : t === 'int32' ? Int32Array.from(inp.data)
            : BigInt64Array.from(inp.data.map(BigInt));
          feeds[inp.name] = new ort.Tensor(t, data, inp.shape);
        }
      } catch (e) { fail(res, 400, String(e.message || e)); return; }
      try {
        const out = await session.run(feeds);
        const outputs = Object.keys(out).map((k) => {
          const t = out[k];
          const data = t.type === 'int64' ? Array.from(t.data, Number) : Array.from(t.data);
          return { name: k, shape: t.dims, datatype: back[t.type] || t.type, data };
        });
        const b = JSON.stringify({ model_name: name, outputs });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
        res.end(b);
      } catch (e) { fail(res, 500, String(e.message || e)); }
    });
  });
  server.keepAliveTimeout = 120000;
  server.listen(Number(port), '127.0.0.1', () => console.error(`ortserver listening on 127.0.0.1:${port}`));
}
main().catch((e) => { console.error(e); process.exit(1); });
