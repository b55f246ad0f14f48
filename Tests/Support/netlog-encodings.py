#!/usr/bin/env python3
"""Prints "URL CONTENT-ENCODING" for every response in a Chromium net log (--log-net-log=FILE).

Used by the browser tests to see what Chromium itself received (br for JS and CSS over HTTPS)."""
import json
import sys

log = json.load(open(sys.argv[1]))
types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
urls, encodings = {}, {}
for event in log["events"]:
    kind, source, params = types.get(event["type"]), event["source"]["id"], event.get("params", {})
    if kind == "REQUEST_ALIVE" and "url" in params:
        urls[source] = params["url"]
    if kind == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS":
        codings = [h.split(":", 1)[1].strip() for h in params.get("headers", []) if h.lower().startswith("content-encoding:")]
        encodings[source] = codings[0] if codings else "identity"
for source, url in urls.items():
    if source in encodings:
        print(url, encodings[source])
