// node_connect_proxy.mjs: the CONNECT proxy example of Node's http2
// documentation, with Node's client, through our examples/h2/proxy.
//
//   node node_connect_proxy.mjs PROXY_URL [CA_FILE]
//
// It starts its own TCP target (which answers what it read, prefixed, once
// the client ended), tunnels to it through the proxy, and checks a refused
// non-CONNECT request and an unreachable target too. Prints "ok NAME" or
// "FAIL NAME: why" per check and exits non-zero on failure.
import http2 from 'node:http2';
import net from 'node:net';
import fs from 'node:fs';
import assert from 'node:assert/strict';

const [proxyURL, caFile] = process.argv.slice(2);
const tlsOpts = caFile ? { ca: fs.readFileSync(caFile), servername: 'localhost' } : {};
const watchdog = setTimeout(() => { process.stdout.write('FAIL timeout\n'); process.exit(1); }, 30_000);

const target = net.createServer((sock) => {
  const chunks = [];
  sock.on('data', (c) => chunks.push(c));
  sock.on('end', () => sock.end(`target got: ${Buffer.concat(chunks)}`));
  sock.on('error', () => {});
});
await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetAuthority = `127.0.0.1:${target.address().port}`;

const client = http2.connect(proxyURL, tlsOpts);
client.on('error', () => {});

function exchange(headers, body) {
  return new Promise((resolve) => {
    const req = client.request(headers, { endStream: body === undefined });
    let status;
    const chunks = [];
    req.on('response', (h) => { status = h[':status']; });
    req.on('data', (c) => chunks.push(c));
    req.on('close', () => resolve({ status, body: Buffer.concat(chunks).toString(), rstCode: req.rstCode }));
    req.on('error', () => {});
    if (body !== undefined) req.end(body);
  });
}

const checks = [
  ['CONNECT tunnel to a TCP target', async () => {
    const r = await exchange({ ':method': 'CONNECT', ':authority': targetAuthority }, 'Jane');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'target got: Jane');
  }],
  ['GET refused with REFUSED_STREAM', async () => {
    const r = await exchange({ ':path': '/' });
    assert.equal(r.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
  }],
  ['unreachable target: CONNECT_ERROR', async () => {
    const closed = net.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await exchange({ ':method': 'CONNECT', ':authority': `127.0.0.1:${port}` }, 'x');
    assert.equal(r.rstCode, http2.constants.NGHTTP2_CONNECT_ERROR);
  }],
];

let failed = false;
for (const [name, fn] of checks) {
  try {
    await fn();
    process.stdout.write(`ok ${name}\n`);
  } catch (e) {
    failed = true;
    process.stdout.write(`FAIL ${name}: ${e.message.split('\n')[0]}\n`);
  }
}
client.close();
target.close();
clearTimeout(watchdog);
process.exit(failed ? 1 : 0);
