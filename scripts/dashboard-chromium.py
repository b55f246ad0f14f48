#!/usr/bin/env python3
"""The operator dashboard end to end in headless Chromium (Debian `chromium` + `chromium-driver`, Selenium).

    scripts/dashboard-chromium.py WHARF_BINARY DEMO_SITE [--json OUT] [--screenshots DIR] [--warmup SECONDS]

Publishes two versions of the demo app into a fresh store (the second with HTML in its version
label, to prove the pages print data as text), runs `wharf serve` (edge + scheduler) on free
loopback ports with a low build threshold, raises traffic, submits builds (one is slow by that
threshold, so its alert carries suggestions), then in Chromium: signs in with the admin token,
opens every page and checks it shows data (charts with points, the queue or finished builds,
slots and scaling decisions, deployments, alerts), rolls the app back from the Apps page and
checks over HTTP that the edge serves the older version, signs out and checks the old cookie is
refused. Attacks: a page of an app on the edge (127.0.0.1 on another port: the same site, so the
SameSite=Strict cookie is sent) posts a rollback to the admin listener by fetch and by a form
(both must be answered 403 and change nothing); a read-only session sees no buttons and its
forced POST gets 403. Last, `wharf edge` alone on the same store: the Builds, Slots and Alerts
pages say no scheduler runs, without requesting its routes (no 404 in the console). The live
log: a build writing a line every 0.3 s (its first line HTML) is opened with its Log button on
the Builds page; the lines on screen must grow between two samples while it runs, the HTML line
must show as text, and a finished build's log must end with its state; a read-only session
may read a build's log. The same build's stage timeline must show its first stage finished with
its duration and the second running, highlighted, its elapsed time ticking. The Apps page must
show the demo app's popularity, its hottest paths (the traffic's) and its cache warm state. The
routes behind them (`/_wharf/api/builds/{id}/stages`, `/_wharf/api/dashboard/apps/{app}`) are
asked with hostile ids and app names, without a token and with POST, over plain HTTP. Fails on any console error or CSP violation in the browser log. Saves a
PNG per page into --screenshots DIR (default: a new temporary directory), and prints where; --warmup first sends varying traffic for that long (for screenshots
whose charts have a history: the README's were taken with --warmup 90). Prints the results as JSON (and writes them with --json). Exit status 0
only if every check passed. The server it starts is stopped by its PID.
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
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

INJECTED = '<img src=x onerror="window.__pwned=1">'
LOG_INJECTED = '<img src=x onerror="window.__pwned=2">'
# A build that writes its log slowly (a line every 0.3 s for 18 s, after a 1 s stage), its first line HTML.
LIVE_SCRIPT = """#!/bin/sh
echo '{injected}'
echo "::stage prepare"
sleep 1
echo "::stage stream"
i=1
while [ $i -le 60 ]; do echo "live line $i"; sleep 0.3; i=$((i+1)); done
mkdir -p dist
echo "<!doctype html><title>live</title>" > dist/index.html
"""
BUILD_SCRIPT = """#!/bin/sh
echo "::stage validation"
sleep {sleep}
echo "::stage compilation"
sleep {sleep}
mkdir -p dist
echo "<!doctype html><title>built</title><p>built by wharf</p>" > dist/index.html
echo "::stage packaging"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, token=None, body=None, cookie=None):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie:
        request.add_header("Cookie", cookie)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main():
    wharf, demo = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    warmup = float(sys.argv[sys.argv.index("--warmup") + 1]) if "--warmup" in sys.argv else 0
    shots = pathlib.Path(sys.argv[sys.argv.index("--screenshots") + 1]) if "--screenshots" in sys.argv \
        else pathlib.Path(tempfile.mkdtemp(prefix="wharf-dashboard-screenshots-"))
    print(f"screenshots: {shots.resolve()}", file=sys.stderr)
    work = pathlib.Path(tempfile.mkdtemp(prefix="wharf-dashboard-"))
    store = work / "store"
    token, read_token = os.urandom(16).hex(), os.urandom(16).hex()
    failures, result = [], {"pages": {}}
    server = driver = None
    started = time.monotonic()
    try:
        # Two versions of the demo app: the older says dash-v1, the newer dash-v2.
        for label, version in (("v1", "dash-v1"), ("v2", INJECTED)):
            site = work / label
            shutil.copytree(demo, site)
            index = site / "index.html"
            index.write_text(index.read_text().replace("<body", f"<!-- dash-{label} --><body", 1))
            out = subprocess.run([wharf, "publish", "demo", str(site), "--store", str(store), "--version", version],
                                 check=True, capture_output=True, text=True)
            result[f"deployment_{label}"] = out.stdout.strip().split()[-1] if out.stdout.strip() else None
        # A quick build (2.4 s: slow by the 1 s threshold) and long ones (10 s) that keep the queue full.
        source, long_source, live_source = work / "src", work / "src-long", work / "src-live"
        live_source.mkdir()
        (live_source / "build.sh").write_text(LIVE_SCRIPT.format(injected=LOG_INJECTED))
        (live_source / "build.sh").chmod(0o755)
        for directory, sleep in ((source, "1.2"), (long_source, "5")):
            directory.mkdir()
            (directory / "build.sh").write_text(BUILD_SCRIPT.format(sleep=sleep))
            (directory / "build.sh").chmod(0o755)
        (work / "wharf.yaml").write_text(
            "scheduler:\n  tick_ms: 100\n  lease_s: 5\n  min_slots: 1\n  max_slots: 2\n  shutdown_grace_s: 1\nmonitor:\n  evaluate_interval_ms: 200\n  thresholds:\n    javascript_web: 1\n"
            "popularity:\n  flush_interval_s: 1\n")
        port, admin = free_port(), free_port()
        server = subprocess.Popen([wharf, "serve", "--store", str(store), "--config", str(work / "wharf.yaml"),
                                   "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                  env={**os.environ, "WHARF_ADMIN_TOKEN": token, "WHARF_READ_TOKEN": read_token},
                                  stdout=subprocess.DEVNULL, stderr=open(work / "serve.log", "w"))
        api = f"http://127.0.0.1:{admin}/_wharf/api"
        for _ in range(200):
            try:
                if call("GET", f"{api}/jobs", token)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

        # Traffic that varies, so the charts have a shape (only with --warmup).
        warm_until, i = time.monotonic() + warmup, 0
        while time.monotonic() < warm_until:
            i += 1
            phase = int(time.monotonic() / 10) % 3
            call("GET", f"http://127.0.0.1:{port}/manifest.webmanifest")
            if i % (7 + 5 * phase) == 0:
                call("GET", f"http://127.0.0.1:{port}/no-such-{i}.js")
            time.sleep(0.01 * (1 + 2 * phase))
        # Builds: the quick one first, then long ones: two slots, so most of them wait in the queue.
        status, body = call("POST", f"{api}/jobs", token, {"app": "built", "type": "javascript_web", "source": str(source),
                                                            "cmd": "./build.sh", "priority": "release", "kind": "user_push"})
        if status != 201:
            failures.append(f"submit: {status} {body[:200]}")
        quick_id = json.loads(body).get("id") if status == 201 else None
        # The slow-log build next: it runs while the Builds page is looked at.
        status, body = call("POST", f"{api}/jobs", token, {"app": "livelog", "type": "javascript_web", "source": str(live_source),
                                                            "cmd": "./build.sh", "priority": "release", "kind": "user_push"})
        if status != 201:
            failures.append(f"submit live: {status} {body[:200]}")
        live_id = json.loads(body).get("id") if status == 201 else None
        for priority in ("low", "normal", "release", "low", "normal"):
            call("POST", f"{api}/jobs", token, {"app": "later", "type": "javascript_web", "source": str(long_source),
                                                "cmd": "./build.sh", "priority": priority, "kind": "manual"})
        # Traffic: hits, misses and some 404s; a few assets too, so the Apps page has hot paths to rank.
        for i in range(60):
            call("GET", f"http://127.0.0.1:{port}/manifest.webmanifest")
            if i % 10 == 0:
                call("GET", f"http://127.0.0.1:{port}/no-such-{i}.js")
            if i % 3 == 0:
                call("GET", f"http://127.0.0.1:{port}/assets/logo.68c7260c.svg")
            if i % 6 == 0:
                call("GET", f"http://127.0.0.1:{port}/assets/style.9e8bc5e1.css")

        options = Options()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", f"--user-data-dir={work / 'profile'}"):
            options.add_argument(flag)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(20)
        wait = WebDriverWait(driver, 15)
        base = f"http://127.0.0.1:{admin}"

        # Not signed in: a page sends the browser to the sign-in page.
        driver.get(f"{base}/_wharf/ui/overview")
        if not driver.current_url.endswith("/_wharf/"):
            failures.append(f"unauthenticated page not redirected: {driver.current_url}")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(expected_conditions.url_contains("/_wharf/ui/overview"))
        cookie = next((c for c in driver.get_cookies() if c["name"] == "wharf_session"), None)
        if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict":
            failures.append(f"session cookie attributes: {cookie}")

        def loaded(page):
            driver.get(f"{base}/_wharf/ui/{page}")
            wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "true")

        def shot(page):
            # A field the script reads under a name the API does not send shows as "undefined" or
            # "NaN" (the JSON key convention: README "Admin API").
            shown = driver.find_element(By.TAG_NAME, "main").text if driver.find_elements(By.TAG_NAME, "main") else driver.find_element(By.TAG_NAME, "body").text
            for word in ("undefined", "NaN", "[object Object]"):
                if word in shown:
                    failures.append(f"the {page} page shows {word!r}: a field read under a name the API does not send")
            shots.mkdir(parents=True, exist_ok=True)
            # The whole page (up to 2400 px), then back to the usual window.
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": 1280, "height": min(max(height, 600), 2400), "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(str(shots / f"dashboard-{page}.png"))
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        def rows(selector):
            return len(driver.find_elements(By.CSS_SELECTOR, selector))

        # Builds: wait until the first build has finished and its slow-build alert is there.
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            _, body = call("GET", f"{api}/alerts?all=1&kind=slow_build", token)
            if json.loads(body).get("alerts"):
                break
            time.sleep(0.3)

        # The read routes the Apps and Builds pages added, over HTTP with the admin token: a finished
        # build's timeline, then hostile ids and app names (the status is the check).
        status, body = call("GET", f"{api}/builds/{quick_id}/stages", token)
        quick = json.loads(body) if status == 200 else {}
        probes = {"quick": {"status": status, "state": quick.get("state"),
                            "stages": [[st["name"], round(st["seconds"], 1), st["current"]] for st in quick.get("stages", [])]}}
        if status != 200 or [n for n, _, _ in probes["quick"]["stages"]] != ["validation", "compilation", "packaging"] \
                or any(c for _, _, c in probes["quick"]["stages"]) or not 1.0 <= probes["quick"]["stages"][0][1] < 5:
            failures.append(f"a finished build's stage timeline: {probes['quick']}")
        expected = {f"/builds/{quick_id}/stages": 200, "/builds/abc/stages": 404, "/builds/0/stages": 404, "/builds/-1/stages": 404,
                    "/builds/99999999/stages": 404, "/builds/1%2f..%2f2/stages": 400, "/dashboard/apps/demo": 200,
                    "/dashboard/apps/..": 404, "/dashboard/apps/%2e%2e": 400, "/dashboard/apps/%2e%2e%2fetc": 400, "/dashboard/apps/" + "a" * 64: 400,
                    "/dashboard/apps/Demo": 400, "/dashboard/apps/no-such-app": 404, "/dashboard/apps/demo?paths=0": 400}
        probes["statuses"] = {path: call("GET", f"{api}{path}", token)[0] for path in expected}
        probes["no_token"] = [call("GET", f"{api}/builds/{quick_id}/stages")[0], call("GET", f"{api}/dashboard/apps/demo")[0]]
        probes["post"] = [call("POST", f"{api}/builds/{quick_id}/stages", token, {})[0], call("POST", f"{api}/dashboard/apps/demo", token, {})[0]]
        result["route_probes"] = probes
        wrong = {p: (probes["statuses"][p], want) for p, want in expected.items() if probes["statuses"][p] != want}
        if wrong or probes["no_token"] != [401, 401] or probes["post"] != [405, 405]:
            failures.append(f"stage and app-detail routes: {wrong} {probes['no_token']} {probes['post']}")

        loaded("overview")
        time.sleep(1.1)  # the history's live point needs a second after the baseline
        loaded("overview")
        points = [int(f.get_attribute("data-points")) for f in driver.find_elements(By.CSS_SELECTOR, "figure.chart-box")]
        result["pages"]["overview"] = {"charts": len(points), "points": points, "figures": rows("#figures dd")}
        if len(points) != 6 or min(points) < 1:
            failures.append(f"overview charts without points: {points}")
        shot("overview")

        loaded("builds")
        queue_ids = [int(r.find_elements(By.TAG_NAME, "td")[1].text) for r in driver.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]
        scores = [float(r.find_elements(By.TAG_NAME, "td")[6].text.replace(",", "")) for r in driver.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]
        finished = rows("#finished tbody tr") + rows("#running tbody tr")
        suggestions = rows("#types .suggestions li")
        result["pages"]["builds"] = {"queue": queue_ids, "scores": scores, "finished_or_running": finished, "suggestions": suggestions}
        if len(scores) < 2 or scores != sorted(scores, reverse=True):
            failures.append(f"queue not in score order: {scores}")
        if not queue_ids and not finished:
            failures.append("builds page shows no build")
        if suggestions < 1:
            failures.append("no slow-build suggestion on the builds page")
        type_charts = [int(f.get_attribute("data-points")) for f in driver.find_elements(By.CSS_SELECTOR, "#types figure.chart-box")]
        slow_cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")[1:3]]
                      for r in driver.find_elements(By.CSS_SELECTOR, "#types table[aria-label='Slow builds'] tbody tr")]
        result["pages"]["builds"].update({"duration_charts": type_charts, "slow_duration_threshold": slow_cells})
        if not type_charts or min(type_charts) < 2:
            failures.append(f"no duration-against-threshold chart with points: {type_charts}")
        if not slow_cells or any("–" in cell for row in slow_cells for cell in row):
            failures.append(f"slow builds without duration or threshold: {slow_cells}")

        # The live log: the slow-log build's Log button (the page re-lists running builds every 5 s).
        def log_lines():
            return driver.execute_script("return [...document.querySelectorAll('#log li')].map(li => li.textContent)")

        def log_state():
            return driver.find_element(By.ID, "log").get_attribute("data-state")

        live = {"job": live_id}
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "const b = document.querySelector(`#running button.show-log[data-job='${arguments[0]}']`);"
            "if (b) b.click(); return !!b;", live_id))
        WebDriverWait(driver, 10).until(lambda d: len(log_lines()) >= 2)
        first, first_state = len(log_lines()), log_state()
        time.sleep(1.5)
        lines, second_state = log_lines(), log_state()
        live.update({"samples": [first, len(lines)], "states": [first_state, second_state],
                     "html_line": next((line for line in lines if "onerror" in line), None),
                     "images": rows("#log img"), "pwned": driver.execute_script("return window.__pwned === 2")})
        if not (len(lines) > first and first_state == "streaming"):
            failures.append(f"the live log did not grow while the build ran: {live}")
        # Lines are as the build log wrote them: "<time> <stream> | <output>".
        if not (live["html_line"] or "").endswith(f"| {LOG_INJECTED}") or live["images"] or live["pwned"]:
            failures.append(f"a log line holding HTML was not shown as text: {live}")

        # The stage timeline of the running slow-log build: "prepare" finished with its duration,
        # "stream" running and highlighted, its elapsed time ticking between polls.
        row = f"#running .timeline[data-job='{live_id}']"

        def stages():
            return driver.execute_script(
                "return [...document.querySelectorAll(arguments[0] + ' li')].map(li => [li.dataset.stage, li.className, Number(li.dataset.seconds), li.querySelector('.elapsed').textContent])",
                row)
        try:
            WebDriverWait(driver, 12).until(lambda d: any(c == "done" for _, c, _, _ in stages())
                                            and any(c == "current" for _, c, _, _ in stages()))
        except Exception:
            pass
        first_stages = stages()
        time.sleep(1.3)
        second_stages = stages()
        ticking = [e for n, c, _, e in first_stages if c == "current"], [e for n, c, _, e in second_stages if c == "current"]
        timeline = {"stages": second_stages, "ticking": ticking,
                    "highlighted": rows(f"{row} svg rect.segment.current"), "segments": rows(f"{row} svg rect.segment")}
        result["timeline"] = timeline
        done = [(n, sec) for n, c, sec, _ in second_stages if c == "done"]
        if not (done and done[0][0] == "prepare" and 0.9 <= done[0][1] < 10):
            failures.append(f"no finished stage with its duration on the running build's timeline: {timeline}")
        if [n for n, c, _, _ in second_stages if c == "current"] != ["stream"] or timeline["highlighted"] != 1:
            failures.append(f"the running stage is not highlighted: {timeline}")
        if not ticking[0] or ticking[0] == ticking[1]:
            failures.append(f"the running stage's elapsed time does not tick: {timeline}")
        shot("builds")
        # A finished build's log: all of it, then its final state.
        driver.execute_script("document.querySelector(`#finished button.show-log[data-job='${arguments[0]}']`)?.click()", quick_id)
        try:
            WebDriverWait(driver, 10).until(lambda d: log_state() == "ended")
        except Exception:
            pass
        finished_lines = log_lines()
        live["finished"] = {"job": quick_id, "state": log_state(), "lines": len(finished_lines),
                            "status": driver.find_element(By.ID, "log-status").text}
        if log_state() != "ended" or not any(line.endswith("| ::stage validation") for line in finished_lines) or "succeeded" not in live["finished"]["status"]:
            failures.append(f"a finished build's log: {live['finished']}")
        result["live_log"] = live

        loaded("slots")
        result["pages"]["slots"] = {"slots": rows("#pool tbody tr"), "decisions": rows("#decisions tbody tr")}
        if rows("#pool tbody tr") < 1 and rows("#decisions tbody tr") < 1:
            failures.append("slots page shows no slot and no decision")
        shot("slots")

        loaded("alerts")
        result["pages"]["alerts"] = {"rows": rows("#alerts tbody tr"), "suggestions": rows("#alerts .suggestions li")}
        if rows("#alerts tbody tr") < 1:
            failures.append("alerts page shows no alert")
        shot("alerts")

        loaded("apps")
        page_text = driver.find_element(By.ID, "apps").text
        deployment_rows = "#apps table[aria-label^='Deployments'] tbody tr"
        result["pages"]["apps"] = {"deployments": rows(deployment_rows), "injected_text_shown": INJECTED in page_text,
                                   "pwned": driver.execute_script("return window.__pwned === 1")}
        # Popularity and hot paths of the app the traffic went to (flushed every second), and its warm state.
        demo = "article[data-app='demo']"
        popularity = driver.find_element(By.CSS_SELECTOR, f"{demo} dd[data-figure='popularity']").text
        hot = [[td.text for td in r.find_elements(By.TAG_NAME, "td")]
               for r in driver.find_elements(By.CSS_SELECTOR, f"{demo} table[aria-label='Hottest paths of demo'] tbody tr")]
        warm = driver.find_element(By.CSS_SELECTOR, f"{demo} dd[data-figure='cache']").text
        result["pages"]["apps"].update({"popularity": popularity, "hot_paths": hot, "cache": warm})
        if not re.match(r"^[0-9][0-9,.]* \(decayed requests", popularity) or float(popularity.split()[0].replace(",", "")) <= 0:
            failures.append(f"the Apps page shows no popularity for demo: {popularity!r}")
        if not hot or not any(row[0] == "/manifest.webmanifest" for row in hot):
            failures.append(f"the Apps page shows no hot path for demo: {hot}")
        if not re.match(r"^\d+ of \d+ files warm", warm):
            failures.append(f"the Apps page shows no cache warm state for demo: {warm!r}")
        created = [r.find_elements(By.TAG_NAME, "td")[3].text for r in driver.find_elements(By.CSS_SELECTOR, deployment_rows)]
        result["pages"]["apps"]["created"] = created
        if not created or any(not re.match(r"^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d$", c) for c in created):
            failures.append(f"deployment times not shown as dates: {created}")
        if INJECTED not in page_text or driver.execute_script("return window.__pwned === 1") \
                or driver.find_elements(By.CSS_SELECTOR, "#apps img"):
            failures.append("the version label was not shown as text")
        shot("apps")

        def console_errors():
            return [e["message"] for e in driver.get_log("browser")
                    if e.get("level") == "SEVERE" or "Content Security Policy" in e.get("message", "")]

        errors = console_errors()
        # The attack: an app on the edge (127.0.0.1, another port: the same site, so the Strict
        # cookie goes along) posts a rollback to the admin listener, by fetch and by a form.
        driver.get_log("performance")
        driver.get(f"http://127.0.0.1:{port}/apps/demo/")
        rollback_url = f"{base}/_wharf/api/apps/demo/rollback"
        body = json.dumps({"to": result["deployment_v1"]})
        driver.execute_script(
            "fetch(arguments[0], {method: 'POST', mode: 'no-cors', credentials: 'include', body: arguments[1]});",
            rollback_url, body)
        time.sleep(0.5)
        driver.execute_script(
            "const f = document.createElement('form'); f.method = 'POST'; f.action = arguments[0];"
            "f.enctype = 'text/plain'; const i = document.createElement('input'); i.name = arguments[1].slice(0, -2);"
            "i.value = '\"}'; f.append(i); document.body.append(f); f.submit();", rollback_url, body)
        time.sleep(1.0)
        statuses = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.responseReceived" and params["response"]["url"] == rollback_url:
                statuses.append(params["response"]["status"])
        driver.get_log("browser")  # the attacking page's own errors are not the dashboard's
        _, apps = call("GET", f"{api}/apps", token)
        live = {a["app"]: a["deployment"] for a in json.loads(apps)["apps"]}.get("demo")
        result["same_site_attack"] = {"statuses": statuses, "live": live}
        if live != result["deployment_v2"]:
            failures.append(f"a same-site page rolled the app back: {live}")
        if not statuses or any(code != 403 for code in statuses):
            failures.append(f"the same-site posts were not answered 403: {statuses}")

        loaded("apps")
        button = driver.find_element(By.CSS_SELECTOR, 'article[data-app="demo"] button.rollback')
        target = button.get_attribute("data-deployment")
        button.click()
        wait.until(expected_conditions.alert_is_present()).accept()
        wait.until(lambda d: d.find_element(By.ID, "action-result").text.startswith(("Done", "Failed")))
        result["rollback"] = {"to": target, "answer": driver.find_element(By.ID, "action-result").text[:200]}
        _, apps = call("GET", f"{api}/apps", token)
        live = {a["app"]: a["deployment"] for a in json.loads(apps)["apps"]}.get("demo")
        # curl, not urllib: the edge answers an HTML entry point with a 103 first.
        served = subprocess.run(["curl", "-s", "--max-time", "5", f"http://127.0.0.1:{port}/apps/demo/"],
                                capture_output=True, text=True).stdout
        result["rollback"].update({"live": live, "serves_v1": "dash-v1" in served})
        if live != target or "dash-v1" not in served:
            failures.append(f"rollback from the page did not switch the alias: live {live}, wanted {target}")
        loaded("apps")
        if not driver.find_elements(By.CSS_SELECTOR, f'article[data-app="demo"] button.rollback[data-deployment="{result.get("deployment_v2")}"]') \
                and result.get("deployment_v2"):
            failures.append("after the rollback the newer deployment has no roll-back button")

        errors += console_errors()
        result["console_errors"] = errors
        if errors:
            failures.append(f"console errors: {errors}")

        # Sign out: back on the sign-in page, and the old cookie opens nothing.
        driver.find_element(By.ID, "signout").click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "token")))
        status, _ = call("GET", f"{api}/status", cookie=f"wharf_session={cookie['value']}")
        driver.get(f"{base}/_wharf/ui/apps")
        result["signed_out"] = {"api_status": status, "page_url": driver.current_url}
        if status != 401 or not driver.current_url.endswith("/_wharf/"):
            failures.append(f"the session survived sign-out: {result['signed_out']}")

        # A read-only session: the pages without buttons, and a POST from its page is refused.
        driver.find_element(By.ID, "token").send_keys(read_token)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(expected_conditions.url_contains("/_wharf/ui/overview"))
        loaded("apps")
        buttons = len(driver.find_elements(By.CSS_SELECTOR, "#apps button"))
        forced = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const csrf = document.querySelector('meta[name=\"wharf-csrf\"]').content;"
            "fetch('/_wharf/api/apps/demo/purge', {method: 'POST', headers: {'X-Wharf-CSRF': csrf}})"
            ".then(r => done(r.status), e => done(String(e)));")
        # The read-only session may read a build's log (the Builds page shows every build).
        read_log = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(`/_wharf/api/builds/${arguments[0]}/log?follow=0`).then(async r => done([r.status, await r.text()]), e => done([String(e), '']));",
            quick_id)
        # And the Apps page's app detail and the Builds page's stage timeline.
        read_more = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "Promise.all([`/_wharf/api/dashboard/apps/demo`, `/_wharf/api/builds/${arguments[0]}/stages`].map(p => fetch(p).then(r => r.status)))"
            ".then(done, e => done(String(e)));", quick_id)
        result["read_only"] = {"buttons": buttons, "forced_post": forced, "role": driver.find_element(By.CSS_SELECTOR, ".role").text,
                               "log_status": read_log[0], "log_has_stage": "| ::stage validation\n" in read_log[1],
                               "detail_and_stages": read_more}
        if read_more != [200, 200]:
            failures.append(f"read-only session cannot read the app detail or a stage timeline: {read_more}")
        if not result["read_only"]["log_has_stage"]:
            failures.append(f"read-only session cannot read a build log: {read_log[0]} {read_log[1][:200]}")
        if buttons or forced != 403:
            failures.append(f"read-only session: {result['read_only']}")
        errors = console_errors()
        # The forced POST's 403 is logged by the browser; anything else is an error.
        unexpected = [e for e in errors if "status of 403" not in e]
        if unexpected:
            failures.append(f"console errors (read-only): {unexpected}")

        # `wharf edge` alone (no scheduler) on the same store: the scheduler's pages say so and
        # request nothing that does not exist (no 404 in the console).
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        admin = free_port()
        server = subprocess.Popen([wharf, "edge", "--store", str(store), "--listen", f"127.0.0.1:{free_port()}",
                                   "--admin-listen", f"127.0.0.1:{admin}", "--workers", "1"],
                                  env={**os.environ, "WHARF_ADMIN_TOKEN": token},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{admin}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/_wharf/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        driver.get(f"{base}/_wharf/")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(expected_conditions.url_contains("/_wharf/ui/overview"))
        edge_only = {}
        for page, box in (("overview", "figures"), ("builds", "queue"), ("slots", "slot-chart"), ("apps", "apps"), ("alerts", "alerts")):
            loaded(page)
            edge_only[page] = driver.find_element(By.ID, box).text[:80]
        result["edge_only"] = edge_only
        errors = [e for e in console_errors() if "status of 403" not in e]
        if errors or any("No scheduler" not in edge_only[p] for p in ("builds", "slots", "alerts")):
            failures.append(f"wharf edge alone: {edge_only}, console {errors}")
    except Exception as error:  # report, then fail
        failures.append(f"{type(error).__name__}: {error}")
        if driver is not None:
            shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shots / "dashboard-failure.png"))
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            os.kill(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
                server.wait()
        if failures and (work / "serve.log").exists():
            result["serve_log_tail"] = (work / "serve.log").read_text()[-3000:]
        shutil.rmtree(work, ignore_errors=True)
    result["failures"] = failures
    result["screenshots"] = str(shots.resolve())
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))
    if json_out:
        pathlib.Path(json_out).write_text(json.dumps(result, indent=2))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
