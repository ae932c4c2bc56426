"""Open-loop, constant-rate HTTP load: request i is due at t0 + i / RATE, whatever happened to the others.

wrk (Debian's, 4.1) is closed-loop: each connection sends its next request when the previous answer arrives,
so a slow answer delays the requests behind it and they are never timed as late ("coordinated omission"); its
p99 at a given concurrency is not the p99 a server shows at a given arrival rate. wrk2 (wrk's constant-rate
fork) and oha are not in Debian or PyPI, so this small client does the fixed-rate test.

How: a pool of keep-alive connections, each served by one thread, opened before the clock starts. A thread takes
the next request number i, sleeps until its due time (time.sleep: nanosleep, not the event loop's millisecond
timers), sends it, reads the whole answer. Latency is measured from the due time, not the send time, so time a
request spent waiting for a free connection, or behind a slow answer, counts (the send time and the service
time are reported too). A request still unsent GRACE seconds after the schedule ended is counted as missed;
the run is "sustained" only if none was missed, none failed and the completed rate is within 1 % of RATE.

The client's own floor (its timer and thread wake-up lag, Python's parsing) is measured with --serve-trivial:
a server answering a fixed 200 from an asyncio protocol, nearly free. run.py does that once per run and
reports it next to the servers' figures.

Usage:
  openloop.py URL --rate 1000 --duration 10 --bodies records.jsonl [--content-type application/json]
              [--connections 32] [--warmup 2] [--timeout 5]      → one JSON line on stdout
  openloop.py --serve-trivial PORT                               → a trivial keep-alive HTTP server
"""

import argparse
import asyncio
import json
import math
import resource
import socket
import sys
import threading
import time
from urllib.parse import urlsplit


class Connection:
    """One HTTP/1.1 keep-alive connection; reconnects when the server closed it (gunicorn's sync workers do)."""

    def __init__(self, host, port, timeout):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None
        self.buf = bytearray()

    def connect(self):
        self.close()
        s = socket.create_connection(self.addr, timeout=self.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.buf = bytearray()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def request(self, raw):
        """Sends one request, reads its whole answer; returns the status code."""
        if self.sock is None:
            self.connect()
        self.sock.sendall(raw)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        status = int(head[0].split(" ", 2)[1])
        length, chunked, close = None, False, head[0].startswith("HTTP/1.0")
        for line in head[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection":
                close = value == "close"
        if chunked:
            while True:
                while (eol := self.buf.find(b"\r\n")) < 0:
                    self._fill()
                size = int(bytes(self.buf[:eol]).split(b";")[0], 16)
                while len(self.buf) < eol + 2 + size + 2:
                    self._fill()
                del self.buf[: eol + 2 + size + 2]
                if size == 0:
                    break
        elif length is not None:
            while len(self.buf) < length:
                self._fill()
            del self.buf[:length]
        else:
            close = True  # no length: the body ends with the connection
            try:
                while True:
                    self._fill()
            except ConnectionError:
                pass
        if close:
            self.close()
        return status


def build_requests(url, bodies_path, mode, content_type):
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    with open(bodies_path, "rb") as f:
        data = f.read()
    bodies = [data] if mode == "whole" else [line for line in data.split(b"\n") if line.strip()]
    host = f"{parts.hostname}:{parts.port}"
    return parts.hostname, parts.port, [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        + body
        for body in bodies
    ]


def percentiles(values):
    if not values:
        return None
    v = sorted(values)

    def at(q):  # nearest rank
        return v[min(len(v), max(1, math.ceil(q / 100 * len(v)))) - 1]

    return {
        "p50": at(50) * 1e6,
        "p90": at(90) * 1e6,
        "p99": at(99) * 1e6,
        "p99_9": at(99.9) * 1e6,
        "max": v[-1] * 1e6,
        "mean": sum(v) / len(v) * 1e6,
    }


def run(args):
    host, port, requests = build_requests(args.url, args.bodies, args.body_mode, args.content_type)
    rate = float(args.rate)
    total = int(round((args.warmup + args.duration) * rate))
    warm = int(round(args.warmup * rate))
    conns = [Connection(host, port, args.timeout) for _ in range(args.connections)]
    for c in conns:
        c.connect()

    # A short switch interval: a thread that wakes for its due time gets the GIL within 0.1 ms even if another
    # is parsing an answer (they release it at every socket call anyway).
    sys.setswitchinterval(1e-4)
    lock = threading.Lock()
    state = {"next": 0}
    results = []  # (i, due, sent, done, ok) — list.append is atomic under the GIL
    missed = [0]
    start_gate = threading.Event()
    t0_box = [0.0]

    def worker(conn, offset):
        start_gate.wait()
        t0 = t0_box[0]
        hard_stop = t0 + total / rate + args.grace
        k = offset
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= total:
                return
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            if sent > hard_stop:
                with lock:
                    missed[0] += 1
                continue
            try:
                ok = 200 <= conn.request(requests[k % len(requests)]) < 300
            except (OSError, ValueError, IndexError):
                conn.close()
                ok = False
            k += 1
            results.append((i, due, sent, time.perf_counter(), ok))

    threads = [
        threading.Thread(target=worker, args=(c, n * 7919), daemon=True) for n, c in enumerate(conns)
    ]
    for t in threads:
        t.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0_box[0] = time.perf_counter() + 0.05
    start_gate.set()
    for t in threads:
        t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in conns:
        c.close()

    t0 = t0_box[0]
    measured = [r for r in results if r[0] >= warm]
    done_ok = [r for r in measured if r[4]]
    failed = sum(1 for r in results if not r[4])
    scheduled = total - warm
    # Completed rate over the whole run, warm-up included: a server that cannot keep up answers the requests in
    # their order, so past its capacity it may not reach the measured window at all.
    completed_all = sum(1 for r in results if r[4])
    elapsed = max((r[3] for r in results), default=t0) - t0
    achieved = completed_all / elapsed if elapsed > 0 else 0.0
    lat = [r[3] - r[1] for r in done_ok]
    service = [r[3] - r[2] for r in done_ok]
    lag = [r[2] - r[1] for r in done_ok]
    sustained = missed[0] == 0 and failed == 0 and achieved >= 0.99 * rate
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "rate": rate,
        "duration_s": args.duration,
        "connections": args.connections,
        "scheduled": scheduled,
        "completed": len(done_ok),
        "completed_with_warmup": completed_all,
        "failed": failed,
        "missed": missed[0],
        "achieved_rps": achieved,
        "sustained": sustained,
        "latency_us": percentiles(lat),
        "service_us": percentiles(service),
        "send_lag_us": percentiles(lag),
        "client_cpu_s": cpu,
    }


class Trivial(asyncio.Protocol):
    ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'

    def connection_made(self, transport):
        self.transport = transport
        self.buf = bytearray()
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in bytes(self.buf[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            del self.buf[: end + 4 + length]
            self.transport.write(self.ANSWER)


async def serve_trivial(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Trivial, "127.0.0.1", port, backlog=1024)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url", nargs="?")
    ap.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds at the same rate before, not measured")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--bodies", help="request bodies, one per line (or the whole file with --body-mode whole)")
    ap.add_argument("--body-mode", choices=["lines", "whole"], default="lines")
    ap.add_argument("--content-type", default="application/json")
    ap.add_argument("--timeout", type=float, default=5.0, help="socket timeout, seconds")
    ap.add_argument("--grace", type=float, default=2.0, help="seconds after the schedule's end to finish")
    ap.add_argument("--serve-trivial", type=int, metavar="PORT", help="run the trivial calibration server")
    args = ap.parse_args()
    if args.serve_trivial is not None:
        try:
            asyncio.run(serve_trivial(args.serve_trivial))
        except KeyboardInterrupt:
            pass
        return
    if not args.url or not args.bodies:
        ap.error("URL and --bodies are needed")
    json.dump(run(args), sys.stdout)
    print()


if __name__ == "__main__":
    main()
