#!/usr/bin/env bash
# Parser differentials on every body the server reads (THREATS.md: "every
# JSON document read strictly"): duplicate members (one reader takes the
# first, another the last), a BOM, trailing bytes, comments, NUL escapes,
# UTF-16, numbers out of range -- each 400 malformed, on the enrollment
# wrapper and request, the activation, the evidence, the policy assignment
# and the policy document.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; enroll a
python3 - <<'PY' || fail "strict reading"
from atk import *
A = machine_id("a")
problems = []
reqa = open(f"{W}/tpm-a/req.json").read().strip()
ev = json.dumps(quote("a", nonce(A)))
resp = open(f"{W}/tpm-a/resp.json").read().strip()
policy = json.dumps({"version": 2, "pcrs": {"sha256": [0]}, "pcr_values": {"sha256": {"0": ["00" * 32]}}})
def dup_first(doc, key, val):
    """doc with "key": val inserted before its first member."""
    return "{" + json.dumps(key) + ":" + val + "," + doc.lstrip()[1:]
cases = []
wrap = '{"name":"x","request":' + reqa + '}'
cases += [("enroll: name twice", "POST", "/v1/enroll", '{"name":"x","name":"y","request":' + reqa + '}', None),
          ("enroll: request twice", "POST", "/v1/enroll", '{"name":"x","request":{},"request":' + reqa + '}', None),
          ("enroll: member twice inside request", "POST", "/v1/enroll", '{"name":"x","request":' + dup_first(reqa, "format", '"x"') + '}', None),
          ("enroll: BOM", "POST", "/v1/enroll", "\ufeff" + wrap, None),
          ("enroll: trailing", "POST", "/v1/enroll", wrap + "{}", None),
          ("enroll: comment", "POST", "/v1/enroll", "/**/" + wrap, None),
          ("enroll: UTF-16", "POST", "/v1/enroll", wrap.encode("utf-16"), None),
          ("enroll: unknown member", "POST", "/v1/enroll", '{"name":"x","nam\\u0065":"y","request":' + reqa + '}', None),
          ("enroll: NaN", "POST", "/v1/enroll", '{"name":NaN,"request":' + reqa + '}', None)]
cases += [("activate: id twice", "POST", "/v1/enroll/activate", dup_first(resp, "id", '"' + "00" * 16 + '"'), None),
          ("activate: trailing", "POST", "/v1/enroll/activate", resp + " x", None)]
cases += [("evidence: nonce twice", "POST", f"/v1/machines/{A}/attest", dup_first(ev, "nonce", '"' + "11" * 32 + '"'), None),
          ("evidence: quote twice", "POST", f"/v1/machines/{A}/attest", dup_first(ev, "quote", '{}'), None),
          ("evidence: version 1e0", "POST", f"/v1/machines/{A}/attest", ev.replace('"version": 1', '"version": 1e0', 1), None),
          ("evidence: version 1.0", "POST", f"/v1/machines/{A}/attest", ev.replace('"version": 1', '"version": 1.0', 1), None),
          ("evidence: format with NUL", "POST", f"/v1/machines/{A}/attest", ev.replace('"tpmattest-evidence"', '"tpmattest-evidence\\u0000v9"', 1), None),
          ("evidence: BOM", "POST", f"/v1/machines/{A}/attest", "\ufeff" + ev, None),
          ("evidence: counter value 2^64", "POST", f"/v1/machines/{A}/attest",
           json.dumps(dict(json.loads(ev), counter=dict(json.loads(ev)["counter"], value=2**64))), None)]
cases += [("assign: policy twice", "PUT", f"/v1/machines/{A}/policy", '{"policy":null,"policy":"x"}', "admin"),
          ("policy: version twice", "PUT", "/v1/policies/p", dup_first(policy, "version", "1"), "admin"),
          ("policy: pcrs twice", "PUT", "/v1/policies/p", dup_first(policy, "pcrs", '{"sha256":[1]}'), "admin"),
          ("policy: trailing", "PUT", "/v1/policies/p", policy + "]", "admin")]
for name, m, path, body, cert in cases:
    r = req(m, path, body, cert=cert)
    if not (r.status == 400 and r.get("error") == "malformed"):
        problems.append(f"{name}: {r.status} {r.get('error')} {r.get('verdict')}")
check(admin("GET", "/v1/policies/p").status == 404, "a refused policy was stored")
if problems:
    fail("; ".join(problems))
PY
pass
