#!/usr/bin/env python3
"""A raw HTTP/1.1 peer for spec/unit/http_spec.lua: answers the few shapes the API sandbox
cannot (interim 1xx responses, repeated headers, truncated bodies, gzip, redirects, binary
echo). Standard library only, bound to 127.0.0.1, keep-alive.

    http_peer.py --port-file FILE      writes "PORT SILENT_PORT" to FILE once listening

SILENT_PORT accepts connections, reads whatever comes and never sends a byte (a TLS
handshake or a request that gets no answer).

Paths:
    /echo        200, body = the request body, X-Method = the method, X-Content-Type and
                 X-Expect = those request headers ("-" when absent)
    /repeat      200 with Set-Cookie twice, X-Multi twice and an obs-folded X-Folded
    /continue    "100 Continue" (with X-Interim), then 200 with X-Final
    /truncated   200 announcing Content-Length 100, sends 10 bytes, closes
    /redirect    302 to /echo
    /gzip        200, Content-Encoding gzip, decodes to "hello gzip" * 100
    /big         200 with a 1 MiB body
"""
import argparse
import gzip
import os
import socket
import socketserver
import threading


def read_request(rfile):
    """Returns (method, path, headers dict lower-cased, body) or None at end of stream."""
    line = rfile.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = rfile.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rfile.read(int(headers.get("content-length", "0")))
    return method, path, headers, body


def response(status, headers, body):
    head = "HTTP/1.1 %s\r\n" % status
    head += "".join("%s: %s\r\n" % (k, v) for k, v in headers)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode("latin-1") + body


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            req = read_request(self.rfile)
            if req is None:
                return
            if not self.answer(*req):
                return

    def answer(self, method, path, headers, body):
        """Writes the answer; returns False when the connection must close."""
        w = self.wfile.write
        if path == "/echo":
            w(response("200 OK", [("X-Method", method),
                                  ("X-Content-Type", headers.get("content-type", "-")),
                                  ("X-Expect", headers.get("expect", "-"))], body))
        elif path == "/repeat":
            w(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Multi: one\r\nSet-Cookie: b=2\r\n"
              b"X-Multi: two\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok")
        elif path == "/continue":
            w(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
            w(response("200 OK", [("X-Final", "yes")], b"final"))
        elif path == "/truncated":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            return False
        elif path == "/redirect":
            w(response("302 Found", [("Location", "/echo")], b""))
        elif path == "/gzip":
            w(response("200 OK", [("Content-Encoding", "gzip")], gzip.compress(b"hello gzip" * 100)))
        elif path == "/big":
            w(response("200 OK", [], b"x" * (1024 * 1024)))
        else:
            w(response("404 Not Found", [], b"not found"))
        return True


class Silent(socketserver.BaseRequestHandler):
    def handle(self):
        while self.request.recv(65536):
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    silent = Server(("127.0.0.1", 0), Silent)
    threading.Thread(target=silent.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (srv.server_address[1], silent.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
