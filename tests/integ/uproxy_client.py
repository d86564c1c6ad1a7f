# uproxy_client.py MODE HOST PORT N [FILE]: the userspace proxy test's client (see
# uproxy_backend.py). Every socket operation is bounded by 5 s.
#   seq   N connections one after another: prints each backend's name
#   hold  N connections held open together: prints each name, then checks each echoes
#   long  one connection: prints the name, waits (<= 60 s) for FILE to exist, then
#         prints "echo ok" if the connection still echoes
import os, socket, sys, time
mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def conn():
    s = socket.create_connection((host, port), timeout=5)
    f = s.makefile("rwb")
    return s, f, f.readline().decode().strip()
def echo(s, f):
    f.write(b"ping\n"); f.flush()
    return f.readline() == b"ping\n"
if mode == "seq":
    for _ in range(n):
        s, f, name = conn(); print(name, flush=True); s.close()
elif mode == "hold":
    held = [conn() for _ in range(n)]
    for _, _, name in held: print(name)
    print("echo ok" if all(echo(s, f) for s, f, _ in held) else "echo failed")
elif mode == "long":
    s, f, name = conn(); print(name, flush=True)
    t = time.time()
    while not os.path.exists(sys.argv[5]) and time.time() - t < 60: time.sleep(0.1)
    print("echo ok" if echo(s, f) else "echo failed")
