#!/usr/bin/env python3
"""Measures what RFC 9842 deltas save on a real JS file, through the real `wharf` binary.

    scripts/dictionary-savings.py WHARF OLD.js NEW.js [--label NAME]
    scripts/dictionary-savings.py WHARF --one-line FILE.js [--label NAME]
    scripts/dictionary-savings.py WHARF --pypi PACKAGE OLD_VERSION NEW_VERSION MEMBER [--label NAME]

Publishes the old version as `assets/lib.<hash>.js`, then the new one (timing that publish,
which builds the delta, beside the same publish with `--dictionaries off` into another store), serves the store with `wharf edge` on a free loopback port, fetches the
new file with curl as br, zstd and dcz (Available-Dictionary: the old file's SHA-256), checks
that the dcz body, minus its 40-byte header, decodes with `zstd -D OLD -d` to the new bytes, and
prints one Markdown table row. `--one-line` inserts one line in the middle of FILE;
`--pypi` downloads two wheels with pip and takes MEMBER from each. The edge is stopped by PID.
"""
import base64
import hashlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line_change(data):
    """One new line inserted at a statement boundary near the middle."""
    middle = len(data) // 2
    cut = data.find(b";", middle)
    cut = middle if cut < 0 else cut + 1
    return data[:cut] + b"\nglobalThis.__wharfRelease=2;\n" + data[cut:]


def from_pypi(work, package, version, member):
    out = work / f"wheel-{version}"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(out), f"{package}=={version}"], check=True)
    wheel = next(out.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def main():
    args = sys.argv[1:]
    label = None
    if "--label" in args:
        i = args.index("--label")
        label = args[i + 1]
        del args[i:i + 2]
    wharf = args[0]
    work = pathlib.Path(tempfile.mkdtemp(prefix="wharf-savings-"))
    if args[1] == "--one-line":
        old = pathlib.Path(args[2]).read_bytes()
        new = one_line_change(old)
        label = label or f"{pathlib.Path(args[2]).name}, one line added"
    elif args[1] == "--pypi":
        package, v_old, v_new, member = args[2:6]
        old, new = from_pypi(work, package, v_old, member), from_pypi(work, package, v_new, member)
        label = label or f"{package} {v_old} → {v_new} `{member.rsplit('/', 1)[-1]}`"
    else:
        old, new = pathlib.Path(args[1]).read_bytes(), pathlib.Path(args[2]).read_bytes()
        label = label or f"{args[1]} → {args[2]}"

    store = work / "store"
    edge = None
    try:
        names = []
        for n, data in enumerate((old, new)):
            site = work / f"v{n + 1}" / "assets"
            site.mkdir(parents=True)
            name = f"lib.{hashlib.sha256(data).hexdigest()[:10]}.js"
            (site / name).write_bytes(data)
            names.append(name)
            started = time.monotonic()
            subprocess.run([wharf, "publish", "lib", str(site.parent), "--store", str(store)], check=True, capture_output=True)
            seconds = time.monotonic() - started
            # The same publish without deltas, into a second store: the difference is the delta's cost.
            started = time.monotonic()
            subprocess.run([wharf, "publish", "lib", str(site.parent), "--store", str(work / "plain-store"), "--dictionaries", "off"],
                           check=True, capture_output=True)
            plain_seconds = time.monotonic() - started
        (work / "old.js").write_bytes(old)

        port, admin = free_port(), free_port()
        edge = subprocess.Popen([wharf, "edge", "--store", str(store), "--listen", f"127.0.0.1:{port}",
                                 "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/assets/{names[1]}"
        dictionary = ":" + base64.b64encode(hashlib.sha256(old).digest()).decode() + ":"

        def fetch(encoding, extra=()):
            for _ in range(100):
                done = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", str(work / "body"), "-w", "%{http_code} %{content_type}",
                                       "-D", str(work / "head"), "-H", f"Accept-Encoding: {encoding}", *extra, url],
                                      capture_output=True, text=True)
                if done.returncode == 0 and done.stdout.startswith("200"):
                    break
                time.sleep(0.1)
            head = (work / "head").read_text().lower()
            coding = next((line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("content-encoding:")), "identity")
            return coding, (work / "body").read_bytes()

        sizes = {}
        for encoding in ("br", "zstd"):
            coding, body = fetch(encoding)
            sizes[coding] = len(body)
        coding, body = fetch("br, zstd, dcz", ("-H", f"Available-Dictionary: {dictionary}"))
        if coding != "dcz":
            raise SystemExit(f"expected dcz, got {coding}")
        (work / "frame.zst").write_bytes(body[40:])
        decoded = subprocess.run(["zstd", "-q", "-d", "-D", str(work / "old.js"), "-c", str(work / "frame.zst")],
                                 check=True, capture_output=True).stdout
        if decoded != new:
            raise SystemExit("the dcz body does not decode to the new bytes")
        sizes["dcz"] = len(body)
        print("| file | identity | br | zstd | dcz | dcz / br | publish of the new version, s (without deltas) |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {label} | {len(new):,} | {sizes['br']:,} | {sizes['zstd']:,} | {sizes['dcz']:,} | "
              f"{100 * sizes['dcz'] / sizes['br']:.1f}% | {seconds:.2f} ({plain_seconds:.2f}) |")
    finally:
        if edge is not None:
            os.kill(edge.pid, signal.SIGTERM)
            try:
                edge.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(edge.pid, signal.SIGKILL)
                edge.wait()
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
