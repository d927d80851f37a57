#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the small event-log fixtures in this folder, and the PCR values they
replay to, computed here with hashlib independently of the library.

    python3 tests/data/gen_fixtures.py [OUTDIR]

Layouts: TCG PC Client Platform Firmware Profile 1.05, 10.2 (TCG_PCR_EVENT,
TCG_PCR_EVENT2) and 10.4.5.1 (Spec ID Event03)."""
import hashlib
import json
import os
import struct
import sys

SHA1, SHA256 = 0x0004, 0x000B
NAMES = {SHA1: "sha1", SHA256: "sha256"}
SIZES = {SHA1: 20, SHA256: 32}

EV_POST_CODE = 0x1
EV_NO_ACTION = 0x3
EV_SEPARATOR = 0x4
EV_S_CRTM_VERSION = 0x8
EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001
EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003
EV_EFI_ACTION = 0x80000007
EV_EFI_HCRTM_EVENT = 0x80000010

EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")


def h(alg, data):
    return hashlib.new(NAMES[alg], data).digest()


def spec_id(algs):
    body = b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algs))
    for a in algs:
        body += struct.pack("<HH", a, SIZES[a])
    body += b"\0"
    return struct.pack("<II", 0, EV_NO_ACTION) + bytes(20) + struct.pack("<I", len(body)) + body


def ev2(algs, pcr, etype, data, digests=None):
    """digests: {alg: bytes}; default H(data) in every bank."""
    if digests is None:
        digests = {a: h(a, data) for a in algs}
    out = struct.pack("<III", pcr, etype, len(digests))
    for a, d in digests.items():
        out += struct.pack("<H", a) + d
    return out + struct.pack("<I", len(data)) + data


def ev1(pcr, etype, data, digest=None):
    return (struct.pack("<II", pcr, etype) + (digest or h(SHA1, data)) +
            struct.pack("<I", len(data)) + data)


def vardata(guid, name, data):
    n = name.encode("utf-16-le")
    return guid + struct.pack("<QQ", len(name), len(data)) + n + data


class Replay:
    """PCR_new = H(PCR_old || digest); EV_NO_ACTION never extends."""

    def __init__(self, algs, locality=0):
        self.algs = algs
        self.pcrs = {}
        self.incomplete = set()
        self.locality = locality

    def extend(self, pcr, etype, digests):
        if etype == EV_NO_ACTION:
            return
        for a in self.algs:
            key = (a, pcr)
            if key not in self.pcrs:
                init = bytearray(SIZES[a])
                if pcr == 0:
                    init[-1] = self.locality
                self.pcrs[key] = bytes(init)
            if a not in digests:
                self.incomplete.add(key)
                continue
            self.pcrs[key] = h(a, self.pcrs[key] + digests[a])

    def json(self):
        out = {}
        for (a, pcr), v in sorted(self.pcrs.items()):
            if (a, pcr) in self.incomplete:
                continue
            out.setdefault(NAMES[a], {})[str(pcr)] = v.hex()
        return {"pcrs": out}


def agile_log(algs, events, locality=0):
    """events: (pcr, type, data[, digests]); returns log bytes and replay."""
    r = Replay(algs, locality)
    log = spec_id(algs)
    for e in events:
        pcr, etype, data = e[:3]
        digests = e[3] if len(e) > 3 else {a: h(a, data) for a in algs}
        log += ev2(algs, pcr, etype, data, digests)
        r.extend(pcr, etype, digests)
    return log, r


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    both = [SHA1, SHA256]
    sep = bytes(4)
    files = {}

    # A small crypto-agile boot: StartupLocality 3, CRTM version, SecureBoot
    # off, separators in PCR0-7, an application in PCR4.
    ev = [(0, EV_NO_ACTION, b"StartupLocality\0\x03")]
    ev += [(0, EV_S_CRTM_VERSION, "1.0".encode("utf-16-le") + b"\0\0")]
    ev += [(7, EV_EFI_VARIABLE_DRIVER_CONFIG, vardata(EFI_GLOBAL, "SecureBoot", b"\0"))]
    ev += [(p, EV_SEPARATOR, sep) for p in range(8)]
    ev += [(4, EV_EFI_ACTION, b"Calling EFI Application from Boot Option")]
    ev += [(4, EV_EFI_BOOT_SERVICES_APPLICATION, struct.pack("<QQQQ", 0x7e000000, 0x1000, 0, 0),
            {SHA1: b"\x11" * 20, SHA256: b"\x22" * 32})]
    ev += [(5, EV_EFI_ACTION, b"Exit Boot Services Invocation")]
    ev += [(5, EV_EFI_ACTION, b"Exit Boot Services Returned with Success")]
    files["agile-locality3"] = agile_log(both, ev, locality=3)

    # H-CRTM: PCR0 starts at 00..04 (SHA-256 only).
    ev = [(0, EV_EFI_HCRTM_EVENT, b"HCRTM"), (0, EV_SEPARATOR, sep)]
    files["agile-hcrtm"] = agile_log([SHA256], ev, locality=4)

    # An event without its SHA-256 digest: PCR4 sha256 is incomplete.
    ev = [(4, EV_SEPARATOR, sep), (7, EV_SEPARATOR, sep),
          (4, EV_EFI_BOOT_SERVICES_APPLICATION, b"x" * 32, {SHA1: b"\x33" * 20})]
    files["agile-missing-bank"] = agile_log(both, ev)

    # SHA-1 format.
    r = Replay([SHA1])
    log = b""
    for pcr, etype, data in [(0, EV_POST_CODE, b"ACPI DATA"), (0, EV_SEPARATOR, sep),
                             (7, EV_SEPARATOR, sep)]:
        log += ev1(pcr, etype, data)
        r.extend(pcr, etype, {SHA1: h(SHA1, data)})
    files["sha1-small"] = (log, r)

    for name, (log, rep) in files.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(log)
        with open(os.path.join(out, name + ".expected.json"), "w") as f:
            json.dump(rep.json(), f, indent=1, sort_keys=True)
            f.write("\n")

    # Malformed ones (the name says which error the parser must give).
    base, _ = agile_log(both, [(7, EV_SEPARATOR, sep)])
    bad = {
        "bad-truncated": base[:-1],
        "bad-pcr24": base + ev2(both, 24, EV_SEPARATOR, sep),
        "bad-second-specid": base + ev2(both, 0, EV_NO_ACTION, b"Spec ID Event03\0" + bytes(16)),
        "bad-trailing": base + ev2(both, 0, 0, b"", {SHA1: bytes(20), SHA256: bytes(32)}) + b"\0\x01",
        "bad-huge-eventsize": base + struct.pack("<III", 0, EV_POST_CODE, 0) + b"\xff\xff\xff\xff" + bytes(8),
        "bad-digest-twice": base + struct.pack("<III", 0, EV_POST_CODE, 2) +
        struct.pack("<H", SHA1) + bytes(20) + struct.pack("<H", SHA1) + bytes(20) + bytes(4),
    }
    for name, log in bad.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(log)


if __name__ == "__main__":
    main()
