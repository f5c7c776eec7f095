// node_client.mjs: Node's http2 client against our example server
// (examples/h2/server). Each check asserts exact results.
//
//   node node_client.mjs URL [CA_FILE]
//
// URL is http://host:port (h2c) or https://host:port (TLS, verified against
// CA_FILE). Prints "ok NAME" per passed check and "FAIL NAME: why" on the first
// failure, then exits non-zero. The whole run is bounded by a timer.
import http2 from 'node:http2';
import fs from 'node:fs';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';

const [url, caFile] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node node_client.mjs URL [CA_FILE]\n');
  process.exit(2);
}
const HELLO = "Hello from h2rpc's HTTP/2 engine!\n";

const watchdog = setTimeout(() => {
  process.stdout.write('FAIL timeout: the checks did not finish in 60s\n');
  process.exit(1);
}, 60_000);

function connect() {
  const opts = caFile ? { ca: fs.readFileSync(caFile), servername: 'localhost' } : {};
  return new Promise((resolve, reject) => {
    const s = http2.connect(url, opts);
    s.once('error', reject);
    // 'remoteSettings' fires when the server's first SETTINGS arrived.
    s.once('remoteSettings', () => resolve(s));
  });
}

// request sends one request and collects status, headers, body and trailers.
function request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const st = session.request(headers, { endStream: body === undefined });
    const res = { headers: null, trailers: null, body: [] };
    st.on('response', (h) => { res.headers = h; });
    st.on('trailers', (t) => { res.trailers = t; });
    st.on('data', (c) => res.body.push(c));
    st.on('end', () => { res.body = Buffer.concat(res.body); resolve(res); });
    st.on('error', reject);
    st.on('close', () => {
      if (st.rstCode) reject(new Error(`stream reset with code ${st.rstCode}`));
    });
    if (body !== undefined) st.end(body);
  });
}

function echoCheck(res, body) {
  assert.equal(res.headers[':status'], 200);
  assert.equal(Buffer.compare(res.body, body), 0, `echoed ${res.body.length} bytes differ from the ${body.length} sent`);
  assert.ok(res.trailers, 'no trailers event');
  assert.equal(res.trailers['x-echo-bytes'], String(body.length));
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('get-root', async () => {
  const s = await connect();
  const res = await request(s, { ':path': '/' });
  assert.equal(res.headers[':status'], 200);
  assert.equal(res.headers['content-length'], String(HELLO.length));
  assert.equal(res.body.toString(), HELLO);
  assert.equal(res.trailers, null, 'unexpected trailers on /');
  s.close();
});

check('echo-1MiB-trailers', async () => {
  const s = await connect();
  const body = crypto.randomBytes(1 << 20);
  const res = await request(s, { ':method': 'POST', ':path': '/echo', 'content-type': 'application/x-test' }, body);
  echoCheck(res, body);
  assert.equal(res.headers['content-type'], 'application/x-test');
  s.close();
});

check('echo-10MiB-beyond-the-windows', async () => {
  // More than our server's 4 MiB stream window and Node's 64 KiB default:
  // both sides must send WINDOW_UPDATEs as the body flows.
  const s = await connect();
  const body = crypto.randomBytes(10 << 20);
  echoCheck(await request(s, { ':method': 'POST', ':path': '/echo' }, body), body);
  s.close();
});

check('alpn-and-head', async () => {
  const s = await connect();
  assert.equal(s.alpnProtocol, caFile ? 'h2' : 'h2c');
  assert.equal(s.encrypted, Boolean(caFile));
  const res = await request(s, { ':method': 'HEAD', ':path': '/' });
  assert.equal(res.headers[':status'], 200);
  assert.equal(res.headers['content-length'], String(HELLO.length));
  assert.equal(res.body.length, 0, 'HEAD answered with a body');
  s.close();
});

check('request-trailers-and-continuation', async () => {
  const s = await connect();
  // A 40 kB header field does not fit one 16 kB frame: Node sends HEADERS
  // plus CONTINUATION frames, which the server must reassemble.
  const big = 'v'.repeat(40_000);
  const res = await request(s, { ':path': '/', 'x-big': big });
  assert.equal(res.body.toString(), HELLO);
  // Request trailers: the echo handler reads to EOF past them.
  const body = crypto.randomBytes(50_000);
  const got = await new Promise((resolve, reject) => {
    const st = s.request({ ':method': 'POST', ':path': '/echo' }, { waitForTrailers: true });
    const r = { headers: null, trailers: null, body: [] };
    st.on('wantTrailers', () => st.sendTrailers({ 'x-request-trailer': 'yes' }));
    st.on('response', (h) => { r.headers = h; });
    st.on('trailers', (t) => { r.trailers = t; });
    st.on('data', (c) => r.body.push(c));
    st.on('end', () => { r.body = Buffer.concat(r.body); resolve(r); });
    st.on('error', reject);
    st.end(body);
  });
  echoCheck(got, body);
  s.close();
});

check('reset-then-reuse', async () => {
  const s = await connect();
  const st = s.request({ ':method': 'POST', ':path': '/echo' }, { endStream: false });
  await new Promise((resolve) => st.once('response', resolve));
  st.write(crypto.randomBytes(10_000));
  // Cancel mid-body: the server must drop the stream, not the session.
  await new Promise((resolve) => st.close(http2.constants.NGHTTP2_CANCEL, resolve));
  assert.equal(st.rstCode, http2.constants.NGHTTP2_CANCEL);
  const body = crypto.randomBytes(30_000);
  echoCheck(await request(s, { ':method': 'POST', ':path': '/echo' }, body), body);
  assert.equal(s.destroyed, false);
  s.close();
});

check('content-length-mismatch-is-a-stream-error', async () => {
  // RFC 9113 §8.1.1: a body shorter than content-length is malformed; the
  // server resets that stream with PROTOCOL_ERROR and keeps the session.
  const s = await connect();
  const st = s.request({ ':method': 'POST', ':path': '/echo', 'content-length': '5' });
  st.on('error', () => {});
  st.resume();
  st.end('abc');
  await new Promise((resolve) => st.once('close', resolve));
  assert.equal(st.rstCode, http2.constants.NGHTTP2_PROTOCOL_ERROR);
  const res = await request(s, { ':path': '/' });
  assert.equal(res.body.toString(), HELLO);
  s.close();
});

check('ping', async () => {
  const s = await connect();
  const payload = Buffer.from('h2peers!');
  const got = await new Promise((resolve, reject) => {
    s.ping(payload, (err, duration, p) => (err ? reject(err) : resolve({ duration, p })));
  });
  assert.equal(Buffer.compare(got.p, payload), 0, 'ping ack payload differs');
  assert.ok(got.duration >= 0 && got.duration < 5000, `ping duration ${got.duration}`);
  s.close();
});

check('settings', async () => {
  const s = await connect();
  const rs = s.remoteSettings;
  assert.equal(rs.maxConcurrentStreams, 100);
  assert.equal(rs.initialWindowSize, 4 << 20);
  assert.equal(rs.maxFrameSize, 16384);
  assert.equal(rs.headerTableSize, 4096);
  assert.equal(rs.maxHeaderListSize, 65536);
  assert.equal(rs.enablePush, false);
  // Shrink our stream window to one frame: the server must respect it, or
  // Node's nghttp2 ends the session with FLOW_CONTROL_ERROR.
  await new Promise((resolve, reject) => {
    s.settings({ initialWindowSize: 16384 }, (err) => (err ? reject(err) : resolve()));
  });
  assert.equal(s.pendingSettingsAck, false);
  assert.equal(s.localSettings.initialWindowSize, 16384);
  const body = crypto.randomBytes(300_000);
  echoCheck(await request(s, { ':method': 'POST', ':path': '/echo' }, body), body);
  s.close();
});

check('100-concurrent-streams', async () => {
  const s = await connect();
  const streams = [];
  for (let i = 0; i < 100; i++) {
    streams.push(s.request({ ':method': 'POST', ':path': '/echo' }, { endStream: false }));
  }
  // The echo handler answers before it reads: once all 100 responses are in
  // while no request has ended, the server held 100 streams open at once.
  await Promise.all(streams.map((st) => new Promise((resolve, reject) => {
    st.once('response', resolve);
    st.once('error', reject);
  })));
  const results = streams.map((st, i) => {
    const body = Buffer.alloc(10_000 + i, i);
    const done = new Promise((resolve, reject) => {
      const chunks = [];
      let trailers = null;
      st.on('trailers', (t) => { trailers = t; });
      st.on('data', (c) => chunks.push(c));
      st.on('end', () => resolve({ body: Buffer.concat(chunks), trailers }));
      st.on('error', reject);
    });
    st.end(body);
    return done.then((r) => {
      assert.equal(Buffer.compare(r.body, body), 0, `stream ${i}: echo differs`);
      assert.equal(r.trailers && r.trailers['x-echo-bytes'], String(body.length));
    });
  });
  await Promise.all(results);
  s.close();
});

check('graceful-close', async () => {
  const s = await connect();
  const body = crypto.randomBytes(200_000);
  const st = s.request({ ':method': 'POST', ':path': '/echo' }, { endStream: false });
  await new Promise((resolve) => st.once('response', resolve));
  st.write(body.subarray(0, 100_000));
  const closed = new Promise((resolve) => s.close(resolve));
  // After close() no new stream may start, but the one in flight finishes.
  assert.throws(() => s.request({ ':path': '/' }), /GOAWAY|closed|destroyed/i);
  const done = new Promise((resolve, reject) => {
    const chunks = [];
    let trailers = null;
    st.on('trailers', (t) => { trailers = t; });
    st.on('data', (c) => chunks.push(c));
    st.on('end', () => resolve({ headers: { ':status': 200 }, body: Buffer.concat(chunks), trailers }));
    st.on('error', reject);
  });
  st.end(body.subarray(100_000));
  echoCheck(await done, body);
  await closed;
  assert.equal(s.closed, true);
  assert.equal(s.destroyed, true);
});

let failed = false;
for (const [name, fn] of checks) {
  try {
    await fn();
    process.stdout.write(`ok ${name}\n`);
  } catch (err) {
    process.stdout.write(`FAIL ${name}: ${err && err.message}\n`);
    failed = true;
    break;
  }
}
clearTimeout(watchdog);
process.exit(failed ? 1 : 0);
