#!/usr/bin/env python3
"""Builds the demo app like a bundler would: demo/src -> demo/site, with content-hashed asset
names (first 8 hex digits of SHA-256) and references rewritten. Run from anywhere:
    python3 demo/tools/build.py
The output (demo/site) is committed, so `make run` needs no Python."""
import hashlib
import pathlib
import shutil
import subprocess
import sys

demo = pathlib.Path(__file__).resolve().parent.parent
src, site = demo / "src", demo / "site"

def hashed(name, data):
    stem, ext = name.rsplit(".", 1)
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"

wasm = subprocess.run([sys.executable, str(demo / "tools" / "make-wasm.py")], check=True, capture_output=True).stdout
names = {"harbor.wasm": hashed("harbor.wasm", wasm)}
logo = (src / "logo.svg").read_bytes()
names["logo.svg"] = hashed("logo.svg", logo)
css = (src / "style.css").read_bytes()
names["style.css"] = hashed("style.css", css)
js = (src / "app.js").read_text().replace('"./harbor.wasm"', f'"./{names["harbor.wasm"]}"').encode()
names["app.js"] = hashed("app.js", js)

def rewrite(text):
    for plain in ("app.js", "style.css", "logo.svg"):
        text = text.replace(f'"assets/{plain}"', f'"assets/{names[plain]}"')
    return text

if site.exists():
    shutil.rmtree(site)
(site / "assets").mkdir(parents=True)
(site / "assets" / names["harbor.wasm"]).write_bytes(wasm)
(site / "assets" / names["logo.svg"]).write_bytes(logo)
(site / "assets" / names["style.css"]).write_bytes(css)
(site / "assets" / names["app.js"]).write_bytes(js)
(site / "index.html").write_text(rewrite((src / "index.html").read_text()))
(site / "manifest.webmanifest").write_text(rewrite((src / "manifest.webmanifest").read_text()))
for path in sorted(site.rglob("*")):
    if path.is_file():
        print(f"{path.relative_to(site)}  {path.stat().st_size} bytes")
