#!/usr/bin/env python3
"""A /metrics target with the series the 1,000-SLO bench spec reads (100 journeys):
http_server_request_duration_seconds (histogram; status 200 and 500) and job_runs_total
(outcome success/failure), counters growing with wall time. Usage: fixture.py PORT"""
import http.server
import sys
import time

START = time.time()
BUCKETS = ["0.05", "0.1", "0.3", "1", "+Inf"]
SHARE = [0.5, 0.8, 0.97, 0.995, 1.0]


def body():
    t = time.time() - START
    out = ["# TYPE http_server_request_duration_seconds histogram"]
    for j in range(100):
        for code, rate in (("200", 10.0), ("500", 0.01 * (1 + j % 5))):
            n = int(rate * t)
            labels = f'journey="journey-{j}",http_response_status_code="{code}"'
            for le, share in zip(BUCKETS, SHARE):
                out.append(f'http_server_request_duration_seconds_bucket{{{labels},le="{le}"}} {int(n * share)}')
            out.append(f"http_server_request_duration_seconds_count{{{labels}}} {n}")
            out.append(f"http_server_request_duration_seconds_sum{{{labels}}} {n * 0.08:.3f}")
    out.append("# TYPE job_runs_total counter")
    for j in range(100):
        out.append(f'job_runs_total{{journey="journey-{j}",outcome="success"}} {int(2.0 * t)}')
        out.append(f'job_runs_total{{journey="journey-{j}",outcome="failure"}} {int(0.002 * t)}')
    return ("\n".join(out) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = body()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
