#!/usr/bin/env python3
"""Assembles tools/harbor.wat by hand into a WebAssembly binary (spec: webassembly.github.io/spec,
"Binary Format"). Writes the bytes to stdout; tools/rehash.sh names the file after its hash."""
import sys

def leb(n):  # unsigned LEB128
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

def sleb(n):  # signed LEB128
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)

def section(ident, payload):
    return bytes([ident]) + leb(len(payload)) + payload

def vec(items):
    return leb(len(items)) + b"".join(items)

def name(s):
    return leb(len(s)) + s.encode()

I32 = 0x7F
types = vec([
    bytes([0x60]) + vec([bytes([I32]), bytes([I32])]) + vec([bytes([I32])]),  # (i32 i32) -> i32
    bytes([0x60]) + vec([bytes([I32])]) + vec([bytes([I32])]),                # (i32) -> i32
])
functions = vec([leb(0), leb(1)])
exports = vec([name("add") + bytes([0x00]) + leb(0), name("tide") + bytes([0x00]) + leb(1)])

LOCAL_GET, LOCAL_TEE, I32_CONST, END, IF, ELSE = 0x20, 0x22, 0x41, 0x0B, 0x04, 0x05
I32_ADD, I32_SUB, I32_DIV_U, I32_REM_U, I32_GT_U = 0x6A, 0x6B, 0x6E, 0x70, 0x4B

add_body = bytes([0x00, LOCAL_GET, 0, LOCAL_GET, 1, I32_ADD, END])
tide_body = (bytes([0x01, 0x01, I32])  # one local of type i32
             + bytes([LOCAL_GET, 0, I32_CONST]) + sleb(720) + bytes([I32_REM_U, LOCAL_TEE, 1])
             + bytes([I32_CONST]) + sleb(360) + bytes([I32_GT_U, IF, I32])
             + bytes([I32_CONST]) + sleb(720) + bytes([LOCAL_GET, 1, I32_SUB])
             + bytes([ELSE, LOCAL_GET, 1, END])
             + bytes([I32_CONST]) + sleb(18) + bytes([I32_DIV_U, I32_CONST]) + sleb(30) + bytes([I32_ADD, END]))
code = vec([leb(len(add_body)) + add_body, leb(len(tide_body)) + tide_body])

module = (b"\x00asm" + (1).to_bytes(4, "little")
          + section(1, types) + section(3, functions) + section(7, exports) + section(10, code))
sys.stdout.buffer.write(module)
