#!/usr/bin/env python3
"""Deterministic fixture for loadtests: many small deployed web apps, one large-download app, and a
two-version app for deploy-under-load.

    fixture.py OUTDIR [--apps N] [--no-large] [--apk-mib 50] [--wasm-mib 5]

OUTDIR/apps/<app>/...        what nginx and h2o serve (root = OUTDIR), with .br/.gz/.zst siblings
                             next to every compressible file (brotli -q 11, gzip -9 -n, zstd -19)
OUTDIR/publish/<app>/...     the same files without siblings (hard links): what `wharf publish` gets
OUTDIR/publish/deploy-b/     version B of app `deploy` (index.html differs; assets shared)
OUTDIR/fixture.json          apps, files (path, role, size, sha256), read by wharf-load

Same arguments, same bytes: content comes from a seeded generator, mtimes are pinned.
"""
import argparse, hashlib, json, os, random, shutil, subprocess, sys

EPOCH = 1700000000
VERSION = 3
WORDS = ("const let var function return if else for while async await new this null undefined true false "
         "import export default from class extends super try catch finally throw typeof instanceof switch case "
         "break continue map filter reduce forEach push length render state props effect memo callback ref "
         "element document window fetch response json headers status value index item key data error").split()


def text_js(rng, size):
    out, n = [], 0
    while n < size:
        name = rng.choice(WORDS) + rng.choice(["", "_", "$"]) + str(rng.randrange(400))
        args = ", ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(rng.randrange(4)))
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 30)))
        line = f"export function {name}({args}) {{ {body}; return {rng.randrange(1 << 20)}; }}\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def text_css(rng, size):
    props = ["color", "margin", "padding", "display", "font-size", "border", "background", "width", "height", "gap"]
    out, n = [], 0
    while n < size:
        sel = "." + rng.choice(WORDS) + "-" + str(rng.randrange(1000))
        decl = "; ".join(f"{rng.choice(props)}: {rng.randrange(64)}px" for _ in range(rng.randrange(2, 7)))
        line = f"{sel} {{ {decl} }}\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def random_bytes(rng, size, header=b""):
    return header + rng.randbytes(size - len(header))


def index_html(app, assets, build):
    links = []
    for path, role in assets:
        if role == "css":
            links.append(f'<link rel="stylesheet" href="/apps/{app}/{path}">')
        elif role == "js":
            links.append(f'<script type="module" src="/apps/{app}/{path}"></script>')
        elif role == "image":
            links.append(f'<img src="/apps/{app}/{path}" alt="logo">')
    filler = "".join(f"<p>{app} section {i}: build {build}</p>\n" for i in range(40))
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{app}</title>\n"
            + "\n".join(links) + f"\n</head><body>\n<!-- build {build} -->\n{filler}</body></html>\n").encode()


def hashed(name, ext, data):
    return f"assets/{name}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (EPOCH, EPOCH))


COMPRESSIBLE = {"entry", "js", "css"}


def siblings(path):
    for cmd, ext in ((["brotli", "-q", "11", "-f", "-o", path + ".br", path], ".br"),
                     (["gzip", "-9", "-n", "-k", "-f", path], ".gz"),
                     (["zstd", "-19", "-q", "-f", "-o", path + ".zst", path], ".zst")):
        subprocess.run(cmd, check=True)
        os.utime(path + ext, (EPOCH, EPOCH))


def build_app(out, app, files):
    """files: list of (relpath, role, bytes). Writes apps/ (with siblings) and publish/ (links)."""
    entries = []
    for rel, role, data in files:
        served = os.path.join(out, "apps", app, rel)
        write(served, data)
        if role in COMPRESSIBLE:
            siblings(served)
        pub = os.path.join(out, "publish", app, rel)
        os.makedirs(os.path.dirname(pub), exist_ok=True)
        os.link(served, pub)
        entries.append({"path": rel, "role": role, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return entries


def small_app(rng, app, wasm_kib):
    js = text_js(rng, rng.randrange(60, 250) * 1024)
    css = text_css(rng, rng.randrange(10, 40) * 1024)
    png = random_bytes(rng, rng.randrange(8, 20) * 1024, b"\x89PNG\r\n\x1a\n")
    wasm = random_bytes(rng, wasm_kib * 1024, b"\0asm\x01\0\0\0")
    assets = [(hashed("main", "js", js), "js", js), (hashed("styles", "css", css), "css", css),
              (hashed("logo", "png", png), "image", png), (hashed("app", "wasm", wasm), "wasm", wasm)]
    html = index_html(app, [(p, r) for p, r, _ in assets], "a")
    return [("index.html", "entry", html)] + assets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--apps", type=int, default=20)
    ap.add_argument("--wasm-mib", type=int, default=5)
    ap.add_argument("--apk-mib", type=int, default=50)
    ap.add_argument("--no-large", action="store_true")
    args = ap.parse_args()
    for tool in ("brotli", "gzip", "zstd"):
        if shutil.which(tool) is None:
            sys.exit(f"fixture.py: missing {tool} (apt-get install brotli zstd gzip)")
    out = os.path.abspath(args.out)
    stamp = {"version": VERSION, "apps": args.apps, "wasm_mib": args.wasm_mib, "apk_mib": args.apk_mib, "large": not args.no_large}
    manifest = os.path.join(out, "fixture.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            if json.load(f).get("stamp") == stamp:
                print(f"fixture: up to date in {out}", file=sys.stderr)
                return
    if os.path.exists(out):
        if not os.path.exists(manifest):
            sys.exit(f"fixture.py: {out} exists and is not a fixture; refusing to remove it")
        shutil.rmtree(out)
    os.makedirs(out)
    apps = []
    for i in range(1, args.apps + 1):
        app = f"app{i:02d}"
        rng = random.Random(f"wharf-loadtest-{app}")
        apps.append({"name": app, "files": build_app(out, app, small_app(rng, app, 256))})
    if not args.no_large:
        rng = random.Random("wharf-loadtest-large")
        wasm = random_bytes(rng, args.wasm_mib << 20, b"\0asm\x01\0\0\0")
        apk = random_bytes(rng, args.apk_mib << 20, b"PK\x03\x04")
        files = [(hashed("app", "wasm", wasm), "wasm", wasm), (f"downloads/app-release.{hashlib.sha256(apk).hexdigest()[:8]}.apk", "apk", apk)]
        html = index_html("large", [(p, r) for p, r, _ in files], "a")
        apps.append({"name": "large", "files": build_app(out, "large", [("index.html", "entry", html)] + files)})
    # deploy: version A is served/published as apps/deploy; version B only differs in index.html.
    rng = random.Random("wharf-loadtest-deploy")
    files_a = small_app(rng, "deploy", 64)
    entries = build_app(out, "deploy", files_a)
    html_b = index_html("deploy", [(p, r) for p, r, _ in files_a[1:]], "b")
    for rel, role, data in files_a:
        pub = os.path.join(out, "publish", "deploy-b", rel)
        if rel == "index.html":
            write(pub, html_b)
        else:
            os.makedirs(os.path.dirname(pub), exist_ok=True)
            os.link(os.path.join(out, "apps", "deploy", rel), pub)
    entries[0]["accept_sha256"] = [hashlib.sha256(html_b).hexdigest()]
    apps.append({"name": "deploy", "files": entries})
    with open(manifest, "w") as f:
        json.dump({"stamp": stamp, "apps": apps}, f, indent=1)
    print(f"fixture: {len(apps)} apps in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
