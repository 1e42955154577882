#!/usr/bin/python3
"""A minimal forward HTTP proxy for spec/integration/proxy_spec.lua. Standard library only,
bound to 127.0.0.1.

    http_proxy.py --port 0 --port-file FILE --log LOG

Writes the bound port (decimal + newline) to FILE atomically once listening. Takes
absolute-form requests (``GET http://127.0.0.1:8080/v1/... HTTP/1.1``), forwards each to its
origin with ``Via: 1.1 http_proxy.py`` added and the hop-by-hop headers (Connection,
Proxy-Connection, Proxy-Authorization, Keep-Alive, ...) removed, and streams the answer back.
Client connections are kept alive (HTTP/1.1 unless ``Connection: close``); each one keeps its
own connection to the origin. CONNECT (tunnels, TLS) is refused with 501, an origin-form
request with 400, an origin that cannot be reached gets 502.

Every request is appended to LOG as one JSON line, written before it is forwarded (so a client
that has its answer finds it in the log):

    {"method": "GET", "url": "http://127.0.0.1:8080/v1/organizations?limit=1000&offset=0",
     "proxy_authorization": false, "headers": ["Host", "Authorization", ...],
     "connection": 1, "seq": 1}

``headers`` lists the request's header names only: no header value (the Authorization bearer
token, the Proxy-Authorization credentials) is ever written. ``connection`` numbers the client
connections in accept order, ``seq`` the requests on that connection.
"""
import argparse
import http.client
import itertools
import json
import os
import socket
import socketserver
import sys
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"}
ORIGIN_TIMEOUT = 120  # seconds; the specs' requests answer in milliseconds
CHUNK = 65536


class BadRequest(Exception):
    pass


def read_head(rfile):
    """Returns (request line, [(name, value)]) or None at the end of the stream."""
    line = rfile.readline(CHUNK + 1)
    while line in (b"\r\n", b"\n"):  # tolerated before a request line (RFC 9112 2.2)
        line = rfile.readline(CHUNK + 1)
    if not line:
        return None
    headers = []
    while True:
        h = rfile.readline(CHUNK + 1)
        if h in (b"\r\n", b"\n", b""):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def read_body(rfile, headers):
    """Reads the request body (Content-Length or chunked) and returns it whole."""
    get = {k.lower(): v for k, v in headers}
    if "chunked" in get.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int(rfile.readline(CHUNK + 1).split(b";")[0].strip() or b"x", 16)
            if size == 0:
                while rfile.readline(CHUNK + 1) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline(3)
    length = get.get("content-length", "0").strip() or "0"
    if not length.isdigit():
        raise BadRequest("bad Content-Length")
    return rfile.read(int(length))


def tokens(headers, name):
    """The lower-cased comma-separated tokens of every header called name."""
    out = set()
    for k, v in headers:
        if k.lower() == name:
            out.update(t.strip().lower() for t in v.split(","))
    return out


class Handler(socketserver.StreamRequestHandler):
    """One client connection: requests are read, logged, forwarded and answered in turn."""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = next(self.server.conn_ids)
        self.origin = None  # (host, port, http.client.HTTPConnection) of the last origin

    def finish(self):
        if self.origin:
            self.origin[2].close()
        super().finish()

    def handle(self):
        for seq in itertools.count(1):
            try:
                head = read_head(self.rfile)
                if head is None:
                    return
                if not self.answer(seq, *head):
                    return
            except (BadRequest, ValueError) as exc:
                self.simple(400, "Bad Request", "proxy: %s\n" % exc)
                return
            except (ConnectionError, TimeoutError, http.client.HTTPException):
                return

    def simple(self, status, reason, text):
        """Writes a short text/plain answer and asks the client to close."""
        body = text.encode()
        self.wfile.write(("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                          "Connection: close\r\n\r\n" % (status, reason, len(body))).encode()
                         + body)

    def answer(self, seq, line, headers):
        """Handles one request; returns False when the client connection must close."""
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("malformed request line")
        method, target, version = parts
        self.server.record({
            "method": method, "url": target, "connection": self.conn_id, "seq": seq,
            "proxy_authorization": any(k.lower() == "proxy-authorization" for k, _ in headers),
            "headers": [k for k, _ in headers]})
        if method == "CONNECT":
            self.simple(501, "Not Implemented", "proxy: CONNECT is not supported\n")
            return False
        url = urllib.parse.urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise BadRequest("expected an absolute http:// URL, got %r" % target)
        body = read_body(self.rfile, headers)
        conn_tokens = tokens(headers, "connection") | tokens(headers, "proxy-connection")
        keep = "close" not in conn_tokens and (version == "HTTP/1.1" or "keep-alive" in conn_tokens)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        forward = [(k, v) for k, v in headers
                   if k.lower() not in HOP_BY_HOP and k.lower() not in conn_tokens
                   and k.lower() != "content-length"]
        forward.append(("Via", "%s http_proxy.py" % version[5:]))
        if body or method in ("POST", "PUT", "PATCH"):
            forward.append(("Content-Length", str(len(body))))
        try:
            res = self.forward(url.hostname, url.port or 80, method, path, forward, body)
        except OSError as exc:
            self.simple(502, "Bad Gateway", "proxy: cannot reach %s: %s\n" % (url.netloc, exc))
            return False
        return self.relay(method, res, keep)

    def forward(self, host, port, method, path, headers, body):
        """Sends the request to the origin and returns its response (headers read). A reused
        origin connection that fails before answering is retried once on a new one, and only
        for GET and HEAD: the proxy never repeats a write."""
        for attempt in (1, 2):
            reused = self.origin is not None and self.origin[:2] == (host, port)
            if not reused:
                if self.origin:
                    self.origin[2].close()
                self.origin = (host, port, http.client.HTTPConnection(host, port, timeout=ORIGIN_TIMEOUT))
            conn = self.origin[2]
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body)
                return conn.getresponse()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.origin = None
                if not (reused and attempt == 1 and method in ("GET", "HEAD")):
                    raise
        raise AssertionError("unreachable")

    def relay(self, method, res, keep):
        """Streams the origin's answer to the client; returns whether to keep the connection."""
        bodyless = method == "HEAD" or res.status in (204, 304) or 100 <= res.status < 200
        out = ["HTTP/1.1 %d %s\r\n" % (res.status, res.reason)]
        for k, v in res.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                out.append("%s: %s\r\n" % (k, v))
        if bodyless:
            framing = None
        elif res.chunked:
            framing = "chunked"
            out.append("Transfer-Encoding: chunked\r\n")
        elif res.length is not None:
            framing = "length"
            out.append("Content-Length: %d\r\n" % res.length)
        else:
            framing, keep = "close", False  # delimited by the origin closing its connection
        if res.will_close and self.origin:
            self.origin[2].close()
            self.origin = None
        out.append("" if keep else "Connection: close\r\n")
        self.wfile.write(("".join(out) + "\r\n").encode("latin-1"))
        while framing:
            data = res.read1(CHUNK) if framing != "chunked" else res.read(CHUNK)
            if not data:
                break
            if framing == "chunked":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        if framing == "length" and res.length:  # the origin closed early: so does the proxy
            return False
        self.wfile.flush()
        return keep


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, log):
        super().__init__(("127.0.0.1", port), Handler)
        self.log = log
        self.lock = threading.Lock()
        self.conn_ids = itertools.count(1)

    def record(self, entry):
        """Appends one JSON line to the log (opened per entry: a spec may truncate it)."""
        if not self.log:
            return
        with self.lock, open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="Minimal forward HTTP proxy on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--port-file", metavar="PATH", help="write the bound port number to PATH")
    ap.add_argument("--log", metavar="PATH", help="append one JSON line per request to PATH")
    args = ap.parse_args()
    srv = Proxy(args.port, args.log)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
