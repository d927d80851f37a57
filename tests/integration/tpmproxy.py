#!/usr/bin/env python3
"""tpmproxy.py LISTEN_PORT TPM_PORT [--kill-after N --kill-pid PID] [--count-file F]
                                     [--pose-as-hardware 1]

A TCP relay between a TCTI (swtpm:host=127.0.0.1,port=LISTEN_PORT) and swtpm
(data port TPM_PORT, control port TPM_PORT+1, relayed from LISTEN_PORT+1).
It parses the TPM command stream (10-byte header, big-endian size at offset 2)
so it can count commands exactly, and it can SIGKILL swtpm just before
forwarding command N, to make a TPM that stops answering in the middle of a
run.  With --pose-as-hardware it rewrites swtpm's TPM_PT_MANUFACTURER ("IBM")
and TPM_PT_VENDOR_STRING_1 ("SW  ") in GetCapability answers to an Infineon
chip's, to exercise the "not a simulator" refusal.  127.0.0.1 only.  The count so far is rewritten to F after every command.
"""
import os, signal, socket, sys, threading

args = sys.argv[1:]
listen, tpm = int(args[0]), int(args[1])
opt = dict(zip(args[2::2], args[3::2]))
kill_after = int(opt.get("--kill-after", "0"))
kill_pid = int(opt.get("--kill-pid", "0"))
count_file = opt.get("--count-file")
pose = opt.get("--pose-as-hardware") == "1"
# TPMS_TAGGED_PROPERTY {property, value}: (0x105 "IBM\0") and (0x106 "SW  ")
REWRITES = [(bytes.fromhex("00000105") + b"IBM\x00", bytes.fromhex("00000105") + b"IFX\x00"),
            (bytes.fromhex("00000106") + b"SW  ", bytes.fromhex("00000106") + b"SLB9")]
count = 0
lock = threading.Lock()

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf

def pump(src, dst, rewrite=False):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            if rewrite:
                for a, b in REWRITES:
                    d = d.replace(a, b)
            dst.sendall(d)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def data_conn(c):
    global count
    u = socket.create_connection(("127.0.0.1", tpm))
    threading.Thread(target=pump, args=(u, c, pose), daemon=True).start()
    try:
        while True:
            hdr = recv_exact(c, 10)
            if hdr is None:
                break
            size = int.from_bytes(hdr[2:6], "big")
            body = recv_exact(c, max(0, size - 10)) if size > 10 else b""
            if body is None:
                break
            with lock:
                count += 1
                n = count
                if count_file:
                    with open(count_file + ".tmp", "w") as f:
                        f.write(str(n))
                    os.replace(count_file + ".tmp", count_file)
            if kill_after and n == kill_after and kill_pid:
                os.kill(kill_pid, signal.SIGKILL)
            u.sendall(hdr + body)
    except OSError:
        pass
    for s in (c, u):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def ctrl_conn(c):
    try:
        u = socket.create_connection(("127.0.0.1", tpm + 1))
    except OSError:
        c.close()
        return
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
    pump(c, u)

def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s

def serve(s, handler):
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()

data_sock, ctrl_sock = listener(listen), listener(listen + 1)
threading.Thread(target=serve, args=(ctrl_sock, ctrl_conn), daemon=True).start()
print("ready", flush=True)
serve(data_sock, data_conn)
