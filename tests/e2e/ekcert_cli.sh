#!/usr/bin/env bash
# tpmattest ekcert verify on the project's own fixtures (tests/data/ekcert):
# exit status and reason of each case.
. "$(dirname "$0")/lib.sh"
D=$(cd "$(dirname "$0")/../data/ekcert" && pwd)
V=("$TPA" ekcert verify --roots "$D/roots" --intermediates "$D/intermediates")

for f in ek.der ek-rsa.der ek.pem ek-ffpad.der ek-nvheader-ffpad.bin ek-nvheader5-00pad.bin expired.der; do
  expect_exit 0 "verify $f" "${V[@]}" "$D/$f"
  expect_grep "$T/out" "^$D/$f: verified$" "$f verified"
  expect_grep "$T/out" "chain: +\[0\] \(empty subject\)" "$f chain starts at the EK"
  expect_grep "$T/out" "\[2\] CN=Test EK Root CA,O=Test TPM Vendor,C=DE" "$f chain ends at the root"
done
expect_exit 0 "verify ek.der" "${V[@]}" "$D/ek.der"
expect_grep "$T/out" "^  vendor:   Infineon \(IFX, id:49465800\)$" "vendor"
expect_grep "$T/out" "^  model:    SLB9672$" "model"
expect_grep "$T/out" "^  firmware: id:000F0011$" "firmware"
expect_grep "$T/out" "^  key:      ECC P-256$" "ECC key"
expect_exit 0 "verify ek-rsa.der" "${V[@]}" "$D/ek-rsa.der"
expect_grep "$T/out" "^  key:      RSA 2048$" "RSA key"
expect_grep "$T/out" "^  vendor:   STMicroelectronics \(STM, id:53544D20\)$" "STM vendor"
expect_exit 0 "verify ek-nvheader-ffpad.bin" "${V[@]}" "$D/ek-nvheader-ffpad.bin"
expect_grep "$T/out" "format:   TCG NV header \(7 bytes\), 200 bytes of ff padding" "NV wrapping reported"

# validity: reported, enforced only with --check-time
expect_exit 0 "expired.der without --check-time" "${V[@]}" "$D/expired.der"
expect_grep "$T/out" "2021-01-01T00:00:00Z, expired now \(not enforced\)" "expired reported"
expect_exit 1 "expired.der with --check-time" "${V[@]}" --check-time "$D/expired.der"
expect_grep "$T/out" "NOT VERIFIED: expired at depth 0" "expired reason"
expect_exit 0 "ek.der with --check-time" "${V[@]}" --check-time "$D/ek.der"

# definite "no"s, each with its reason
expect_exit 1 "unknown CA" "${V[@]}" "$D/unknown-ca.der"
expect_grep "$T/out" "NOT VERIFIED: unknown issuer at depth 0: no certificate named \"CN=Other EK Root CA" "unknown CA reason"
expect_exit 1 "self-signed EK" "${V[@]}" "$D/self-signed.der"
expect_grep "$T/out" "NOT VERIFIED: self-signed certificate" "self-signed reason"
expect_exit 1 "issuer not a CA" "${V[@]}" "$D/issuer-not-ca.der"
expect_grep "$T/out" "NOT VERIFIED: issuer not a CA at depth 1: \"CN=Test Not A CA" "not-CA reason"
expect_exit 1 "bad signature" "${V[@]}" "$D/bad-signature.der"
expect_grep "$T/out" "NOT VERIFIED: bad signature at depth 0" "bad signature reason"
expect_exit 1 "a CA certificate as the EK" "${V[@]}" "$D/intermediates/int.der"
expect_grep "$T/out" "NOT VERIFIED: a CA certificate \(basicConstraints cA TRUE\), not an EK certificate" "CA as EK reason"
expect_exit 1 "SHA-1 signature" "${V[@]}" "$D/sha1-signed.der"
expect_grep "$T/out" "NOT VERIFIED: weak signature or key at depth 0" "SHA-1 reason"
expect_exit 1 "without the intermediates" "$TPA" ekcert verify --roots "$D/roots" "$D/ek.der"
expect_grep "$T/out" "unknown issuer at depth 0: no certificate named \"CN=Test EK Intermediate CA 01" "missing intermediate"
# the intermediate among the roots, beside an unrelated self-signed one: no
# partial chains, so it is no anchor
mkdir "$T/partial" && cp "$D/intermediates/int.der" "$D/self-signed.der" "$T/partial/"
expect_exit 1 "an intermediate given as a root" "$TPA" ekcert verify --roots "$T/partial" "$D/ek.der"
expect_grep "$T/out" "unknown issuer at depth 1: no certificate named \"CN=Test EK Root CA" "intermediate is no anchor"

# unreadable: exit 3, the reason and where
expect_exit 3 "truncated" "${V[@]}" "$D/truncated.der"
expect_grep "$T/err" "truncated input: truncated: the certificate at byte 0 declares" "truncated reason"
expect_exit 3 "trailing junk" "${V[@]}" "$D/trailing-junk.der"
expect_grep "$T/err" "0x6a after the certificate .* is not NV padding" "junk reason"
expect_exit 3 "mixed padding" "${V[@]}" "$D/mixed-padding.der"
expect_exit 3 "NV header that lies" "${V[@]}" "$D/nvheader-badlen.bin"
expect_grep "$T/err" "TCG NV certSize" "NV header reason"
expect_exit 3 "not a certificate" "${V[@]}" "$D/gen.sh"

# several at once: the worst status wins, each is reported
expect_exit 1 "one good, one bad" "${V[@]}" "$D/ek.der" "$D/unknown-ca.der"
expect_grep "$T/out" "ek.der: verified" "good one reported"
expect_exit 3 "good, bad and unreadable" "${V[@]}" "$D/ek.der" "$D/unknown-ca.der" "$D/truncated.der"

# --json: one object per certificate
expect_exit 3 "--json" "${V[@]}" --json "$D/ek.der" "$D/bad-signature.der" "$D/truncated.der"
expect_grep "$T/out" '"verified":true' "json verified"
expect_grep "$T/out" '"reason":"bad-signature"' "json bad signature"
expect_grep "$T/out" '"reason":"malformed"' "json malformed"
expect_grep "$T/out" '"vendor_id":"IFX"' "json vendor id"
expect_grep "$T/out" '"curve":"P-256"' "json curve"
tr -d ' \n' <"$T/out" >"$T/flat"
expect_grep "$T/flat" '^\[\{"file":' "json is an array"

# usage and environment
expect_exit 2 "no --roots" "$TPA" ekcert verify "$D/ek.der"
expect_grep "$T/err" "--roots DIR is required" "no roots reason"
expect_exit 2 "no certificate" "$TPA" ekcert verify --roots "$D/roots"
expect_exit 2 "unknown subcommand" "$TPA" ekcert check "$D/ek.der"
expect_exit 2 "roots without a root" "$TPA" ekcert verify --roots "$D/intermediates" "$D/ek.der"
expect_grep "$T/err" "holds no self-signed root" "no anchor reason"
# adversarial review: a critical policyConstraints (requireExplicitPolicy),
# which this verifier does not process, is refused (OpenSSL 3.0 leaks on
# RFC 5280 policy processing), the chain's validity is reported, and a roots file
# refused halfway (a certificate, then a private key) adds nothing
P=$D/policy-constraints
expect_exit 1 "policyConstraints without a policy" "$TPA" ekcert verify --roots "$P/roots" --intermediates "$P/intermediates" "$P/ek.der"
expect_grep "$T/out" "NOT VERIFIED: a critical X509v3 Policy Constraints, which this verifier does not process" "policy constraint reason"
expect_exit 0 "verify ek.der (json)" "${V[@]}" --json "$D/ek.der"
expect_grep "$T/out" '"chain_time_valid": ?true' "chain validity in json"
mkdir -p "$T/bundle"
{ cat "$D/roots/"*.pem; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null; } >"$T/bundle/with-key.pem"
expect_exit 2 "a roots file with a private key after its root" "$TPA" ekcert verify --roots "$T/bundle" --intermediates "$D/intermediates" "$D/ek.der"
expect_grep "$T/err" "with-key.pem: skipped: PEM block 2 .*not a certificate" "bundle skipped whole"

expect_exit 0 "--help" "$TPA" ekcert verify --help
expect_grep "$T/out" "^usage: tpmattest ekcert verify" "help text"
expect_exit 4 "missing certificate file" "${V[@]}" "$T/nonexistent.der"
expect_exit 4 "missing roots folder" "$TPA" ekcert verify --roots "$T/none" "$D/ek.der"
finish
