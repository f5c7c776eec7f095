// node_server_side.mjs: Node's http2 client facing what our server starts
// itself (peerserver): a PING, a SETTINGS update, and a graceful Shutdown
// (two-phase GOAWAY) while a stream is in flight.
//
//   node node_server_side.mjs URL [CA_FILE]
//
// Prints "ok NAME" per passed check or "FAIL NAME: why" and exits non-zero.
// The checks run in order on one session: the last one shuts the server down.
import http2 from 'node:http2';
import fs from 'node:fs';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';

const [url, caFile] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node node_server_side.mjs URL [CA_FILE]\n');
  process.exit(2);
}

const watchdog = setTimeout(() => {
  process.stdout.write(`FAIL timeout: the checks did not finish in 30s (GOAWAYs seen: ${JSON.stringify(goaways)})\n`);
  process.exit(1);
}, 30_000);

const opts = caFile ? { ca: fs.readFileSync(caFile), servername: 'localhost' } : {};
const session = http2.connect(url, opts);
session.on('error', () => {});
const pings = [];
const goaways = [];
const settingsSeen = [];
session.on('ping', (payload) => pings.push(Buffer.from(payload)));
session.on('goaway', (code, lastStreamID) => goaways.push({ code, lastStreamID }));
session.on('remoteSettings', (s) => settingsSeen.push(s));
const closed = new Promise((resolve) => session.once('close', resolve));

function request(headers, body) {
  return new Promise((resolve, reject) => {
    const st = session.request(headers, { endStream: body === undefined });
    const res = { headers: null, trailers: null, body: [] };
    st.on('response', (h) => { res.headers = h; });
    st.on('trailers', (t) => { res.trailers = t; });
    st.on('data', (c) => res.body.push(c));
    st.on('end', () => { res.body = Buffer.concat(res.body); resolve(res); });
    st.on('error', reject);
    if (body !== undefined) st.end(body);
  });
}

// until resolves once cond() holds. The watchdog bounds the wait: how long
// the server takes to get there on a loaded machine is no part of any check.
async function until(cond) {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('server-ping', async () => {
  const res = await request({ ':path': '/ping-me' });
  assert.equal(res.headers[':status'], 200, `server's ping failed: ${res.headers['x-error']}`);
  assert.ok(Number(res.headers['x-ping-rtt-ns']) > 0, 'no round-trip time');
  assert.equal(pings.length, 1, `node saw ${pings.length} pings from the server`);
  assert.equal(pings[0].toString(), 'srvping!');
});

check('server-settings-update', async () => {
  assert.equal(settingsSeen[0].maxConcurrentStreams, 100);
  const res = await request({ ':path': '/update-settings' });
  assert.equal(res.headers[':status'], 200, `server's UpdateSettings failed: ${res.headers['x-error']}`);
  assert.equal(res.headers['x-max-streams'], '50');
  assert.equal(session.remoteSettings.maxConcurrentStreams, 50);
  assert.equal(settingsSeen.at(-1).maxConcurrentStreams, 50);
});

check('server-graceful-shutdown', async () => {
  // A stream in flight, half its body sent.
  const body = crypto.randomBytes(200_000);
  const st = session.request({ ':method': 'POST', ':path': '/echo' }, { endStream: false });
  await new Promise((resolve) => st.once('response', resolve));
  st.write(body.subarray(0, 100_000));
  const done = new Promise((resolve, reject) => {
    const chunks = [];
    let trailers = null;
    st.on('trailers', (t) => { trailers = t; });
    st.on('data', (c) => chunks.push(c));
    st.on('end', () => resolve({ body: Buffer.concat(chunks), trailers }));
    st.on('error', reject);
  });

  const res = await request({ ':path': '/shutdown' });
  assert.equal(res.headers[':status'], 200);
  // Two-phase GOAWAY (RFC 9113 §6.8): first with the maximal stream id, then,
  // after a ping round trip, with the last stream the server processed: the
  // /shutdown request, opened right after the echo stream.
  await until(() => goaways.length >= 2);
  const want = [{ code: 0, lastStreamID: 2 ** 31 - 1 }, { code: 0, lastStreamID: st.id + 2 }];
  assert.deepEqual(goaways, want, `GOAWAYs ${JSON.stringify(goaways)}`);
  assert.throws(() => session.request({ ':path': '/' }), /GOAWAY|closed|destroyed/i);

  st.end(body.subarray(100_000));
  const got = await done;
  assert.equal(Buffer.compare(got.body, body), 0, 'echo differs');
  assert.equal(got.trailers && got.trailers['x-echo-bytes'], String(body.length));
  // With its last stream done the server closes the connection.
  await closed;
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
session.destroy();
process.exit(failed ? 1 : 0);
