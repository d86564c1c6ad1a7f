# echo_backend.py NAME: the Service proxy tests' backend pod. Answers HTTP on [::]:8080
# and UDP on [::]:5353 (both families) with "NAME <peer address>", an IPv4 peer shown
# as IPv4 (not ::ffff:a.b.c.d).
import http.server, socket, sys, threading
name = sys.argv[1]
def answer(peer):
    if peer.startswith("::ffff:") and "." in peer: peer = peer[7:]
    return ("%s %s\n" % (name, peer)).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = answer(self.client_address[0])
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
def udp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", 5353))
    while True:
        d, a = s.recvfrom(2048); s.sendto(answer(a[0]), a)
threading.Thread(target=udp, daemon=True).start()
S(("::", 8080), H).serve_forever()
