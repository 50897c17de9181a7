"""Command line and URL plumbing shared by the Python peers.

Only what every peer needs identically lives here (the common command line,
the client path, the upstream URLs, and taking the event out of a combined
envelope), so each peer file shows nothing but its library's way of relaying.
"""

import argparse
import asyncio
import json
import signal
import urllib.parse

# The study's relay listened here; the benchmark passes its own port.
DEFAULT_LISTEN = "127.0.0.1:8766"
# The study's payload: one hourly kline per USDT pair.
DEFAULT_TEMPLATE = "{symbol}@kline_1h"


def stop_on_signals():
    """An event set by SIGTERM or SIGINT, for the running loop's main() to await."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def allow_long_request_lines():
    """websockets 10.4 answers 400 to a request line over 4110 bytes (a module
    constant, no serve() option); a client naming all 346 kline streams in its
    /ws/ path sends about 6 KB. tickrelayd takes 12 KiB, Tornado 64 KiB, Node 16 KiB."""
    import websockets.legacy.http  # only the websockets peers call this
    websockets.legacy.http.MAX_LINE = 16 * 1024


def parse_args(description, fanout):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help="where clients connect (port 0: any free port; default %(default)s)")
    parser.add_argument("--upstream", required=True, metavar="URL",
                        help="exchange base URL, e.g. ws://127.0.0.1:9443")
    parser.add_argument("--upstream-path", default="", metavar="PREFIX",
                        help="path prefix on the exchange, e.g. /market for USD-M klines (default none)")
    parser.add_argument("--time-unit-us", action="store_true",
                        help="ask upstream for timeUnit=MICROSECOND, so E is in microseconds")
    parser.add_argument("--streams", default="", metavar="A,B,C",
                        help="streams to subscribe upstream (fan-out peers; per-client peers ignore it)")
    parser.add_argument("--symbols-file", metavar="FILE",
                        help="symbols, one per line (BINANCE:BTCUSDT or btcusdt), expanded with --template")
    parser.add_argument("--template", default=DEFAULT_TEMPLATE,
                        help="stream name per symbol from --symbols-file (default %(default)s)")
    args = parser.parse_args()
    try:
        args.listen_host, args.listen_port = split_host_port(args.listen)
    except ValueError as e:
        parser.error(f"--listen: {e}")
    if not args.upstream.startswith(("ws://", "wss://")):
        parser.error("--upstream: expected a ws:// or wss:// URL")
    args.upstream = args.upstream.rstrip("/")
    if args.upstream_path and not args.upstream_path.startswith("/"):
        parser.error("--upstream-path: expected a prefix starting with '/', e.g. /market")
    args.upstream_path = args.upstream_path.rstrip("/")
    try:
        args.stream_set = configured_streams(args.streams, args.symbols_file, args.template)
    except (OSError, ValueError) as e:
        parser.error(str(e))
    if fanout and not args.stream_set:
        parser.error("a fan-out relay needs --streams and/or --symbols-file")
    return args


def split_host_port(text):
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def configured_streams(streams_csv, symbols_file, template):
    """Stream names in first-seen order, without duplicates."""
    names = [s.strip() for s in streams_csv.split(",") if s.strip()]
    if symbols_file:
        if "{symbol}" not in template:
            raise ValueError("--template must contain {symbol}")
        with open(symbols_file, encoding="utf-8") as f:
            for line in f:
                symbol = line.split("#", 1)[0].strip()
                if symbol:
                    # The study's list reads BINANCE:BTCUSDT; stream names are lowercase.
                    names.append(template.replace("{symbol}", symbol.rpartition(":")[2].lower()))
    return list(dict.fromkeys(names))


def client_streams(path):
    """Streams a client asks for with /ws/a/b/c, or None for any other path."""
    path = urllib.parse.urlsplit(path).path
    if not path.startswith("/ws/"):
        return None
    names = [urllib.parse.unquote(s) for s in path[len("/ws/"):].split("/") if s]
    return list(dict.fromkeys(names)) or None


def _with_time_unit(url, time_unit_us, has_query):
    if not time_unit_us:
        return url
    return url + ("&" if has_query else "?") + "timeUnit=MICROSECOND"


def raw_url(args, streams):
    """The exchange's raw endpoint for these streams: it sends bare events."""
    return _with_time_unit(f"{args.upstream}{args.upstream_path}/ws/{'/'.join(streams)}", args.time_unit_us, False)


def combined_url(args, streams):
    """The exchange's combined endpoint: each event arrives as {"stream":..,"data":..}."""
    return _with_time_unit(f"{args.upstream}{args.upstream_path}/stream?streams={'/'.join(streams)}",
                           args.time_unit_us, True)


_PREFIX = '{"stream":"'
_DATA = ',"data":'


def split_envelope(text):
    """(stream, raw event text) of one combined-stream message, or (None, None).

    The exchange always writes the envelope as {"stream":"<name>","data":<event>},
    so the event is cut out as it came, byte for byte, without parsing and
    re-serialising it; anything else falls back to the JSON parser.
    """
    if text.startswith(_PREFIX):
        end = text.find('"', len(_PREFIX))
        if end > 0 and text.startswith(_DATA, end + 1) and text.endswith("}"):
            return text[len(_PREFIX):end], text[end + 1 + len(_DATA):-1]
    try:
        envelope = json.loads(text)
        return envelope["stream"], json.dumps(envelope["data"], separators=(",", ":"))
    except (ValueError, KeyError, TypeError):
        return None, None  # a control reply or a malformed frame: nothing to relay
