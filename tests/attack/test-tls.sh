#!/usr/bin/env bash
# TLS: attester endpoints work with any client certificate or none
# (another CA's, an expired one); admin endpoints refuse another CA's
# certificate, an expired admin certificate, and one whose extended key
# usage does not allow client authentication (403 admin_certificate_refused),
# and need one (401).  TLS 1.1 and client-initiated renegotiation refused.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --request-timeout 5; enroll a
python3 - <<'PY' || fail "TLS client certificates"
from atk import *
A = machine_id("a")
for cert in (None, "other", "expired", "serveronly", "admin"):
    n = req("POST", f"/v1/machines/{A}/nonce", cert=cert)
    check(n.status == 200, f"nonce with {cert}: {n}")
    r = req("POST", f"/v1/machines/{A}/attest", quote("a", n.json["nonce"]), cert=cert)
    check(r.status == 200 and r.get("verdict") == "pass", f"attest with {cert}: {r}")
    check(req("GET", "/healthz", cert=cert).status == 200, f"healthz with {cert}")
want = {None: (401, "admin_certificate_required"), "other": (403, "admin_certificate_refused"),
        "expired": (403, "admin_certificate_refused"), "serveronly": (403, "admin_certificate_refused"),
        "admin": (200, None)}
for cert, (st, code) in want.items():
    for m, p, b in (("GET", "/v1/machines", None), ("GET", f"/v1/machines/{A}", None),
                    ("GET", f"/v1/machines/{A}/history", None), ("GET", "/v1/policies", None),
                    ("GET", "/metrics", None), ("PUT", f"/v1/machines/{A}/policy", {"policy": None})):
        r = req(m, p, b, cert=cert)
        check(r.status == st and (code is None or r.get("error") == code),
              f"{m} {p} with {cert}: want {st} {code}, got {r}")
PY
# TLS 1.1: refused at the handshake
if openssl s_client -help 2>&1 | grep -q -- -tls1_1; then
  echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_1 -CAfile "$W/tls/ca.pem" >"$W/t11" 2>&1 \
    && grep -q "Protocol  *: TLSv1.1" "$W/t11" && fail "TLS 1.1 accepted"
fi
# client-initiated renegotiation (TLS 1.2, "R" on s_client's stdin): refused,
# the connection does not carry on with a new handshake
(printf 'R\n'; sleep 2) | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -CAfile "$W/tls/ca.pem" \
  -cert "$W/tls/admin.pem" -key "$W/tls/admin.key" >"$W/reneg" 2>&1
grep -q "RENEGOTIATING" "$W/reneg" || fail "s_client did not try to renegotiate: $(tail -5 "$W/reneg")"
grep -qi "no renegotiation\|renegotiation" "$W/reneg" || fail "renegotiation: $(tail -5 "$W/reneg")"
grep -q "Verification: OK\|Verify return code: 0" "$W/reneg" || fail "renegotiation: no handshake first"
kill -0 "$SRV_PID" || fail "server died"
python3 -c 'from atk import *; check(req("GET", "/healthz").status == 200, "healthz after renegotiation")' || fail healthz
pass
