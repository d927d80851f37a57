"""Helpers of the adversarial tests (tests/attack/): HTTPS requests to the
server under test, raw TLS sockets, quotes from a given swtpm, and
enrollment through the API.  The environment comes from lib.sh: W (the
temporary directory), PORT, TPA (the tpmattest binary), LOG (the event
log replayed into every swtpm).

    python3 -m atk enroll NAME [MACHINE-NAME]
"""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

W = os.environ.get("W", "")
TPA = os.environ.get("TPA", "")
LOG = os.environ.get("LOG", "")


_here = threading.local()


def port():
    """PORT from lib.sh, unless this thread is inside `with at(P)`."""
    return getattr(_here, "port", None) or int(os.environ["PORT"])


class at:
    """with at(P): this thread's requests go to the server on port P (several
    servers on one store, tests/attack/test-pg-*.sh)."""
    def __init__(self, p):
        self.p = int(p)

    def __enter__(self):
        self.before = getattr(_here, "port", None)
        _here.port = self.p

    def __exit__(self, *exc):
        _here.port = self.before


class Fail(Exception):
    pass


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def ctx(cert=None):
    c = ssl.create_default_context(cafile=f"{W}/tls/ca.pem")
    if cert:
        c.load_cert_chain(f"{W}/tls/{cert}.pem", f"{W}/tls/{cert}.key")
    return c


class Resp:
    def __init__(self, status, body, headers):
        self.status = status
        self.raw = body
        self.headers = headers
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def get(self, k, default=None):
        return self.json.get(k, default) if isinstance(self.json, dict) else default

    def __repr__(self):
        return "%d %s" % (self.status, self.raw[:600].decode("utf-8", "replace"))


def req(method, path, body=None, cert=None, headers=None, timeout=30):
    """One request on a fresh connection.  body: bytes, str or a JSON value."""
    conn = http.client.HTTPSConnection("127.0.0.1", port(), context=ctx(cert), timeout=timeout)
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, data, dict(r.getheaders()))
    finally:
        conn.close()


def admin(method, path, body=None, **kw):
    return req(method, path, body, cert="admin", **kw)


def tls_socket(cert=None, timeout=30):
    """A raw TLS socket to the server (for hand-made HTTP)."""
    s = socket.create_connection(("127.0.0.1", port()), timeout=timeout)
    return ctx(cert).wrap_socket(s, server_hostname="127.0.0.1")


def read_answer(s, deadline=30):
    """Reads one HTTP answer from a socket: (status, headers dict, body)."""
    buf = b""
    end = time.time() + deadline
    while b"\r\n\r\n" not in buf:
        if time.time() > end:
            raise Fail("no answer header in time: %r" % buf[:200])
        d = s.recv(65536)
        if not d:
            if not buf:
                return None
            raise Fail("connection closed mid-header: %r" % buf[:200])
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode()] = v.strip().decode()
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        if time.time() > end:
            raise Fail("body not complete in time")
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return status, hdrs, rest[:n], rest[n:]


def raw(data, cert=None, timeout=30):
    """Sends bytes on a fresh TLS connection, returns the first answer's
    (status, headers, body) or None when the server closed without one."""
    s = tls_socket(cert, timeout)
    try:
        s.sendall(data)
        a = read_answer(s, timeout)
        return a[:3] if a else None
    except (ConnectionError, ssl.SSLError):
        return None
    finally:
        s.close()


def tpm_env(name):
    p = open(f"{W}/tpm-{name}/port").read().strip()
    e = dict(os.environ)
    e["TPMATTEST_TCTI"] = e["TPM2TOOLS_TCTI"] = f"swtpm:host=127.0.0.1,port={p}"
    return e


def machine_id(name):
    return open(f"{W}/tpm-{name}/id").read().strip()


def nonce(mid):
    r = req("POST", f"/v1/machines/{mid}/nonce")
    check(r.status == 200, f"nonce for {mid}: {r}")
    return r.json["nonce"]


def quote(name, nonce_hex, eventlog=None):
    """Evidence (dict) from machine NAME's TPM over nonce_hex."""
    out = f"{W}/tpm-{name}/ev-{nonce_hex[:16]}.json"
    cmd = [TPA, "quote", "--nonce", nonce_hex, "--out", out, "--eventlog", eventlog or LOG]
    p = subprocess.run(cmd, env=tpm_env(name), capture_output=True, timeout=120)
    if p.returncode != 0:
        fail("quote on %s: %s" % (name, p.stderr.decode()[-800:]))
    return json.load(open(out))


def attest(mid, ev, headers=None):
    return req("POST", f"/v1/machines/{mid}/attest", ev, headers=headers)


def fresh_attest(name, mid=None, eventlog=None):
    """Nonce, quote on NAME's TPM, send: the answer."""
    mid = mid or machine_id(name)
    n = nonce(mid)
    return attest(mid, quote(name, n, eventlog))


def check_name(r):
    return r.get("failed_check")


def show(mid):
    r = admin("GET", f"/v1/machines/{mid}")
    check(r.status == 200, f"show {mid}: {r}")
    return r.json


def history(mid, q=""):
    r = admin("GET", f"/v1/machines/{mid}/history{q}")
    check(r.status == 200, f"history {mid}{q}: {r}")
    return r.json["history"]


def metrics():
    r = admin("GET", "/metrics")
    check(r.status == 200, f"metrics: {r}")
    m = {}
    for line in r.raw.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            m[k] = float(v)
    return m


def enroll(name, mname=None, check_ok=True):
    """Enrolls machine NAME through the API; returns (machine_id, answers)."""
    d = f"{W}/tpm-{name}"
    reqdoc = json.load(open(f"{d}/req.json"))
    r1 = req("POST", "/v1/enroll", {"name": mname, "request": reqdoc})
    if r1.status != 200:
        if check_ok:
            fail(f"enroll {name}: {r1}")
        return None, (r1, None)
    ch = f"{d}/ch.json"
    json.dump(r1.json["challenge"], open(ch, "w"))
    p = subprocess.run([TPA, "enroll", "activate", ch, "--out", f"{d}/resp.json"],
                       env=tpm_env(name), capture_output=True, timeout=120)
    if p.returncode != 0:
        fail("enroll activate on %s: %s" % (name, p.stderr.decode()[-800:]))
    r2 = req("POST", "/v1/enroll/activate", open(f"{d}/resp.json", "rb").read())
    if r2.status != 200:
        if check_ok:
            fail(f"activate {name}: {r2}")
        return None, (r1, r2)
    mid = r2.json["machine_id"]
    open(f"{d}/id", "w").write(mid + "\n")
    return mid, (r1, r2)


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s)


# ---- event logs (TCG PC Client crypto-agile format) ----

HASHES = {4: "sha1", 11: "sha256", 12: "sha384", 13: "sha512"}


def log_algs(b):
    """The (algId, size) list of a crypto-agile log's Spec ID event."""
    import struct
    sz = struct.unpack_from("<I", b, 28)[0]
    ev = b[32:32 + sz]
    n = struct.unpack_from("<I", ev, 24)[0]
    return [struct.unpack_from("<HH", ev, 28 + 4 * i) for i in range(n)], 32 + sz


def event2(algs, pcr, etype, data, digest_of=None):
    """One TCG_PCR_EVENT2 whose digests are the hash of digest_of (default
    data) in every algorithm the log declares."""
    import hashlib
    import struct
    out = struct.pack("<III", pcr, etype, len(algs))
    for alg, size in algs:
        d = hashlib.new(HASHES[alg], data if digest_of is None else digest_of).digest()
        assert len(d) == size
        out += struct.pack("<H", alg) + d
    return out + struct.pack("<I", len(data)) + data


def append_events(b, events):
    algs, _ = log_algs(b)
    return b + b"".join(event2(algs, *e) for e in events)


def sha256hex(b):
    import hashlib
    return hashlib.sha256(b).hexdigest()


# A store that cannot grow (tests/attack/test-store-full.sh, test-disk-full.sh):
# attest until the server answers 503 store three times; every answer must be
# a verdict the store holds or 503.  gone: what it means when the server
# stops answering.  The answers go to W/answers.json.
def full_store_rounds(gone):
    A = machine_id("a")
    answers = []
    for i in range(40):
        try:
            n = req("POST", f"/v1/machines/{A}/nonce", timeout=15)
        except (ConnectionError, OSError) as e:
            fail(f"round {i}: the server is gone ({e!r}): " + gone)
        if n.status != 200:
            check(n.status == 503 and n.get("error") == "store", f"round {i}: nonce: {n}")
            answers.append(("nonce-503", None)); continue
        ev = quote("a", n.json["nonce"])
        try:
            r = attest(A, ev)
        except (ConnectionError, OSError) as e:
            fail(f"round {i}: the server is gone during the attestation ({e!r}): " + gone)
        check(r.status in (200, 503), f"round {i}: {r}")
        if r.status == 503:
            check(r.get("error") == "store", f"round {i}: {r}")
            answers.append(("attest-503", n.json["nonce"]))
        else:
            answers.append((r.json["verdict"], r.json.get("seq"), n.json["nonce"]))
        if sum(1 for a in answers if a[0].endswith("503")) >= 3:
            break
    json.dump(answers, open(f"{W}/answers.json", "w"))
    check(any(a[0].endswith("503") for a in answers), f"the store never filled: {answers}")


# After kill -9 and a restart on the same store: every verdict answered in
# full_store_rounds is in the history, its nonce is consumed, and the machine
# attests again.
def check_answers_survived():
    A = machine_id("a")
    answers = json.load(open(f"{W}/answers.json"))
    seqs = {h["seq"]: h["verdict"] for h in history(A, "?limit=1000")}
    for a in answers:
        if a[0] in ("pass", "fail"):
            check(seqs.get(a[1]) == a[0], f"answered {a[0]} seq {a[1]}, the history after restart has {seqs.get(a[1])}")
    # nonces answered with a verdict are consumed
    for a in answers:
        if a[0] in ("pass", "fail"):
            r = attest(A, quote("a", a[2]))
            check(r.status == 403 and r.get("error") == "nonce", f"a nonce answered before the crash: {r}")
    r = fresh_attest("a")
    check(r.status == 200 and r.get("verdict") == "pass", f"after restart: {r}")


# The store's write lock, held by the test (tests/attack/test-reenroll-inflight.sh,
# test-policy-inflight.sh): the committer then waits (SQLite's busy handler
# retries every 100 ms, for 5 s), while the workers go on verifying.  The
# test lets go only around a request of its own that writes, and takes the
# lock back at once, so the committer rarely slips in.
class StoreLock:
    def __init__(self, path=None):
        import sqlite3
        self.err = sqlite3.OperationalError
        self.db = sqlite3.connect(path or f"{W}/verifier.db", timeout=0, isolation_level=None)
        self.held = False

    def take(self, deadline=5):
        end = time.time() + deadline
        while True:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                self.held = True
                return
            except self.err:
                check(time.time() < end, "cannot take the store's write lock")
                time.sleep(0.0002)

    def give(self):
        if self.held:
            self.db.execute("COMMIT")
            self.held = False

    def around(self, fn, *a, **kw):
        """fn(*a, **kw) with the lock let go, taken back right after."""
        self.give()
        try:
            return fn(*a, **kw)
        finally:
            self.take()



# After a load run with faults (tests/attack/test-load-kill9.sh and the
# PostgreSQL ones): from the generator's --record file, every answered
# verdict is in its machine's history with that verdict, no machine's
# stored counter is below the highest it was answered PASS for, and every
# evidence answered PASS, sent again (to the servers on ports, in turn), is
# refused for its nonce.  Returns the records.
def check_load_record(path, machines, ports=None, min_pass=100):
    lines = [json.loads(l) for l in open(path)]
    answered = [l for l in lines if l["status"] == 200]
    passed = [l for l in answered if l["verdict"] == "pass"]
    check(len(passed) >= min_pass, f"only {len(passed)} PASS answers recorded: the load did not run")
    ids = sorted({l["machine_id"] for l in lines})
    check(len(ids) == machines, f"{len(ids)} machines answered, not {machines}")
    for mid in ids:
        seqs, before = {}, ""
        for _ in range(1000):
            h = history(mid, f"?limit=1000{before}")
            for e in h:
                seqs[e["seq"]] = e["verdict"]
            if len(h) < 1000:
                break
            before = "&before=%d" % min(e["seq"] for e in h)
        mine = [l for l in answered if l["machine_id"] == mid]
        for l in mine:
            check(seqs.get(l["seq"]) == l["verdict"],
                  f"{mid[:16]}: answered {l['verdict']} seq {l['seq']} (counter {l['counter']}), "
                  f"history has {seqs.get(l['seq'])}")
        top = max((l["counter"] for l in mine if l["verdict"] == "pass"), default=None)
        st = show(mid)["state"]
        if top is not None:
            check(st["counter"]["value"] >= top,
                  f"{mid[:16]}: answered PASS at counter {top}, stored {st['counter']}")
    ports = ports or [port()]
    bad = []

    def resend(part, k):
        p = ports[k % len(ports)]
        c = http.client.HTTPSConnection("127.0.0.1", p, context=ctx(), timeout=30)
        for l in part:
            h = {"Content-Type": "application/json"}
            if l["eventlog_sha256"]:
                h["Tpmattest-Eventlog-Sha256"] = l["eventlog_sha256"]
            for attempt in range(2):
                try:
                    c.request("POST", f"/v1/machines/{l['machine_id']}/attest",
                              body=json.dumps(l["evidence"]), headers=h)
                    r = c.getresponse()
                    body = r.read()
                    break
                except (OSError, http.client.HTTPException):
                    c.close()
                    c = http.client.HTTPSConnection("127.0.0.1", p, context=ctx(), timeout=30)
            else:
                bad.append((l["nonce"], "no answer"))
                continue
            j = json.loads(body) if body else {}
            if r.status != 403 or j.get("error") != "nonce":
                bad.append((l["nonce"], r.status, body[:200]))
        c.close()
    ts = [threading.Thread(target=resend, args=(passed[i::4], i)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not bad, f"{len(bad)} evidences answered PASS were not refused as used nonces: {bad[:3]}")
    return lines


# A psql session on the test's PostgreSQL ($DB), statement by statement
# (tests/attack/test-pg-*.sh: row locks held, backends terminated, behind
# the servers' backs).  run() returns what the statement printed; an ERROR
# fails the test unless ok_error.
class Sql:
    def __init__(self):
        import subprocess as sp
        self.p = sp.Popen(["psql", os.environ["DB"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=0"],
                          stdin=sp.PIPE, stdout=sp.PIPE, stderr=sp.STDOUT)
        self.n, self.buf = 0, b""

    def run(self, sql, timeout=15, ok_error=False):
        import select
        self.n += 1
        mark = b"__done_%d__" % self.n
        self.p.stdin.write(sql.encode() + b";\n\\echo " + mark + b"\n")
        self.p.stdin.flush()
        end = time.time() + timeout
        while mark not in self.buf:
            left = end - time.time()
            check(left > 0, f"psql did not finish {sql!r}: {self.buf[-300:]!r}")
            if select.select([self.p.stdout], [], [], left)[0]:
                d = os.read(self.p.stdout.fileno(), 65536)
                check(d, f"psql exited: {self.buf[-300:]!r}")
                self.buf += d
        out, _, self.buf = self.buf.partition(mark + b"\n")
        out = out.decode()
        check(ok_error or "ERROR" not in out, f"psql {sql!r}: {out}")
        return out.strip()

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


def bg(fn, *a):
    """fn(*a) on a thread: (thread, out), out["r"] its result or out["e"]
    its exception, out["t"] when it returned."""
    out = {}

    def go():
        try:
            out["r"] = fn(*a)
        except Exception as e:
            out["e"] = e
        out["t"] = time.time()
    t = threading.Thread(target=go)
    t.start()
    return t, out

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "enroll":
        mid, _ = enroll(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
        print(mid)
    else:
        print(__doc__)
        sys.exit(2)

