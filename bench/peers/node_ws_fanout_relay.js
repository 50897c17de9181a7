#!/usr/bin/env node
// Fan-out relay with Node.js and the `ws` package.
//
// One upstream connection carries the combined stream of every configured
// stream; each event is sent to the clients that asked for its stream with
// /ws/<stream>[/<stream>...]. A client asking for a stream outside the
// configured set gets nothing for that stream.
// One process, one event loop.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const { parseArgs } = require('node:util');
const { WebSocket, WebSocketServer } = require('ws');

const USAGE = `usage: node node_ws_fanout_relay.js --upstream URL [--listen HOST:PORT]
       [--streams A,B,C] [--symbols-file FILE [--template '{symbol}@kline_1h']]
       [--time-unit-us] [--upstream-path PREFIX]`;
// Reconnect backoff: a restarting exchange is back within seconds; the cap
// keeps a long outage from hammering it.
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30000;
// Close handshakes get this long at shutdown before the process exits anyway.
const SHUTDOWN_GRACE_MS = 2000;

function usageError(message) {
  process.stderr.write(`node_ws_fanout_relay: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        listen: { type: 'string', default: '127.0.0.1:8766' },
        upstream: { type: 'string' },
        'upstream-path': { type: 'string', default: '' },
        'time-unit-us': { type: 'boolean', default: false },
        streams: { type: 'string', default: '' },
        'symbols-file': { type: 'string' },
        // The study's payload: one hourly kline per USDT pair.
        template: { type: 'string', default: '{symbol}@kline_1h' },
      },
    }));
  } catch (e) {
    usageError(e.message);
  }
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(values.listen);
  if (!m || Number(m[2]) > 65535) usageError(`--listen: expected HOST:PORT, got "${values.listen}"`);
  if (!/^wss?:\/\//.test(values.upstream ?? '')) usageError('--upstream: expected a ws:// or wss:// URL');
  const prefix = values['upstream-path'].replace(/\/+$/, '');
  if (prefix && !prefix.startsWith('/')) usageError("--upstream-path: expected a prefix starting with '/'");

  const streams = values.streams.split(',').map((s) => s.trim()).filter(Boolean);
  if (values['symbols-file']) {
    if (!values.template.includes('{symbol}')) usageError('--template must contain {symbol}');
    let text;
    try {
      text = fs.readFileSync(values['symbols-file'], 'utf8');
    } catch (e) {
      usageError(`--symbols-file: ${e.message}`);
    }
    for (const line of text.split('\n')) {
      const symbol = line.split('#')[0].trim();
      // The study's list reads BINANCE:BTCUSDT; stream names are lowercase.
      if (symbol) streams.push(values.template.replaceAll('{symbol}', symbol.split(':').pop().toLowerCase()));
    }
  }
  if (streams.length === 0) usageError('a fan-out relay needs --streams and/or --symbols-file');

  const query = values['time-unit-us'] ? '&timeUnit=MICROSECOND' : '';
  const configured = [...new Set(streams)];
  return {
    host: m[1],
    port: Number(m[2]),
    configured,
    upstreamUrl: `${values.upstream.replace(/\/+$/, '')}${prefix}/stream?streams=${configured.join('/')}${query}`,
  };
}

// Streams a client asks for with /ws/a/b/c, or null for any other path.
function clientStreams(url) {
  const path = url.split('?')[0];
  if (!path.startsWith('/ws/')) return null;
  try {
    const names = path.slice(4).split('/').filter(Boolean).map(decodeURIComponent);
    return names.length ? [...new Set(names)] : null;
  } catch {
    return null; // malformed percent-encoding
  }
}

const PREFIX = Buffer.from('{"stream":"');
const DATA = Buffer.from(',"data":');
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;

// [stream, raw event] of one combined-stream message, or [null, null].
// The exchange always writes {"stream":"<name>","data":<event>}, so the event
// is a view into the received buffer, sent on without parsing or copying;
// anything else falls back to JSON.parse.
function splitEnvelope(buf) {
  if (buf.length > PREFIX.length + DATA.length && buf.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) === 0) {
    const end = buf.indexOf(QUOTE, PREFIX.length);
    const dataAt = end + 1;
    if (end > 0 && dataAt + DATA.length < buf.length &&
        buf.compare(DATA, 0, DATA.length, dataAt, dataAt + DATA.length) === 0 &&
        buf[buf.length - 1] === CLOSE_BRACE) {
      return [buf.toString('latin1', PREFIX.length, end), buf.subarray(dataAt + DATA.length, buf.length - 1)];
    }
  }
  try {
    const envelope = JSON.parse(buf);
    if (typeof envelope.stream === 'string' && envelope.data !== undefined) {
      return [envelope.stream, Buffer.from(JSON.stringify(envelope.data))];
    }
  } catch {
    // a malformed frame: nothing to relay
  }
  return [null, null];
}

function main() {
  const options = parseCommandLine();
  const configured = new Set(options.configured);
  const subscribers = new Map(); // stream name -> Set of client sockets that asked for it
  let upstream = null;
  let reconnectDelay = RECONNECT_MIN_MS;
  let reconnectTimer = null;
  let stopping = false;

  // perMessageDeflate off: Binance does not compress, and deflate would cost
  // one compressor per client, which a market-data relay does not pay.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' }).end('WebSocket only: /ws/<stream>[/<stream>...]\n');
  });

  server.on('upgrade', (req, socket, head) => {
    const streams = clientStreams(req.url);
    if (!streams) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy()); // a reset during the handshake
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Streams outside the configured set are not subscribed upstream: the
      // client gets nothing for them.
      const joined = streams.filter((s) => configured.has(s));
      for (const s of joined) {
        if (!subscribers.has(s)) subscribers.set(s, new Set());
        subscribers.get(s).add(ws);
      }
      // 'error' without a listener would end the process; the socket closes
      // anyway and 'close' cleans up.
      ws.on('error', () => {});
      ws.on('close', () => {
        for (const s of joined) subscribers.get(s).delete(ws);
      });
    });
  });

  function publish(data) {
    const [stream, payload] = splitEnvelope(data);
    const clients = stream === null ? undefined : subscribers.get(stream);
    if (!clients) return;
    for (const ws of clients) {
      // Queued in the socket without waiting: no backpressure, see README.
      if (ws.readyState === WebSocket.OPEN) ws.send(payload, { binary: false });
    }
  }

  function connectUpstream() {
    reconnectTimer = null;
    const ws = new WebSocket(options.upstreamUrl, { perMessageDeflate: false });
    upstream = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      reconnectDelay = RECONNECT_MIN_MS;
      console.error(`upstream connected: ${options.upstreamUrl.slice(0, 120)}`);
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) publish(data);
    });
    ws.on('error', (e) => console.error(`upstream error: ${e.message}`));
    ws.on('close', (code, reason) => {
      if (stopping) return;
      // A connection that worked is replaced at once; failed attempts back off.
      const delay = opened ? 0 : reconnectDelay;
      if (!opened) reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
      console.error(`upstream closed (${code} ${reason}); reconnecting in ${delay} ms`);
      reconnectTimer = setTimeout(connectUpstream, delay);
    });
  }

  function shutdown() {
    if (stopping) return;
    stopping = true;
    clearTimeout(reconnectTimer);
    upstream?.terminate();
    for (const ws of wss.clients) ws.close(1001, 'relay shutting down');
    wss.close();
    server.close(() => process.exit(0)); // once every client socket has closed
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
  }
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  server.on('error', (e) => {
    console.error(`node_ws_fanout_relay: ${options.host}:${options.port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(options.port, options.host, () => {
    const { address, port } = server.address();
    process.stdout.write(`listening ${address}:${port}\n`);
    connectUpstream();
  });
}

main();
