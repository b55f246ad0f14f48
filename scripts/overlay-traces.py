#!/usr/bin/env python3
"""Builds a heavier build-arrival trace with the shipped traces' structure: BASE plus OVERLAY laid over
it at each given day offset, the overlay's apps, sources and dependency hashes renamed per copy so that
nothing is shared with the base by accident. Rows are renumbered in arrival order (user rows before
cache-warm rows at one instant) and manual rebuilds keep pointing at their own parents.

    scripts/overlay-traces.py ../shared/traces/dev-seed3.csv ../shared/traces/dev-seed1.csv 0,3 /tmp/heavy.csv
    .build/release/wharf simulate /tmp/heavy.csv --policy seed
    .build/release/wharf simulate /tmp/heavy.csv

With dev-seed3 and dev-seed1 at days 0 and 3 the result has 9,369 rows over 7 days (about 1.5x
dev-seed3's). A `<out>.meta.json` beside it carries the base's horizon.
"""
import csv
import json
import os
import sys


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base_path, overlay_path, offsets_text, out_path = sys.argv[1:]
    try:
        offsets = [int(x) for x in offsets_text.split(",") if x != ""]
    except ValueError:
        sys.exit(f"day offsets must be integers separated by commas, got {offsets_text!r}")
    base, overlay = load(base_path), load(overlay_path)
    if not base or not overlay:
        sys.exit("both traces need at least one row")
    fields = list(base[0].keys())
    if list(overlay[0].keys()) != fields:
        sys.exit("the traces have different columns")

    rows = []  # (row, copy tag); parents are resolved within the same copy
    for row in base:
        rows.append((dict(row), "base"))
    for n, days in enumerate(offsets):
        tag = chr(ord("x") + n) if n < 3 else f"o{n}"
        for row in overlay:
            row = dict(row)
            row["app_id"] = f"{tag}-{row['app_id']}"
            row["source_hash"] = f"{tag}{row['source_hash']}"
            row["deps_hash"] = f"{tag}{row['deps_hash']}"
            row["arrival_s"] = f"{float(row['arrival_s']) + days * 86400:.1f}"
            rows.append((row, tag))

    rows.sort(key=lambda item: (float(item[0]["arrival_s"]), item[0]["kind"] == "cache_warm"))
    new_id = {(tag, row["req_id"]): i for i, (row, tag) in enumerate(rows, 1)}
    for i, (row, tag) in enumerate(rows, 1):
        if row.get("parent_req_id"):
            row["parent_req_id"] = str(new_id.get((tag, row["parent_req_id"]), ""))
        row["req_id"] = str(i)

    with open(out_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row for row, _ in rows)

    meta_in = os.path.splitext(base_path)[0] + ".meta.json"
    horizon = json.load(open(meta_in))["horizon_s"] if os.path.exists(meta_in) else None
    if horizon is None:
        horizon = (int(max(float(r["arrival_s"]) for r, _ in rows) // 86400) + 1) * 86400
    with open(os.path.splitext(out_path)[0] + ".meta.json", "w") as f:
        json.dump({"horizon_s": horizon, "args": {"base": os.path.basename(base_path),
                                                  "overlay": os.path.basename(overlay_path), "days": offsets}}, f)
    print(f"{len(rows)} rows, horizon {horizon:.0f} s -> {out_path}")


if __name__ == "__main__":
    main()
