// node_server.mjs: a Node http2 server that our Go client is tested against.
//
//   node node_server.mjs [--cert FILE --key FILE]
//
// It listens on a free port of 127.0.0.1 and prints "listening PORT" on stdout.
// Routes:
//   /        200 with the fixed body below (HEAD: no body); a request header
//            x-big comes back as x-big-len and, doubled, as x-big-back
//   /echo    streams the request body back, then the trailer x-echo-bytes
//            (and x-request-trailer-seen with the request's x-request-trailer)
//   /early-hints, /reset, /ping-client, /settings-client, /goaway
//            a 103 before the 200; RST_STREAM(INTERNAL_ERROR) after a partial
//            body; a PING, a SETTINGS update (max streams 10, window 32768) and
//            a GOAWAY(NO_ERROR, this stream, "bye") from the server
//   /stats   JSON of what this server saw on each client session (GOAWAYs,
//            PINGs, the SETTINGS received, the peak of concurrently open
//            streams, the codes of streams reset), keyed by the x-tag request
//            header the session's streams carried, so the Go client can
//            assert what the peer saw.
import http2 from 'node:http2';
import fs from 'node:fs';

export const HELLO = 'Hello from the Node http2 peer!\n';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

// Settings chosen to differ from the Go engine's defaults, so the client's
// RemoteSettings check proves it read ours and not its own.
const settings = { maxConcurrentStreams: 100, initialWindowSize: 1 << 20, maxHeaderListSize: 32768 };

const seen = {}; // tag -> record of one session

const tls = opt('--cert') !== undefined;
const server = tls
  ? http2.createSecureServer({ cert: fs.readFileSync(opt('--cert')), key: fs.readFileSync(opt('--key')), settings })
  : http2.createServer({ settings });

server.on('session', (session) => {
  const rec = { goaways: [], pings: 0, remoteSettings: null, peakStreams: 0, resets: [], closed: false };
  let open = 0;
  session.on('goaway', (code, lastStreamID) => rec.goaways.push({ code, lastStreamID }));
  session.on('ping', () => rec.pings++);
  session.on('remoteSettings', (s) => { rec.remoteSettings = s; });
  session.on('stream', (stream, headers) => {
    if (headers['x-tag']) seen[headers['x-tag']] = rec;
    open++;
    if (open > rec.peakStreams) rec.peakStreams = open;
    stream.on('close', () => {
      open--;
      if (stream.rstCode) rec.resets.push(stream.rstCode);
    });
  });
  session.on('close', () => { rec.closed = true; });
  session.on('error', () => {});
});

server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  switch (headers[':path']) {
    case '/echo': {
      // Respond at once, so a client can hold many echo streams open together.
      stream.respond({ ':status': 200, 'content-type': headers['content-type'] || 'application/octet-stream' },
        { waitForTrailers: true });
      let n = 0;
      let requestTrailer = '';
      stream.on('trailers', (t) => { requestTrailer = t['x-request-trailer'] || ''; });
      stream.on('data', (chunk) => { n += chunk.length; stream.write(chunk); });
      stream.on('end', () => stream.end());
      stream.on('wantTrailers', () => {
        const t = { 'x-echo-bytes': String(n) };
        if (requestTrailer) t['x-request-trailer-seen'] = requestTrailer;
        stream.sendTrailers(t);
      });
      break;
    }
    // What a server starts itself, toward our client:
    case '/early-hints':
      stream.resume();
      stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
      stream.respond({ ':status': 200 });
      stream.end('hinted\n');
      break;
    case '/reset':
      stream.resume();
      stream.respond({ ':status': 200 });
      // destroy(err) submits RST_STREAM(INTERNAL_ERROR) at once; close(code)
      // would first end the stream cleanly, since the request has ended.
      stream.write('partial', () => stream.destroy(new Error('reset by the /reset route')));
      break;
    case '/ping-client':
      stream.resume();
      stream.session.ping(Buffer.from('nodeping'), (err, duration, payload) => {
        stream.respond({ ':status': err ? 500 : 200, 'x-ping-payload': err ? String(err) : payload.toString() });
        stream.end();
      });
      break;
    case '/settings-client':
      stream.resume();
      stream.session.settings({ maxConcurrentStreams: 10, initialWindowSize: 32768 }, (err) => {
        stream.respond({ ':status': err ? 500 : 200 });
        stream.end();
      });
      break;
    case '/goaway':
      stream.resume();
      stream.respond({ ':status': 200 });
      stream.end(() => stream.session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id, Buffer.from('bye')));
      break;
    case '/stats':
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(seen));
      break;
    default: {
      stream.resume();
      const h = { ':status': 200, 'content-type': 'text/plain', 'content-length': HELLO.length };
      // A large request header comes back doubled, so the client decodes a
      // header block spread over HEADERS and CONTINUATION frames too.
      if (headers['x-big']) {
        h['x-big-len'] = String(headers['x-big'].length);
        h['x-big-back'] = headers['x-big'] + headers['x-big'];
      }
      if (headers[':method'] === 'HEAD') {
        stream.respond(h, { endStream: true });
        break;
      }
      stream.respond(h);
      stream.end(HELLO);
    }
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

// Never outlive the test run that started us.
setTimeout(() => process.exit(0), 120_000).unref();
process.on('SIGTERM', () => process.exit(0));
