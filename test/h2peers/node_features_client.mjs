// node_features_client.mjs: Node's http2 client against our server
// (featurepeer -serve) for what goes beyond plain requests: server push,
// extended CONNECT, ALTSVC and ORIGIN, padding, custom settings, the
// server's inactivity timeout.
//
//   node node_features_client.mjs URL [CA_FILE]
//
// Prints "ok NAME" per passed check or "FAIL NAME: why" and exits non-zero.
import http2 from 'node:http2';
import fs from 'node:fs';
import assert from 'node:assert/strict';

const [url, caFile] = process.argv.slice(2);
const tlsOpts = caFile ? { ca: fs.readFileSync(caFile), servername: 'localhost' } : {};

const watchdog = setTimeout(() => {
  process.stdout.write('FAIL timeout: the checks did not finish in 60s\n');
  process.exit(1);
}, 60_000);

function connect(extra = {}) {
  const s = http2.connect(url, { ...tlsOpts, ...extra });
  s.on('error', () => {});
  return s;
}

function collect(st) {
  return new Promise((resolve, reject) => {
    const res = { headers: null, body: [] };
    st.on('response', (h) => { res.headers = h; });
    st.on('push', (h) => { res.headers = h; }); // a pushed stream's response
    st.on('data', (c) => res.body.push(c));
    st.on('end', () => { res.raw = Buffer.concat(res.body); res.body = res.raw.toString(); resolve(res); });
    st.on('error', reject);
  });
}

// until resolves once cond() holds. The watchdog bounds the wait: how long
// an event takes to arrive on a loaded machine is no part of any check.
async function until(cond) {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('push: our server pushes, node takes it', async () => {
  const s = connect();
  const pushed = new Promise((resolve) => {
    s.on('stream', (ps, headers) => resolve({ ps, headers, res: collect(ps) }));
  });
  const res = await collect(s.request({ ':path': '/index.html' }));
  assert.equal(res.headers[':status'], 200);
  const p = await pushed;
  assert.equal(p.headers[':path'], '/style.css');
  assert.equal(p.headers[':method'], 'GET');
  const pr = await p.res;
  assert.equal(pr.headers[':status'], 200);
  assert.equal(pr.headers['content-type'], 'text/css');
  assert.equal(pr.body, 'body { color: green }\n');
  s.close();
});

check('push: node refuses with enablePush false, our server does not push', async () => {
  const s = connect({ settings: { enablePush: false } });
  let pushes = 0;
  s.on('stream', () => { pushes++; });
  const res = await collect(s.request({ ':path': '/index.html' }));
  assert.equal(res.headers[':status'], 200);
  assert.equal(pushes, 0);
  s.close();
});

check('push: node resets the pushed stream, the session lives on', async () => {
  const s = connect();
  s.on('stream', (ps) => { ps.on('error', () => {}); ps.close(http2.constants.NGHTTP2_CANCEL); });
  const res = await collect(s.request({ ':path': '/index.html' }));
  assert.equal(res.headers[':status'], 200);
  const again = await collect(s.request({ ':path': '/style.css' }));
  assert.equal(again.headers['x-not-pushed'], '1');
  s.close();
});

check('extended CONNECT: node opens a :protocol tunnel to our server', async () => {
  const s = connect();
  await new Promise((resolve) => s.once('remoteSettings', resolve));
  assert.equal(s.remoteSettings.enableConnectProtocol, true);
  const st = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': url.startsWith('https') ? 'https' : 'http',
    ':path': '/chat', ':authority': new URL(url).host }, { endStream: false });
  const res = collect(st);
  st.end('hello tunnel');
  const r = await res;
  assert.equal(r.headers[':status'], 200);
  assert.equal(r.headers['x-protocol'], 'websocket');
  assert.equal(r.body, 'hello tunnel');
  s.close();
});

check('ALTSVC and ORIGIN: our server sends them, node reports them', async () => {
  const s = connect();
  const alts = [];
  const origins = [];
  s.on('altsvc', (alt, origin, streamId) => alts.push(`${alt}|${origin}|${streamId !== 0}`));
  s.on('origin', (o) => origins.push(...o));
  const res = await collect(s.request({ ':path': '/altsvc' }));
  assert.equal(res.headers[':status'], 200);
  // Node may report the session-level frames after the response's end.
  await until(() => alts.length >= 2 && (!url.startsWith('https') || origins.length >= 3));
  assert.deepEqual(alts.sort(), ['h2="alt.example:443"|https://alt.example|false', 'h3=":8443"; ma=60||true'].sort());
  if (url.startsWith('https')) {
    // Node reports ORIGIN frames (and keeps originSet) over TLS only.
    assert.deepEqual(origins, ['https://a.example', 'https://b.example:8443', 'https://late.example']);
    for (const o of origins) assert.ok(s.originSet.includes(o), `originSet ${s.originSet} lacks ${o}`);
  }
  s.close();
});

for (const [name, strategy] of [['max', http2.constants.PADDING_STRATEGY_MAX], ['aligned', http2.constants.PADDING_STRATEGY_ALIGNED]]) {
  check(`padding: node pads (${name}), our server (padding too) echoes`, async () => {
    const s = connect({ paddingStrategy: strategy });
    const body = Buffer.alloc(100_000, 7);
    for (let i = 0; i < body.length; i += 997) body[i] = i % 251;
    const st = s.request({ ':method': 'POST', ':path': '/echo' });
    const res = collect(st);
    st.end(body);
    const r = await res;
    assert.equal(r.headers[':status'], 200);
    assert.equal(Buffer.compare(r.raw, body), 0, 'echoed bytes differ');
    s.close();
  });
}

check('settings: custom settings and zero values both ways', async () => {
  const s = connect({ settings: { customSettings: { 0xf4: 3 }, initialWindowSize: 0, headerTableSize: 0 }, remoteCustomSettings: [0xf1] });
  await new Promise((resolve) => s.once('remoteSettings', resolve));
  assert.equal(s.remoteSettings.customSettings?.[0xf1], 9, `our custom setting: ${JSON.stringify(s.remoteSettings)}`);
  s.setLocalWindowSize(1 << 20);
  const st = s.request({ ':path': '/remote-settings' });
  const res = await collect(st);
  assert.equal(res.headers['x-custom'], 'f4=3');
  s.close();
});

check('timeout: our server closes a quiet session gracefully (GOAWAY NO_ERROR)', async () => {
  const s = connect();
  const goaway = new Promise((resolve) => s.once('goaway', (code) => resolve(code)));
  const closed = new Promise((resolve) => s.once('close', resolve));
  await collect(s.request({ ':path': '/style.css' }));
  const started = Date.now();
  assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  await closed;
  assert.ok(Date.now() - started >= 1000, 'closed before the session was quiet for the timeout');
});

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
clearTimeout(watchdog);
process.exit(failed ? 1 : 0);
