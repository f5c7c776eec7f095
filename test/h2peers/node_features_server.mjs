// node_features_server.mjs: Node's http2 server as the peer of our client
// (featurepeer -client) for what goes beyond plain requests: server push,
// extended CONNECT, ALTSVC and ORIGIN, padding (it pads all it sends), custom
// settings.
//
//   node node_features_server.mjs [--cert FILE --key FILE]
//
// Prints "listening PORT" once it accepts connections.
import http2 from 'node:http2';
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const cert = opt('--cert');
const key = opt('--key');

const options = { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX, settings: { enableConnectProtocol: true, customSettings: { 0xf2: 5 } },
  remoteCustomSettings: [0xf3], origins: ['https://a.example', 'https://b.example:8443'] };
const server = cert
  ? http2.createSecureServer({ ...options, cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http2.createServer(options);

// The code Node saw the refused push end with, for /push-stats.
let refusedCode;
let refusedSeen;
const refused = new Promise((resolve) => { refusedSeen = resolve; });

server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const path = headers[':path'];
  if (headers[':method'] === 'CONNECT') {
    stream.respond({ ':status': 200, 'x-protocol': headers[':protocol'] ?? '', 'x-path': path ?? '' });
    stream.pipe(stream);
    return;
  }
  switch (path) {
    case '/push':
    case '/push-refused':
      stream.pushStream({ ':path': '/pushed.txt' }, (err, ps) => {
        if (err) {
          stream.respond({ ':status': 500 });
          stream.end(String(err));
          return;
        }
        ps.on('error', () => {});
        ps.respond({ ':status': 200 });
        if (path === '/push-refused') {
          // Left open, so that it is our reset that ends it.
          ps.on('close', () => { refusedCode = ps.rstCode; refusedSeen(); });
          ps.write('pushed by node');
        } else {
          ps.end('pushed by node');
        }
        stream.respond({ ':status': 200 });
        stream.end('parent');
      });
      return;
    case '/altsvc':
      stream.session.altsvc('h3=":8443"; ma=60', stream.id);
      stream.session.altsvc('h2="alt.example:443"', 'https://alt.example');
      stream.respond({ ':status': 200 });
      stream.end('ok');
      return;
    case '/echo':
      stream.respond({ ':status': 200 });
      stream.pipe(stream);
      return;
    case '/remote-settings': {
      const rs = stream.session.remoteSettings;
      const custom = Object.entries(rs.customSettings ?? {}).map(([k, v]) => `${Number(k).toString(16)}=${v}`).join(',');
      stream.respond({ ':status': 200, 'x-custom': custom, 'x-max-streams': String(rs.maxConcurrentStreams) });
      stream.end();
      return;
    }
    case '/push-stats':
      Promise.race([refused, new Promise((r) => setTimeout(r, 5000))]).then(() => {
        stream.respond({ ':status': 200, 'x-refused-code': String(refusedCode) });
        stream.end('ok');
      });
      return;
    default:
      stream.respond({ ':status': 404 });
      stream.end();
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
setTimeout(() => process.exit(0), 120_000).unref();
