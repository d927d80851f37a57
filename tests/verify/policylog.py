#!/usr/bin/env python3
"""policylog.py IN OUT VARIANT: writes a copy of the crypto-agile event log IN
with one thing about its boot changed, for the policy tests.  Digests are
recomputed (the firmware measured what the log says), so only the policy can
refuse.  Built on logedit.py; independent of tpmattest's parser.

Variants:
  db-trailing    db + an attacker's certificate list + one trailing byte
  db-junk        db + an attacker's certificate list + 7 bytes of junk
  db-truncated   db + an attacker's list whose size runs past the data
  db-5000        db + 5000 SHA-256 entries, one of them an attacker's (above the old cap)
  db-huge        db + 100001 SHA-256 entries (above TPA_POLICY_MAX_SIGNATURES)
  db-odd-type    db + an EFI_CERT_RSA2048 list (a type a policy cannot judge)
  dbx-random     dbx: every entry replaced by a random SHA-256 hash, as many as it had
  dbx-20000      dbx with 20000 SHA-256 entries (a real size)
  dbx-20000-more the same 20000 and one more
  dbx-20000-less the same 20000 less one
  no-db          the db event removed
  drop-pcr8      every PCR 8 event removed
  drop-cmdline   the PCR 8 kernel command line events removed
  drop-app       the last PCR 4 boot application removed
  pcr12          an EV_IPL "kernel command line override" event in PCR 12
  sbname         SecureBoot off, plus a variable named "SecureBoot\\0X" holding 1
  pk-empty       PK with no data (setup mode)
  sb-empty       SecureBoot measured with no data (firmware without the variable)
  moklist        shim's MokList measured in PCR 7 after the separator
  db-after-sep   a second db measured in PCR 7 after the separator
  big-ipl        a 13 MB EV_IPL event in PCR 9 (evidence above 16 MiB)
Prints, for appended or changed PCR 12 events, "PCR bank=hex,..." lines to
extend by hand."""
import hashlib, os, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from logedit import parse, ser, rehash, varname  # noqa: E402

X509 = bytes.fromhex("a159c0a5e494a74a87b5ab155c2bf072")
SHA256 = bytes.fromhex("2616c4c14c509240aca941f936934328")
RSA2048 = bytes.fromhex("e82e78c01e74d64a8d4fb5e9b1f3b3ae")  # not X.509/SHA-256
OWNER = bytes.fromhex("00112233445566778899aabbccddeeff")

def siglist(typ, sigs, ssize=None, extra=0):
    ssize = ssize or (16 + len(sigs[0]))
    body = b"".join(OWNER + s for s in sigs)
    return typ + struct.pack("<III", 28 + len(body) + extra, 0, ssize) + body

def var_split(data):
    nlen, dlen = struct.unpack_from("<QQ", data, 16)
    return data[:32 + 2 * nlen], data[32 + 2 * nlen:]

def var_join(head, payload):
    return head[:24] + struct.pack("<Q", len(payload)) + head[32:] + payload

def find(recs, name):
    return next(i for i, r in enumerate(recs) if r["pcr"] == 7 and r["type"] == 0x80000001 and varname(r["data"]) == name)

def set_var(recs, name, payload):
    r = recs[find(recs, name)]
    head, _ = var_split(r["data"])
    r["data"] = var_join(head, payload)
    rehash(r, r["data"])

def var_payload(recs, name):
    return var_split(recs[find(recs, name)]["data"])[1]

def rand32():
    return os.urandom(32)

def main():
    src, dst, variant = sys.argv[1:4]
    head, recs = parse(open(src, "rb").read())
    attacker_cert = b"\x30\x82\x01\x00" + os.urandom(256)
    db = var_payload(recs, "db") if variant.startswith("db-") else None
    if variant == "db-trailing":
        set_var(recs, "db", db + siglist(X509, [attacker_cert]) + b"\x00")
    elif variant == "db-junk":
        set_var(recs, "db", db + siglist(X509, [attacker_cert]) + os.urandom(7))
    elif variant == "db-truncated":
        set_var(recs, "db", db + siglist(X509, [attacker_cert], extra=64))
    elif variant == "db-5000":
        set_var(recs, "db", db + siglist(SHA256, [rand32() for _ in range(5000)]))
    elif variant == "db-huge":
        set_var(recs, "db", db + siglist(SHA256, [rand32() for _ in range(100001)]))
    elif variant == "db-odd-type":
        set_var(recs, "db", db + siglist(RSA2048, [os.urandom(256)]))
    elif variant.startswith("dbx-"):
        if variant == "dbx-random":
            old = var_payload(recs, "dbx")
            n, off = 0, 0
            while off < len(old):  # every entry, of any type: the same count
                lsize, hsize, ssize = struct.unpack_from("<III", old, off + 16)
                n += (lsize - 28 - hsize) // ssize
                off += lsize
            set_var(recs, "dbx", siglist(SHA256, [rand32() for _ in range(max(n, 1))]))
        else:
            import random
            rng = random.Random(20000)  # the same 20000 in every variant
            hashes = [bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(20000)]
            if variant == "dbx-20000-more":
                hashes.append(rand32())
            elif variant == "dbx-20000-less":
                hashes = hashes[1:]
            set_var(recs, "dbx", siglist(SHA256, hashes))
    elif variant == "no-db":
        del recs[find(recs, "db")]
    elif variant == "drop-pcr8":
        recs = [r for r in recs if r["pcr"] != 8]
    elif variant == "drop-cmdline":
        recs = [r for r in recs if not (r["pcr"] == 8 and r["data"].startswith(b"kernel_cmdline"))]
    elif variant == "drop-app":
        last = max(i for i, r in enumerate(recs) if r["pcr"] == 4 and r["type"] == 0x80000003)
        del recs[last]
    elif variant == "pcr12":
        data = b"init=/bin/sh\0"
        r = {"pcr": 12, "type": 0xd, "digests": [[a, b""] for a, _ in recs[0]["digests"]], "data": data}
        rehash(r, data)
        recs.append(r)
        print("12", ",".join("%s=%s" % ({4: "sha1", 11: "sha256", 12: "sha384", 13: "sha512"}[a], d.hex()) for a, d in r["digests"]))
    elif variant == "sbname":
        set_var(recs, "SecureBoot", b"\x00")
        i = find(recs, "SecureBoot")
        r = dict(recs[i])
        name = "SecureBoot\0X".encode("utf-16-le")
        r["data"] = recs[i]["data"][:16] + struct.pack("<QQ", 12, 1) + name + b"\x01"
        r["digests"] = [[a, b""] for a, _ in recs[i]["digests"]]
        rehash(r, r["data"])
        recs.insert(i + 1, r)
    elif variant == "pk-empty":
        set_var(recs, "PK", b"")
    elif variant == "sb-empty":
        set_var(recs, "SecureBoot", b"")
    elif variant in ("moklist", "db-after-sep"):
        shim = bytes.fromhex("50ab5d6046e00043abb63dd810dd8b23")
        imagesec = bytes.fromhex("cbb219d73a3d9645a3bcdad00e67656f")
        guid, name = (shim, "MokList") if variant == "moklist" else (imagesec, "db")
        payload = siglist(SHA256, [rand32()])
        data = guid + struct.pack("<QQ", len(name), len(payload)) + name.encode("utf-16-le") + payload
        r = {"pcr": 7, "type": 0x80000001, "digests": [[a, b""] for a, _ in recs[0]["digests"]], "data": data}
        rehash(r, data)
        recs.append(r)
    elif variant == "big-ipl":
        data = os.urandom(13 * 1024 * 1024)
        r = {"pcr": 9, "type": 0xd, "digests": [[a, b""] for a, _ in recs[0]["digests"]], "data": data}
        rehash(r, data)
        recs.append(r)
    else:
        sys.exit("unknown variant " + variant)
    open(dst, "wb").write(ser(head, recs))

main()
