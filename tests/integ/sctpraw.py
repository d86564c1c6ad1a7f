# sctpraw.py: SCTP through the Service proxy on a kernel without SCTP sockets
# (CONFIG_IP_SCTP unset): raw IP sockets of protocol 132 carry hand-built packets.
#   sctpraw.py listen PORT SECONDS [6]: for SECONDS, prints "<message> <peer address>"
#     for every INIT to PORT and answers it with an INIT-ACK (with 6: IPv6 and IPv4).
#   sctpraw.py send ADDR PORT MESSAGE: sends an INIT to ADDR:PORT carrying MESSAGE in a
#     skippable parameter, prints "INIT-ACK from <addr>:<port>" when the answer comes (3 s).
import os, socket, struct, sys, time
T = []
for n in range(256):
    c = n
    for _ in range(8): c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b: c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def packet(sport, dport, vtag, chunk):
    p = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    return p[:8] + struct.pack("<I", crc32c(p)) + p[12:]
def init_chunk(ctype, itag, params):
    body = struct.pack("!IIHHI", itag, 65535, 1, 1, 1) + params  # tag, a_rwnd, OS, MIS, TSN
    return struct.pack("!BBH", ctype, 0, 4 + len(body)) + body
def param(ptype, val):
    v = struct.pack("!HH", ptype, 4 + len(val)) + val
    return v + b"\0" * (-len(v) % 4)
def sock(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return fam, socket.socket(fam, socket.SOCK_RAW, 132)
def parse(fam, data):
    if fam == socket.AF_INET: data = data[(data[0] & 15) * 4:]
    if len(data) < 16: return None
    sport, dport, vtag = struct.unpack("!HHI", data[:8])
    ctype, _, clen = struct.unpack("!BBH", data[12:16])
    return sport, dport, vtag, ctype, data[16:12 + clen]
def params(body):
    out, i = {}, 16
    while i + 4 <= len(body):
        t, l = struct.unpack("!HH", body[i:i + 4])
        if l < 4: break
        out[t] = body[i + 4:i + l]; i += l + (-l % 4)
    return out
MSG = 0xC0DE  # top bits 11: skip the parameter and report it
if sys.argv[1] == "listen":
    port, end = int(sys.argv[2]), time.time() + float(sys.argv[3])
    fam, s = sock("::" if len(sys.argv) > 4 and sys.argv[4] == "6" else "0.0.0.0")
    s2 = sock("0.0.0.0")[1] if fam == socket.AF_INET6 else None
    socks = [(fam, s)] + ([(socket.AF_INET, s2)] if s2 else [])
    import select
    seen = False
    while time.time() < end:
        r, _, _ = select.select([x[1] for x in socks], [], [], 0.5)
        for f, x in socks:
            if x not in r: continue
            data, peer = x.recvfrom(65535)
            p = parse(f, data)
            if not p or p[1] != port or p[3] != 1: continue
            sport, dport, _, _, body = p
            itag = struct.unpack("!I", body[:4])[0]
            print(params(body).get(MSG, b"?").decode(), peer[0], flush=True)
            ack = init_chunk(2, 0x5eed, param(7, b"cookie"))
            x.sendto(packet(dport, sport, itag, ack), (peer[0], 0))
            seen = True
    sys.exit(0 if seen else 1)
addr, port, msg = sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
fam, s = sock(addr)
sport, itag = 40000 + os.getpid() % 20000, 0x1000 + os.getpid()
s.sendto(packet(sport, port, 0, init_chunk(1, itag, param(MSG, msg))), (addr, 0))
s.settimeout(0.5)
end = time.time() + 3
while time.time() < end:
    try: data, peer = s.recvfrom(65535)
    except socket.timeout: continue
    p = parse(fam, data)
    if p and p[1] == sport and p[3] == 2 and p[2] == itag:
        print("INIT-ACK from %s:%d" % (peer[0], p[0])); sys.exit(0)
print("no INIT-ACK"); sys.exit(1)
