#!/usr/bin/env python3
"""mkseeds_streams.py - writes the seed corpora of fuzz_execsess.c and fuzz_pfsess.c:
what kubectl sends on an exec/attach or port-forward session, as WebSocket frames (masked,
fragmented, with control frames) or SPDY/3.1 frames whose header blocks are compressed
with SPDY/3's dictionary as moby/spdystream does. Run from the repository root."""
import struct
import zlib

DICT = (
    b"\x00\x00\x00\x07options\x00\x00\x00\x04head\x00\x00\x00\x04post\x00\x00\x00\x03put\x00\x00\x00\x06delete"
    b"\x00\x00\x00\x05trace\x00\x00\x00\x06accept\x00\x00\x00\x0eaccept-charset\x00\x00\x00\x0faccept-encoding"
    b"\x00\x00\x00\x0faccept-language\x00\x00\x00\x0daccept-ranges\x00\x00\x00\x03age\x00\x00\x00\x05allow"
    b"\x00\x00\x00\x0dauthorization\x00\x00\x00\x0dcache-control\x00\x00\x00\x0aconnection\x00\x00\x00\x0ccontent-base"
    b"\x00\x00\x00\x10content-encoding\x00\x00\x00\x10content-language\x00\x00\x00\x0econtent-length"
    b"\x00\x00\x00\x10content-location\x00\x00\x00\x0bcontent-md5\x00\x00\x00\x0dcontent-range"
    b"\x00\x00\x00\x0ccontent-type\x00\x00\x00\x04date\x00\x00\x00\x04etag\x00\x00\x00\x06expect\x00\x00\x00\x07expires"
    b"\x00\x00\x00\x04from\x00\x00\x00\x04host\x00\x00\x00\x08if-match\x00\x00\x00\x11if-modified-since"
    b"\x00\x00\x00\x0dif-none-match\x00\x00\x00\x08if-range\x00\x00\x00\x13if-unmodified-since"
    b"\x00\x00\x00\x0dlast-modified\x00\x00\x00\x08location\x00\x00\x00\x0cmax-forwards\x00\x00\x00\x06pragma"
    b"\x00\x00\x00\x12proxy-authenticate\x00\x00\x00\x13proxy-authorization\x00\x00\x00\x05range"
    b"\x00\x00\x00\x07referer\x00\x00\x00\x0bretry-after\x00\x00\x00\x06server\x00\x00\x00\x02te"
    b"\x00\x00\x00\x07trailer\x00\x00\x00\x11transfer-encoding\x00\x00\x00\x07upgrade\x00\x00\x00\x0auser-agent"
    b"\x00\x00\x00\x04vary\x00\x00\x00\x03via\x00\x00\x00\x07warning\x00\x00\x00\x10www-authenticate"
    b"\x00\x00\x00\x06method\x00\x00\x00\x03get\x00\x00\x00\x06status\x00\x00\x00\x06200 OK\x00\x00\x00\x07version"
    b"\x00\x00\x00\x08HTTP/1.1\x00\x00\x00\x03url\x00\x00\x00\x06public\x00\x00\x00\x0aset-cookie"
    b"\x00\x00\x00\x0akeep-alive\x00\x00\x00\x06origin"
    b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    b"403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    b"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    b"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    b"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def wsframe(op, payload, fin=True, mask=b"\x01\x02\x03\x04"):
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        h = bytes([b0, 0x80 | n])
    elif n < 65536:
        h = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    return h + mask + bytes(payload[i] ^ mask[i % 4] for i in range(n))


class Spdy:
    def __init__(self):
        self.z = zlib.compressobj(zdict=DICT)

    def block(self, hdrs):
        b = struct.pack(">I", len(hdrs))
        for k, v in hdrs:
            b += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
        return self.z.compress(b) + self.z.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def ctrl(t, flags, payload):
        return struct.pack(">HH", 0x8003, t) + bytes([flags]) + struct.pack(">I", len(payload))[1:] + payload

    def syn(self, sid, hdrs, fin=False):
        return self.ctrl(1, 1 if fin else 0, struct.pack(">II", sid, 0) + b"\x00\x00" + self.block(hdrs))

    @staticmethod
    def data(sid, payload, flags=0):
        return struct.pack(">I", sid) + bytes([flags]) + struct.pack(">I", len(payload))[1:] + payload

    def ping(self, i):
        return self.ctrl(6, 0, struct.pack(">I", i))

    def rst(self, sid):
        return self.ctrl(3, 0, struct.pack(">II", sid, 5))

    def goaway(self):
        return self.ctrl(7, 0, struct.pack(">II", 0, 0))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    d = "tests/fuzz/corpus/execsess"
    ws = (wsframe(2, b"\x00hello\n") + wsframe(2, b'\x04{"Width":120,"Height":40}') + wsframe(2, b'\x04{"Width":0')
          + wsframe(2, b"\xff\x00") + wsframe(9, b"pp") + wsframe(2, b"\x00par", fin=False) + wsframe(0, b"tial")
          + wsframe(1, b"text") + wsframe(8, b"\x03\xe8"))
    write(d + "/ws_v5_tty", bytes([6]) + ws)
    write(d + "/ws_v4", bytes([0]) + wsframe(2, b"\x00abc") + wsframe(2, b'\x04{"Width":80,"Height":24}'))
    s = Spdy()
    sp = (s.syn(1, [(b"streamtype", b"error")]) + s.syn(3, [(b"streamtype", b"stdin")])
          + s.syn(5, [(b"streamtype", b"stdout")]) + s.syn(7, [(b"streamtype", b"resize")])
          + s.data(3, b"input\n") + s.data(7, b'{"Width":100,"Height":30}{"Width":1') + s.data(7, b'20,"Height":50}')
          + s.data(3, b"", 1) + s.ping(7) + s.goaway())
    write(d + "/spdy_tty", bytes([5]) + sp)

    d = "tests/fuzz/corpus/pfsess"
    for tunnel in (0, 1):
        s = Spdy()
        frames = [s.syn(1, [(b"streamtype", b"error"), (b"port", b"8080"), (b"requestid", b"0")]),
                  s.syn(3, [(b"streamtype", b"data"), (b"port", b"8080"), (b"requestid", b"0")]),
                  s.data(3, b"GET / HTTP/1.0\r\n\r\n"),
                  s.syn(5, [(b"streamtype", b"error"), (b"port", b"x"), (b"requestid", b"1")]),
                  s.syn(7, [(b"streamtype", b"data"), (b"port", b"x"), (b"requestid", b"1")]),
                  s.rst(3), s.ping(9), s.data(3, b"", 1), s.goaway()]
        if tunnel:
            body = b"".join(wsframe(2, f) for f in frames[:4]) + wsframe(9, b"p") + wsframe(2, b"".join(frames[4:]))
            write(d + "/ws_tunnel", b"\x01" + body)
        else:
            write(d + "/spdy", b"\x00" + b"".join(frames))


if __name__ == "__main__":
    main()
