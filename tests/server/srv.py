#!/usr/bin/env python3
"""Clients for the server's end-to-end tests (tests/server/), standard
library only.  Every wait is bounded.

  req  --url U --ca F --out F [--cert F --key F] [--header K:V]...
       [--data S | --data-file F] [--timeout S] METHOD PATH
      one HTTPS request; prints the status, writes the body to --out
  batch --url U --ca F --file F [--cred NAME=CERT,KEY]...
      many requests, each line of F one (see cmd_batch); prints the answers
      that are not the ones wanted, exit 1 if any
  bigbody --url U --ca F --path P --size N [--chunked]
      POST of N bytes, streamed (never held in memory); prints the status of
      the answer, or "reset" when the connection broke before one came (the
      server closed it while the body was being sent), "none" when the server
      closed it cleanly without one
  slow --host H --port P --silent N --drip N --tlsdrip N --halfhello N
       --bodydrip N --idle N --ready F --out F [--max S]
      opens the connections (silent: TCP, nothing sent; drip: one byte a
      second of a TLS ClientHello; tlsdrip: the TLS handshake, then one byte a
      second of an HTTP request; halfhello: half a ClientHello, then nothing;
      bodydrip: a POST's headers, then one byte a second of its body; idle:
      one request answered, then nothing, the time counted from the answer),
      writes F when all are open, then waits (at most --max seconds) until the
      server closes each one; --out: JSON {kind: [seconds until closed or null]}
  proxy --port-file F --upstream PORT --cert F --key F --ca F --logdir D
      a TLS-terminating proxy in front of the server, for a client that trusts
      the server CA: what each client connection sent, in plaintext, goes to
      D/conn-N.txt (to see what the attester sends)
"""
import argparse, http.client, json, os, select, socket, ssl, sys, threading, time


def ctx_for(a):
    c = ssl.create_default_context(cafile=a.ca)
    if getattr(a, "cert", None):
        c.load_cert_chain(a.cert, a.key)
    return c


def split_url(url):
    scheme, _, rest = url.partition("://")
    assert scheme in ("https", "http"), url
    host, _, port = rest.rstrip("/").rpartition(":")
    return host, int(port)


def cmd_req(a):
    host, port = split_url(a.url)
    if a.url.startswith("http://"):
        conn = http.client.HTTPConnection(host, port, timeout=a.timeout)
    else:
        conn = http.client.HTTPSConnection(host, port, context=ctx_for(a), timeout=a.timeout)
    body = None
    if a.data is not None:
        body = a.data.encode("utf-8", "surrogateescape")
    elif a.data_file:
        body = open(a.data_file, "rb").read()
    headers = {}
    for h in a.header or []:
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(a.method, a.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
    except (ssl.SSLError, OSError, http.client.HTTPException) as e:
        open(a.out, "w").write("%s: %s\n" % (type(e).__name__, e))
        print("error")
        return 0
    open(a.out, "wb").write(data)
    print(r.status)
    return 0


def one_request(url, ctx, method, path, body, headers, timeout):
    host, port = split_url(url)
    if url.startswith("http://"):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except (ssl.SSLError, OSError, http.client.HTTPException) as e:
        return "error", ("%s: %s" % (type(e).__name__, e)).encode()
    finally:
        conn.close()


def cmd_batch(a):
    """Lines of FILE: STATUS<TAB>ERROR<TAB>CRED<TAB>METHOD<TAB>PATH[<TAB>BODYFILE];
    ERROR "-": not looked at; CRED "none" or a --cred NAME.  Prints each
    answer that is not the one wanted; exit 1 if any."""
    ctxs = {}
    for c in a.cred or []:
        n, _, files = c.partition("=")
        cert, _, key = files.partition(",")
        x = ssl.create_default_context(cafile=a.ca)
        x.load_cert_chain(cert, key)
        ctxs[n] = x
    ctxs["none"] = ssl.create_default_context(cafile=a.ca)
    bad = n = 0
    for line in open(a.file):
        line = line.rstrip("\n")
        if not line:
            continue
        f = line.split("\t")
        want, werr, cred, method, path = f[:5]
        body = open(f[5], "rb").read() if len(f) > 5 and f[5] else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        st, data = one_request(a.url, ctxs[cred], method, path, body, headers, 30)
        err = None
        try:
            err = json.loads(data).get("error")
        except (ValueError, AttributeError):
            pass
        n += 1
        if str(st) != want or (werr != "-" and err != werr):
            bad += 1
            print("%s %s with %s: want %s %s, got %s %s: %s" % (method, path, cred, want, werr, st, err,
                                                               data[:200].decode("utf-8", "replace")))
    print("%d requests, %d not as wanted" % (n, bad))
    return 1 if bad else 0


def read_status(s, deadline):
    """Reads an HTTP answer's status line from s, until deadline."""
    buf = b""
    while b"\r\n" not in buf and time.time() < deadline:
        try:
            s.settimeout(max(0.1, deadline - time.time()))
            d = s.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            break
        if not d:
            break
        buf += d
    line = buf.split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) >= 2 and line[0].startswith(b"HTTP/") else None


def cmd_bigbody(a):
    host, port = split_url(a.url)
    raw = socket.create_connection((host, port), timeout=10)
    s = ctx_for(a).wrap_socket(raw, server_hostname=host)
    hdr = "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n" % (a.path, host, port)
    hdr += "Transfer-Encoding: chunked\r\n" if a.chunked else "Content-Length: %d\r\n" % a.size
    s.sendall((hdr + "\r\n").encode())
    chunk = b" " * 65536
    sent, buf, closed, reset = 0, b"", False, False
    t0 = time.time()
    deadline = t0 + 60

    def poll(wait):
        # an answer (or the end) from the server, if any; TLS records that
        # carry no data (session tickets) are not one
        nonlocal buf, closed, reset
        s.settimeout(wait)
        try:
            d = s.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            return
        except (OSError, ssl.SSLError):
            closed = reset = True
            return
        if not d:
            closed = True
        buf += d

    while sent < a.size and time.time() < deadline and not closed and b"\r\n" not in buf:
        poll(0.001)
        if closed or b"\r\n" in buf:
            break
        n = min(len(chunk), a.size - sent)
        try:
            s.settimeout(10)
            if a.chunked:
                s.sendall(b"%x\r\n" % n + chunk[:n] + b"\r\n")
            else:
                s.sendall(chunk[:n])
        except (OSError, ssl.SSLError):
            reset = True
            break  # the server stopped reading: its answer may be waiting
        sent += n
    if a.chunked and sent >= a.size and not closed:
        try:
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass
    end = time.time() + 20
    while not closed and b"\r\n" not in buf and time.time() < end:
        poll(0.5)
    line = buf.split(b"\r\n", 1)[0].split()
    status = line[1].decode() if len(line) >= 2 and line[0].startswith(b"HTTP/") else None
    print("%s %d %.1f" % (status or ("reset" if reset else "none"), sent, time.time() - t0))
    return 0


def client_hello(host):
    """A real TLS ClientHello, as bytes."""
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = c.wrap_bio(inc, out, server_hostname=host)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def cmd_slow(a):
    hello = client_hello(a.host)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    kinds = [("silent", a.silent), ("drip", a.drip), ("tlsdrip", a.tlsdrip), ("halfhello", a.halfhello),
             ("bodydrip", a.bodydrip), ("idle", a.idle)]
    res = {k: [None] * n for k, n in kinds}
    opened = [0]
    errors = []
    lock = threading.Lock()
    deadline = time.time() + a.max

    def one(kind, i):
        try:
            s = socket.create_connection((a.host, a.port), timeout=10)
            t0 = time.time()
            if kind in ("tlsdrip", "bodydrip", "idle"):
                s = ctx.wrap_socket(s, server_hostname=a.host)
                t0 = time.time()
            if kind == "halfhello":
                s.sendall(hello[: len(hello) // 2])
            elif kind == "bodydrip":
                s.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 1000\r\n\r\n")
            elif kind == "idle":
                # one request answered on a kept-alive connection; then idle:
                # the time counts from the answer
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                got = b""
                s.settimeout(10)
                while b'"ok"}' not in got:
                    d = s.recv(4096)
                    if not d:
                        raise OSError("closed before the answer")
                    got += d
                t0 = time.time()
        except Exception as e:  # noqa: the test reports it
            with lock:
                errors.append("%s %d: %s" % (kind, i, e))
                opened[0] += 1
            return
        with lock:
            opened[0] += 1
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        pos, nxt = 0, time.time()
        s.settimeout(0.2)
        while time.time() < deadline:
            if kind in ("drip", "tlsdrip", "bodydrip") and time.time() >= nxt:
                data = {"drip": hello, "tlsdrip": req, "bodydrip": b'{"name": "' + b"x" * 990 + b'"}'}[kind]
                try:
                    s.send(data[pos % len(data): pos % len(data) + 1])
                except (OSError, ssl.SSLError):
                    res[kind][i] = round(time.time() - t0, 2)
                    return
                pos += 1
                nxt += 1.0
            try:
                d = s.recv(4096)
                if not d:
                    res[kind][i] = round(time.time() - t0, 2)
                    return
            except (socket.timeout, ssl.SSLWantReadError):
                pass
            except (OSError, ssl.SSLError):
                res[kind][i] = round(time.time() - t0, 2)
                return
        s.close()

    ts = [threading.Thread(target=one, args=(k, i), daemon=True) for k, n in kinds for i in range(n)]
    for t in ts:
        t.start()
    w = time.time() + 15
    while opened[0] < len(ts) and time.time() < w:
        time.sleep(0.05)
    open(a.ready, "w").write("%d\n" % opened[0])
    for t in ts:
        t.join(max(0.1, deadline - time.time() + 1))
    res["errors"] = errors
    json.dump(res, open(a.out, "w"))
    return 0


def cmd_proxy(a):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(a.cert, a.key)
    uctx = ssl.create_default_context(cafile=a.ca)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    os.makedirs(a.logdir, exist_ok=True)
    open(a.port_file + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    n = [0]

    def relay(c, num):
        try:
            c.settimeout(30)
            c = sctx.wrap_socket(c, server_side=True)
            u = uctx.wrap_socket(socket.create_connection(("127.0.0.1", a.upstream), timeout=30),
                                 server_hostname="127.0.0.1")
        except Exception:
            c.close()
            return
        log = open(os.path.join(a.logdir, "conn-%d.txt" % num), "wb")
        end = time.time() + 120
        live = [c, u]
        try:
            # until the server's side ends (the client may end its side
            # first, after its request)
            # polled with short timeouts: select() does not see a TLS record
            # OpenSSL has read already but not decrypted
            c.settimeout(0.05)
            u.settimeout(0.05)
            while u in live and time.time() < end:
                for x in list(live):
                    try:
                        d = x.recv(65536)
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    if not d:
                        live.remove(x)
                        continue
                    y = u if x is c else c
                    if x is c:
                        log.write(d)
                        log.flush()
                    y.settimeout(30)
                    y.sendall(d)
                    y.settimeout(0.05)
        except (OSError, ssl.SSLError):
            pass
        finally:
            log.close()
            for x in (c, u):
                try:
                    x.close()
                except OSError:
                    pass

    while True:
        c, _ = ls.accept()
        n[0] += 1
        threading.Thread(target=relay, args=(c, n[0]), daemon=True).start()


def cmd_xquote(a):
    """tpmattest quote --exchange driven as the attester drives it: the
    nonceTPM it prints goes with a nonce request for --machine, and the
    answer (its nonce, or --nonce instead, and its counter authorization,
    or none with --no-auth) goes back on its stdin.  Prints the nonce the
    evidence is over; exits with the quote's status."""
    import subprocess
    q = subprocess.Popen([a.tpa, "quote", "--exchange", "--out", a.out] + a.quote_args,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        ready, _, _ = select.select([q.stdout], [], [], 60)
        line = q.stdout.readline() if ready else b""
        if not line:
            q.kill()
            q.wait(10)
            sys.stderr.write("xquote: no nonceTPM from tpmattest quote --exchange\n")
            return q.returncode or 4
        nt = json.loads(line)["nonce_tpm"]
        body = json.dumps({"nonce_tpm": nt}).encode() if nt else None
        status, data = one_request(a.url, ctx_for(a), "POST", "/v1/machines/%s/nonce" % a.machine,
                                   body, {"Content-Type": "application/json"} if body else {}, 30)
        if status != 200:
            q.kill()
            q.wait(10)
            sys.stderr.write("xquote: nonce: HTTP %s: %r\n" % (status, data[:300]))
            return 4
        ans = json.loads(data)
        nonce = a.nonce or ans["nonce"]
        au = None if a.no_auth else ans["counter_authorization"]
        if a.auth_out and au is not None:
            json.dump(au, open(a.auth_out, "w"))
        if a.auth_in:
            au = json.load(open(a.auth_in))
        q.stdin.write((json.dumps({"nonce": nonce, "counter_authorization": au}) + "\n").encode())
        q.stdin.close()
        out = q.stdout.read()
        rc = q.wait(120)
    except BaseException:
        q.kill()
        q.wait(10)
        raise
    if a.summary:
        open(a.summary, "wb").write(out)
    print(nonce)
    return rc


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("req")
    for o in ("--url", "--ca", "--out"):
        r.add_argument(o, required=True)
    r.add_argument("--cert")
    r.add_argument("--key")
    r.add_argument("--header", action="append")
    r.add_argument("--data")
    r.add_argument("--data-file")
    r.add_argument("--timeout", type=float, default=30)
    r.add_argument("method")
    r.add_argument("path")
    t = sub.add_parser("batch")
    for o in ("--url", "--ca", "--file"):
        t.add_argument(o, required=True)
    t.add_argument("--cred", action="append")
    b = sub.add_parser("bigbody")
    for o in ("--url", "--ca", "--path"):
        b.add_argument(o, required=True)
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--chunked", action="store_true")
    s = sub.add_parser("slow")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    for o in ("--silent", "--drip", "--tlsdrip", "--halfhello", "--bodydrip", "--idle"):
        s.add_argument(o, type=int, default=0)
    s.add_argument("--ready", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--max", type=float, default=30)
    x = sub.add_parser("proxy")
    for o in ("--port-file", "--cert", "--key", "--ca", "--logdir"):
        x.add_argument(o, required=True)
    x.add_argument("--upstream", type=int, required=True)
    xq = sub.add_parser("xquote")
    for o in ("--url", "--ca", "--machine", "--tpa", "--out"):
        xq.add_argument(o, required=True)
    xq.add_argument("--nonce")
    xq.add_argument("--no-auth", action="store_true")
    xq.add_argument("--auth-out")
    xq.add_argument("--auth-in")
    xq.add_argument("--summary")
    xq.add_argument("quote_args", nargs="*")
    a = p.parse_args()
    return {"xquote": cmd_xquote, "req": cmd_req, "batch": cmd_batch, "bigbody": cmd_bigbody, "slow": cmd_slow, "proxy": cmd_proxy}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
