#!/usr/bin/env python3
"""ha_watch.py - a watcher for test_ha.sh: watches a collection on one API server from a
resourceVersion and writes one line per event ("TYPE NAME RV"), resuming from the last
resourceVersion when the stream ends (as an informer does), until the stop file exists or
the time bound passes. Exits 3 on a 410 (the test counts that as a missed event)."""
import json
import os
import ssl
import sys
import time
import urllib.request

url, path, rv, token, ca, out_path, stop_file = sys.argv[1:8]
deadline = time.time() + 900
ctx = ssl.create_default_context(cafile=ca)
with open(out_path, "a", buffering=1) as out:
    while time.time() < deadline and not os.path.exists(stop_file):
        q = f"{url}{path}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=30"
        req = urllib.request.Request(q, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                for line in r:
                    ev = json.loads(line)
                    obj = ev.get("object", {})
                    if ev.get("type") == "ERROR":
                        if obj.get("code") == 410:
                            out.write("GONE - %s\n" % rv)
                            sys.exit(3)
                        continue
                    nrv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if ev.get("type") != "BOOKMARK":
                        out.write("%s %s %s\n" % (ev["type"], obj["metadata"]["name"], nrv))
                    rv = nrv
                    if os.path.exists(stop_file):
                        break
        except Exception as e:  # the server went away or the stream broke: resume
            out.write("# reconnect after %s\n" % type(e).__name__)
            time.sleep(0.2)
