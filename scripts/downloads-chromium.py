#!/usr/bin/env python3
"""Downloads in headless Chromium (Debian `chromium` + `chromium-driver`, Selenium) and `curl -C -`.

    scripts/downloads-chromium.py WHARF_BINARY [--json OUT]

Registers an app with the real binary (`wharf apps add shop --download '*.txt'`), publishes a tree
with an APK (2.5 MB of random bytes), a text file the registry glob makes a download, and an
index page, and serves it with `wharf edge` on 127.0.0.1. Then:

1. Chromium opens `/_downloads`: the table must list the APK and the text file (with their
   SHA-256), not the index page.
2. Chromium clicks the APK's link and navigates straight to the text file (which it would render
   inline without `Content-Disposition: attachment`); both must land in the download directory
   (set through prefs and `Browser.setDownloadBehavior`) under their own names with the right
   SHA-256, and the tab must not show the text.
3. `curl -C -` resumes a copy of the APK cut at 1,000,000 bytes; the result must be the exact
   bytes, and curl must have fetched only the rest (a 206).

Writes what it saw as JSON with --json; exit status 0 only if every check passed. The edge it
starts is stopped by its PID.
"""
import hashlib
import json
import os
import pathlib
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
from selenium.webdriver.common.by import By


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wait_for_file(directory, name, timeout=30):
    """The finished download `name` (no `.crdownload` left), or None after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        path = directory / name
        partial = [p for p in directory.iterdir() if p.name.endswith(".crdownload")]
        if path.exists() and not partial:
            return path
        time.sleep(0.1)
    return None


def main():
    wharf = sys.argv[1]
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    work = pathlib.Path(tempfile.mkdtemp(prefix="wharf-downloads-chromium-"))
    store, site, downloads = work / "store", work / "site", work / "downloads"
    failures, result = [], {}
    edge = driver = None
    try:
        (site / "releases").mkdir(parents=True)
        downloads.mkdir()
        apk = os.urandom(2_500_000)
        notes = b"release notes: plain text a browser would show inline\n" * 20
        (site / "index.html").write_text("<!doctype html><html lang=en><title>shop</title><h1>shop</h1>")
        (site / "releases" / "app-release.apk").write_bytes(apk)
        (site / "releases" / "notes.txt").write_bytes(notes)
        subprocess.run([wharf, "apps", "add", "shop", "--download", "*.txt", "--store", str(store),
                        "--token-file", str(work / "token")], check=True, capture_output=True)
        subprocess.run([wharf, "publish", "shop", str(site), "--version", "1.4.2", "--store", str(store)],
                       check=True, capture_output=True)
        port, admin = free_port(), free_port()
        log = open(work / "edge.log", "w")
        edge = subprocess.Popen([wharf, "edge", "--store", str(store), "--listen", f"127.0.0.1:{port}",
                                 "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                stdout=log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if "admin API on" in (work / "edge.log").read_text():
                break
            time.sleep(0.1)
        base = f"http://localhost:{port}"

        options = Options()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run", f"--user-data-dir={work / 'profile'}"):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        })
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(30)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

        # 1. The page lists both downloads.
        driver.get(base + "/_downloads")
        result["title"] = driver.title
        rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
        listed = [r.find_element(By.CSS_SELECTOR, "th a").text for r in rows]
        result["listed"] = listed
        if sorted(listed) != ["releases/app-release.apk", "releases/notes.txt"]:
            failures.append(f"the page lists {listed}")
        text = driver.find_element(By.TAG_NAME, "table").text
        for name, data in (("apk", apk), ("notes", notes)):
            if sha256(data) not in text:
                failures.append(f"the page does not show the {name}'s SHA-256")
        if "1.4.2" not in text:
            failures.append("the page does not show the version")

        # 2. Click the APK; navigate to the text file.
        link = driver.find_element(By.CSS_SELECTOR, "a[href='./releases/app-release.apk']")
        link.click()
        got = wait_for_file(downloads, "app-release.apk")
        result["apk_downloaded"] = got is not None
        if got is None:
            failures.append(f"the APK did not land in the download directory: {[p.name for p in downloads.iterdir()]}")
        elif sha256(got.read_bytes()) != sha256(apk):
            failures.append("the downloaded APK has the wrong SHA-256")
        else:
            result["apk_sha256"] = sha256(got.read_bytes())
        driver.get(base + "/releases/notes.txt")
        got = wait_for_file(downloads, "notes.txt")
        result["notes_downloaded"] = got is not None
        if got is None:
            failures.append(f"notes.txt was not downloaded: {[p.name for p in downloads.iterdir()]}")
        elif got.read_bytes() != notes:
            failures.append("the downloaded notes.txt differs")
        if "release notes" in (driver.find_element(By.TAG_NAME, "body").text or ""):
            failures.append("notes.txt was rendered in the tab instead of downloaded")

        # 3. curl -C - resumes a cut download to the exact bytes.
        partial = work / "partial.apk"
        partial.write_bytes(apk[:1_000_000])
        curl = subprocess.run(["curl", "-sS", "-C", "-", "-o", str(partial), "-w", "%{http_code} %{size_download}",
                               f"http://127.0.0.1:{port}/releases/app-release.apk"],
                              capture_output=True, text=True, timeout=30)
        result["curl"] = curl.stdout
        if curl.returncode != 0 or curl.stdout != f"206 {len(apk) - 1_000_000}":
            failures.append(f"curl -C - answered {curl.stdout!r} (exit {curl.returncode}): {curl.stderr}")
        if sha256(partial.read_bytes()) != sha256(apk):
            failures.append("the resumed APK differs from the original")
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
        if failures and (work / "edge.log").exists():
            print("edge log:\n" + (work / "edge.log").read_text()[-3000:])
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
