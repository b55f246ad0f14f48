#!/usr/bin/env python3
"""HTTP/2 and 103 Early Hints in headless Chromium (Debian `chromium` + `chromium-driver`, Selenium).

    scripts/h2-chromium.py WHARF_BINARY DEMO_SITE [--json OUT]

Publishes the demo app into a fresh store and serves it as `make run` does: `wharf edge` with TLS
on and no certificate configured, so the edge creates its development CA under the store. The CA
is imported into an NSS database in a private HOME (with `certutil`, as a developer trusts
`<store>/tls/ca.pem`), Chromium loads `https://localhost:PORT/`, and the page's own Resource
Timing entries are read back: `nextHopProtocol` of the navigation and of every resource, and
`initiatorType` (`early-hints` for what Chromium fetched on the 103's Link preloads, which it does
only over HTTP/2 or later). Prints the entries (and writes them as JSON with --json). Exit status 0
only if every entry is `h2` and at least one resource came from Early Hints. The edge it starts is
stopped by its PID.
"""
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

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    wharf, demo = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    work = pathlib.Path(tempfile.mkdtemp(prefix="wharf-h2-chromium-"))
    store, home = work / "store", work / "home"
    failures, result = [], {}
    edge = driver = None
    try:
        subprocess.run([wharf, "publish", "demo", str(demo), "--store", str(store)], check=True, capture_output=True)
        port, tls_port, admin = free_port(), free_port(), free_port()
        env = dict(os.environ, WHARF_EDGE_TLS_ENABLED="true", WHARF_EDGE_TLS_LISTEN=f"127.0.0.1:{tls_port}")
        log = open(work / "edge.log", "w")
        edge = subprocess.Popen([wharf, "edge", "--store", str(store), "--listen", f"127.0.0.1:{port}",
                                 "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        ca = store / "tls" / "ca.pem"
        for _ in range(200):
            if ca.exists() and "admin API on" in (work / "edge.log").read_text():
                break
            time.sleep(0.1)
        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "wharf-dev", "-i", str(ca)],
                       check=True, capture_output=True)

        options = Options()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run", f"--user-data-dir={work / 'profile'}"):
            options.add_argument(flag)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        # Chromium reads the NSS database under $HOME; the driver passes its environment on.
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver", env=dict(os.environ, HOME=str(home)))
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(30)

        url = f"https://localhost:{tls_port}/"
        driver.get(url)
        time.sleep(1.0)  # late resources (the wasm the page fetches) settle
        entries = driver.execute_script("""
            const nav = performance.getEntriesByType('navigation')[0];
            return [{name: nav.name, type: 'navigation', protocol: nav.nextHopProtocol, initiator: nav.initiatorType || 'navigation'}]
              .concat(performance.getEntriesByType('resource').map(e =>
                ({name: e.name, type: 'resource', protocol: e.nextHopProtocol, initiator: e.initiatorType})));
        """)
        result["entries"] = entries
        result["title"] = driver.title
        for e in entries:
            print(f"{e['protocol']:8} {e['initiator']:12} {e['name']}")
        if len(entries) < 3:
            failures.append(f"only {len(entries)} entries: the page did not load its assets")
        for e in entries:
            if e["protocol"] != "h2":
                failures.append(f"{e['name']} came over {e['protocol']!r}, not h2")
        result["early_hints"] = [e["name"] for e in entries if e["initiator"] == "early-hints"]
        if not result["early_hints"]:
            failures.append("no resource reports initiatorType early-hints")
    except Exception as error:  # a failure of the harness itself is a failure of the test
        failures.append(f"{type(error).__name__}: {error}")
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
        result["failures"] = failures
        if json_out:
            pathlib.Path(json_out).write_text(json.dumps(result, indent=2))
        if failures:
            print("edge log:\n" + (work / "edge.log").read_text()[-3000:] if (work / "edge.log").exists() else "")
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
