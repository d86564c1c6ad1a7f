# ingress_backend.py NAME: the Ingress test's backend pod. HTTP/1.1 (keep-alive) on
# [::]:8080 answering "NAME path=<path> host=<Host> xff=<X-Forwarded-For>
# proto=<X-Forwarded-Proto> xfh=<X-Forwarded-Host>"; a request with
# "Upgrade: websocket" gets 101 and then every byte echoed back (a tunnel check, not a
# WebSocket implementation). POST bodies are read and their length reported.
import base64, hashlib, http.server, socket, sys
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, extra=""):
        h = self.headers
        b = ("%s path=%s host=%s xff=%s proto=%s xfh=%s%s\n" % (name, self.path, h.get("Host"), h.get("X-Forwarded-For"),
             h.get("X-Forwarded-Proto"), h.get("X-Forwarded-Host"), extra)).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        if (self.headers.get("Upgrade") or "").lower() == "websocket":
            key = self.headers.get("Sec-WebSocket-Key", "")
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.send_response(101); self.send_header("Upgrade", "websocket"); self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc); self.end_headers(); self.wfile.flush()
            while True:
                d = self.connection.recv(4096)
                if not d: return
                self.connection.sendall(d)
        self.answer()
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.answer(" body=%d" % len(body))
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
S(("::", 8080), H).serve_forever()
