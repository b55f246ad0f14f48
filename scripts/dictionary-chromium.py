#!/usr/bin/env python3
"""RFC 9842 end to end in headless Chromium (Debian `chromium` + `chromium-driver`, Selenium).

    scripts/dictionary-chromium.py WHARF_BINARY DEMO_SITE [--json OUT]

Publishes the demo app into a fresh store, serves it with `wharf edge` on a free loopback port
(http://localhost counts as a secure origin, so Chromium uses dictionaries there), loads the page,
publishes a new version whose JS bundle and stylesheet differ by one line, reloads, and checks
from Chromium's own network log that the browser sent `Available-Dictionary` for both, got them
back with `Content-Encoding: dcz`, the page still works and the console has no error. Prints the
transfer sizes (and writes them as JSON with --json). Exit status 0 only if every check passed.
The edge it starts is stopped by its PID.
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hashed_name(stem, ext, data):
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def make_version(site, out, js_edit, css_edit):
    """Copies the demo site to `out`, applies one-line edits to the bundle and the stylesheet,
    renames them by their new content hash and rewrites the references, as a bundler would."""
    shutil.copytree(site, out)
    assets = out / "assets"
    js = next(assets.glob("app.*.js"))
    css = next(assets.glob("style.*.css"))
    index = (out / "index.html").read_text()
    for path, edit, stem, ext in ((js, js_edit, "app", "js"), (css, css_edit, "style", "css")):
        data = edit(path.read_bytes())
        new = hashed_name(stem, ext, data)
        path.unlink()
        (assets / new).write_bytes(data)
        index = index.replace(path.name, new)
    (out / "index.html").write_text(index)
    return out


def network_events(driver):
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        events.append(message)
    return events


def lower(headers):
    return {k.lower(): v for k, v in (headers or {}).items()}


def main():
    wharf, demo = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    work = pathlib.Path(tempfile.mkdtemp(prefix="wharf-chromium-"))
    store = work / "store"
    failures = []
    edge = None
    driver = None
    result = {}
    try:
        v1 = make_version(demo, work / "v1", lambda b: b, lambda b: b)
        v2 = make_version(
            demo, work / "v2",
            lambda b: b.replace(b"Harbor board", b"Harbor board 2", 1) if b"Harbor board" in b else b + b"\n// v2\n",
            lambda b: b + b"\n.v2-marker { color: #123456; }\n")
        subprocess.run([wharf, "publish", "demo", str(v1), "--store", str(store)], check=True, capture_output=True)
        port, admin = free_port(), free_port()
        edge = subprocess.Popen([wharf, "edge", "--store", str(store), "--listen", f"127.0.0.1:{port}",
                                 "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://localhost:{port}/"
        for _ in range(100):
            try:
                # Not "/": HTML entry points get a 103 first, which urllib does not read.
                urllib.request.urlopen(f"http://127.0.0.1:{port}/manifest.webmanifest", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)

        options = Options()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={work / 'profile'}"):
            options.add_argument(flag)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(20)

        driver.get(base)
        time.sleep(1.5)  # the dictionaries are stored once the responses complete
        first = network_events(driver)
        driver.get_log("browser")

        published = subprocess.run([wharf, "publish", "demo", str(v2), "--store", str(store)],
                                   check=True, capture_output=True, text=True)
        result["deployment_v2"] = published.stdout.strip()
        new_js = next((v2 / "assets").glob("app.*.js")).name
        new_css = next((v2 / "assets").glob("style.*.css")).name
        # The edge sees the alias change within its poll interval (250 ms); wait until it serves v2.
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/assets/{new_js}", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)

        driver.get(base)
        time.sleep(1.0)
        second = network_events(driver)
        console = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

        requests, responses, finished = {}, {}, {}
        for message in second:
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSentExtraInfo":
                requests.setdefault(params["requestId"], {}).update(lower(params.get("headers")))
            elif message["method"] == "Network.requestWillBeSent":
                requests.setdefault(params["requestId"], {})["_url"] = params["request"]["url"]
                requests[params["requestId"]].update({k.lower(): v for k, v in params["request"].get("headers", {}).items()})
            elif message["method"] == "Network.responseReceived":
                responses[params["requestId"]] = (params["response"]["url"], lower(params["response"].get("headers")),
                                                  params["response"].get("status"))
            elif message["method"] == "Network.loadingFinished":
                finished[params["requestId"]] = params.get("encodedDataLength", 0)

        def record(name):
            for rid, (url, headers, status) in responses.items():
                if url.endswith(name):
                    sent = requests.get(rid, {})
                    return {"url": url, "status": status,
                            "available_dictionary": sent.get("available-dictionary"),
                            "accept_encoding": sent.get("accept-encoding"),
                            "content_encoding": headers.get("content-encoding"),
                            "transfer_bytes": finished.get(rid),
                            "content_length": int(headers.get("content-length", "-1"))}
            return None

        js_record, css_record = record(new_js), record(new_css)
        result.update({"js": js_record, "css": css_record, "console_errors": [e["message"] for e in console]})
        for label, rec in (("JS", js_record), ("CSS", css_record)):
            if rec is None:
                failures.append(f"{label}: the new version was not requested")
                continue
            if not rec["available_dictionary"]:
                failures.append(f"{label}: Chromium sent no Available-Dictionary (accept-encoding: {rec['accept_encoding']})")
            if rec["content_encoding"] != "dcz":
                failures.append(f"{label}: content-encoding {rec['content_encoding']}, not dcz")

        # The page works: the module script ran (it fills the board) with the new bytes.
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr, #board li, .card li, table tr")
        result["rendered_rows"] = len(rows)
        if not rows:
            failures.append("the page did not render (no rows from the script)")
        if driver.execute_script("return document.title").find("Harbor") < 0:
            failures.append("unexpected document title")
        if console:
            failures.append(f"console errors: {result['console_errors']}")

        # The same files as br, for the comparison (what a browser without the old version gets).
        for label, name in (("js", new_js), ("css", new_css)):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/assets/{name}", headers={"Accept-Encoding": "br"})
            with urllib.request.urlopen(request, timeout=5) as response:
                body = response.read()
                result[f"{label}_br_bytes"] = len(body)
            result[f"{label}_identity_bytes"] = (v2 / "assets" / name).stat().st_size
        result["failures"] = failures
    except Exception as error:  # report, then fail
        failures.append(f"{type(error).__name__}: {error}")
        result["failures"] = failures
    finally:
        if driver is not None:
            driver.quit()
        if edge is not None:
            os.kill(edge.pid, signal.SIGTERM)
            try:
                edge.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(edge.pid, signal.SIGKILL)
                edge.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if json_out:
        pathlib.Path(json_out).write_text(json.dumps(result, indent=2))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
