// node_bridge_client.mjs: Node's http2, https and http clients against the
// net/http bridge (examples/h2/compat, AllowHTTP1 on), one port per scheme.
//
//   node node_bridge_client.mjs h2c|tls PORT
//
// Prints "ok NAME" per passed check and "FAIL NAME: why" at the first
// failure, then exits non-zero. The whole run is bounded by a timer.
import http2 from 'node:http2';
import https from 'node:https';
import http from 'node:http';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';

const [mode, port] = process.argv.slice(2);
const secure = mode === 'tls';
const base = `${secure ? 'https' : 'http'}://127.0.0.1:${port}`;

const watchdog = setTimeout(() => {
  process.stdout.write('FAIL timeout: the checks did not finish in 60s\n');
  process.exit(1);
}, 60_000);

function h2request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const chunks = [];
    let head, trailers = {};
    req.on('response', (h) => { head = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ head, trailers, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(body);
  });
}

function h1get(path, headers = {}) {
  const mod = secure ? https : http;
  const opts = { headers, agent: false };
  if (secure) Object.assign(opts, { rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  return new Promise((resolve, reject) => {
    mod.get(base + path, opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function check(name, fn) {
  try {
    await fn();
    process.stdout.write(`ok   node ${mode} ${name}\n`);
  } catch (e) {
    process.stdout.write(`FAIL node ${mode} ${name}: ${e.message}\n`);
    process.exit(1);
  }
}

const session = http2.connect(base, secure ? { rejectUnauthorized: false } : {});
session.on('error', (e) => { process.stdout.write(`FAIL node ${mode} session: ${e.message}\n`); process.exit(1); });

await check('http2 client: the handler sees HTTP/2', async () => {
  const r = await h2request(session, { ':path': '/' });
  assert.equal(r.head[':status'], 200);
  assert.equal(r.head['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(r.body), { alpnProtocol: secure ? 'h2' : '', httpVersion: '2.0' });
});

await check('http2 client: a 1 MiB body echoed, with its trailer', async () => {
  const body = crypto.randomBytes(1 << 20);
  const r = await h2request(session, { ':method': 'POST', ':path': '/echo' }, body);
  assert.equal(r.head[':status'], 200);
  assert.ok(r.body.equals(body), 'echoed body differs');
  assert.equal(r.trailers['x-echo-bytes'], String(body.length));
});

await check('http2 client: a Range of a file', async () => {
  const r = await h2request(session, { ':path': '/files/hello.txt', range: 'bytes=6-9' });
  assert.equal(r.head[':status'], 206);
  assert.equal(r.head['content-range'], 'bytes 6-9/34');
  assert.equal(r.body.toString(), 'from');
});
session.close();

await check(`${secure ? 'https' : 'http'} client: the same port answers HTTP/1.1`, async () => {
  const { res, body } = await h1get('/');
  assert.equal(res.statusCode, 200);
  assert.equal(res.httpVersion, '1.1');
  assert.deepEqual(JSON.parse(body), { alpnProtocol: secure ? 'http/1.1' : '', httpVersion: '1.1' });
});

await check(`${secure ? 'https' : 'http'} client: a Range of a file over HTTP/1.1`, async () => {
  const { res, body } = await h1get('/files/hello.txt', { range: 'bytes=0-4' });
  assert.equal(res.statusCode, 206);
  assert.equal(body.toString(), 'Hello');
});

clearTimeout(watchdog);
