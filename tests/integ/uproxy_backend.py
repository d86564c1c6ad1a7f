# uproxy_backend.py NAME: the userspace proxy test's backend pod. On TCP [::]:9000 (both
# families) it greets each connection with "NAME\n" and then echoes every line back
# until the client closes, so a client learns which backend it reached and can hold the
# connection open.
import socket, sys, threading
name = sys.argv[1].encode()
def serve(c):
    try:
        c.sendall(name + b"\n")
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 9000)); s.listen(256)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
