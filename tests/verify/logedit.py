#!/usr/bin/env python3
"""logedit.py IN OUT OP...: rewrites a crypto-agile TCG event log, for tests
that need a log with one thing changed.  Independent of tpmattest's parser.

Ops (EVENT is the index among records after the Spec ID header):
  data:EVENT:HEX        replace the event data and recompute its digests
  last:EVENT:HEX        replace the last data byte and recompute the digests
  rawlast:EVENT:HEX     replace the last data byte, keep the digests (a lie)
  rawdata:EVENT:HEX     replace the event data, keep the digests (a lie)
  type:EVENT:TYPE       change the event type (the digest does not cover it)
  digest:EVENT:TEXT     digests := H(TEXT) in every bank (another component)
  append:PCR:TYPE:HEX   append an event whose digests are H(data)
  find:PCR:TYPE:NAME    print the index of the first UEFI variable event NAME
Prints, for each changed or appended event, "EVENT PCR bank=hex,..." lines."""
import hashlib, struct, sys

ALGS = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}

def parse(b):
    sz = struct.unpack_from("<I", b, 28)[0]
    head = b[:32 + sz]
    ev = b[32:32 + sz]
    n = struct.unpack_from("<I", ev, 24)[0]
    sizes = dict(struct.unpack_from("<HH", ev, 28 + 4 * i) for i in range(n))
    off, recs = 32 + sz, []
    while off < len(b) and any(b[off:]):
        pcr, typ, cnt = struct.unpack_from("<III", b, off)
        o = off + 12
        digs = []
        for _ in range(cnt):
            a = struct.unpack_from("<H", b, o)[0]
            digs.append([a, b[o + 2:o + 2 + sizes[a]]])
            o += 2 + sizes[a]
        es = struct.unpack_from("<I", b, o)[0]
        recs.append({"pcr": pcr, "type": typ, "digests": digs, "data": b[o + 4:o + 4 + es]})
        off = o + 4 + es
    return head, recs

def ser(head, recs):
    out = bytearray(head)
    for r in recs:
        out += struct.pack("<III", r["pcr"], r["type"], len(r["digests"]))
        for a, d in r["digests"]:
            out += struct.pack("<H", a) + d
        out += struct.pack("<I", len(r["data"])) + r["data"]
    return bytes(out)

def rehash(r, payload):
    for d in r["digests"]:
        d[1] = hashlib.new(ALGS[d[0]], payload).digest()

def varname(data):
    try:
        nlen = struct.unpack_from("<Q", data, 16)[0]
        return data[32:32 + 2 * nlen].decode("utf-16-le")
    except Exception:
        return None

def report(i, r):
    print(i, r["pcr"], ",".join("%s=%s" % (ALGS[a], d.hex()) for a, d in r["digests"] if a in ALGS))

def main():
    src, dst, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
    head, recs = parse(open(src, "rb").read())
    for op in ops:
        f = op.split(":")
        if f[0] == "find":
            pcr, typ, name = int(f[1]), int(f[2], 0), f[3]
            print(next(i for i, r in enumerate(recs) if r["pcr"] == pcr and r["type"] == typ and varname(r["data"]) == name))
            continue
        if f[0] == "append":
            r = {"pcr": int(f[1]), "type": int(f[2], 0), "digests": [[a, b""] for a, _ in recs[0]["digests"]], "data": bytes.fromhex(f[3])}
            rehash(r, r["data"])
            recs.append(r)
            report(len(recs) - 1, r)
            continue
        i = int(f[1])
        r = recs[i]
        if f[0] == "data":
            r["data"] = bytes.fromhex(f[2]); rehash(r, r["data"])
        elif f[0] in ("last", "rawlast"):
            r["data"] = r["data"][:-1] + bytes.fromhex(f[2])
            if f[0] == "last":
                rehash(r, r["data"])
        elif f[0] == "rawdata":
            r["data"] = bytes.fromhex(f[2])
        elif f[0] == "type":
            r["type"] = int(f[2], 0)
        elif f[0] == "digest":
            rehash(r, f[2].encode())
        else:
            sys.exit("unknown op " + op)
        report(i, r)
    open(dst, "wb").write(ser(head, recs))

if __name__ == "__main__":
    main()
