#!/usr/bin/env python3
"""A real HTTP/2 client for the edge tests, on Python's `h2` package (not Wharf's code).

Serve mode (default): one TLS connection with ALPN h2 (or cleartext h2c with --cleartext); reads
one JSON request per line on stdin ({"method", "path", "headers": {...}, "authority"}), sends it
on a new stream and prints one JSON line: {"status", "headers": [[name, value]...], "interim":
[{"status", "headers"}], "body": base64, "reset": error code or null}. h2 itself checks what the
server sends (lowercase names, no connection-specific fields, Content-Length against the body).

Other modes exercise one behaviour each and print a JSON summary:
  --concurrent N PATH...   N streams at once on one connection; sha256 of each body
  --window BYTES PATH      tiny initial window: counts WINDOW_UPDATEs sent, returns the body hash
"""
import argparse, base64, hashlib, json, socket, ssl, sys
import h2.config, h2.connection, h2.events, h2.settings


def connect(args):
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    if args.cleartext:
        return raw
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    if sock.selected_alpn_protocol() != "h2":
        raise SystemExit("ALPN did not select h2: %r" % sock.selected_alpn_protocol())
    return sock


def open_connection(args, settings=None):
    sock = connect(args)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    if settings:
        conn.update_settings(settings)
    sock.sendall(conn.data_to_send())
    return sock, conn


def request_headers(args, method, path, headers, authority=None):
    out = [(":method", method), (":path", path), (":scheme", "http" if args.cleartext else "https"),
           (":authority", authority or "localhost")]
    out += [(k.lower(), v) for k, v in headers.items()]
    return out


class Stream:
    def __init__(self):
        self.status, self.headers, self.interim, self.body, self.done, self.reset = None, [], [], bytearray(), False, None


def count_frames(data, frame_type):
    """Frames of `frame_type` in a run of whole frames (9-byte headers, RFC 9113 §4.1)."""
    count, i = 0, 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        if data[i + 3] == frame_type:
            count += 1
        i += 9 + length
    return count


def pump(sock, conn, streams, until, on_data=None, sent=None):
    while not until():
        data = sock.recv(65536)
        if not data:
            raise SystemExit("connection closed by server")
        for ev in conn.receive_data(data):
            s = streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.InformationalResponseReceived) and s:
                hs = [list(h) for h in ev.headers]
                s.interim.append({"status": int(dict(ev.headers)[":status"]), "headers": [h for h in hs if not h[0].startswith(":")]})
            elif isinstance(ev, h2.events.ResponseReceived) and s:
                s.status = int(dict(ev.headers)[":status"])
                s.headers = [list(h) for h in ev.headers if not h[0].startswith(":")]
            elif isinstance(ev, h2.events.DataReceived) and s:
                s.body += ev.data
                if on_data:
                    on_data(ev)
                else:
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded) and s:
                s.done = True
            elif isinstance(ev, h2.events.StreamReset) and s:
                s.done, s.reset = True, ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                raise SystemExit("GOAWAY %s" % ev.error_code)
        out = conn.data_to_send()
        if out:
            if sent is not None:
                sent.append(out)
            sock.sendall(out)


def serve(args):
    sock, conn = open_connection(args)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        sid = conn.get_next_available_stream_id()
        s = Stream()
        conn.send_headers(sid, request_headers(args, req.get("method", "GET"), req["path"], req.get("headers", {}), req.get("authority")),
                          end_stream=True)
        sock.sendall(conn.data_to_send())
        pump(sock, conn, {sid: s}, lambda: s.done)
        print(json.dumps({"status": s.status, "headers": s.headers, "interim": s.interim,
                          "body": base64.b64encode(bytes(s.body)).decode(), "reset": s.reset}), flush=True)


def concurrent(args):
    sock, conn = open_connection(args)
    streams = {}
    for i in range(args.concurrent):
        path = args.paths[i % len(args.paths)]
        sid = conn.get_next_available_stream_id()
        streams[sid] = Stream()
        streams[sid].path = path
        conn.send_headers(sid, request_headers(args, "GET", path, {"accept-encoding": "identity"}), end_stream=True)
    sock.sendall(conn.data_to_send())
    pump(sock, conn, streams, lambda: all(s.done for s in streams.values()))
    print(json.dumps({"max_concurrent_streams": conn.remote_settings.max_concurrent_streams,
                      "streams": [{"path": s.path, "status": s.status, "reset": s.reset, "bytes": len(s.body),
                                   "sha256": hashlib.sha256(bytes(s.body)).hexdigest()} for s in streams.values()]}))


def window(args):
    sock, conn = open_connection(args, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: args.window})
    # The connection window starts at 65535 whatever SETTINGS say; grow it only as data arrives.
    sid = conn.get_next_available_stream_id()
    s = Stream()
    frames = {"data": 0}

    def on_data(ev):
        frames["data"] += 1
        if ev.flow_controlled_length:
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)

    conn.send_headers(sid, request_headers(args, "GET", args.paths[0], {"accept-encoding": "identity"}), end_stream=True)
    sock.sendall(conn.data_to_send())
    sent = []
    pump(sock, conn, {sid: s}, lambda: s.done, on_data, sent)
    updates = sum(count_frames(chunk, 0x8) for chunk in sent)
    print(json.dumps({"status": s.status, "bytes": len(s.body), "window_updates": updates, "data_frames": frames["data"],
                      "sha256": hashlib.sha256(bytes(s.body)).hexdigest()}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca")
    p.add_argument("--cleartext", action="store_true")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--concurrent", type=int)
    p.add_argument("--window", type=int)
    p.add_argument("paths", nargs="*")
    args = p.parse_args()
    if args.concurrent:
        concurrent(args)
    elif args.window:
        window(args)
    else:
        serve(args)


if __name__ == "__main__":
    main()
