#!/usr/bin/env bash
# tpmattest ekcert verify over every leaf of ../shared/ekcerts, with roots/
# as roots and as intermediates.  The expected outcome of each leaf follows
# from MANIFEST.json (test_ekcert checks that derivation row by row):
#  - TPM 2.0 leaves whose chain_cafile is collected and whose signature
#    verifies under a collected issuer (signature_verifies_under) verify;
#  - TPM 2.0 leaves without them are unknown issuers: no certificate of that
#    name (chain_cafile empty), or one of that name without the key;
#  - TPM 1.2 leaves (RSAES-OAEP keys) are out of scope, except the one whose
#    NV tail is 0x11 bytes, not padding: malformed.
# docs/enrollment.md has the same table.
. "$(dirname "$0")/lib.sh"
S=${SHARED:?}/ekcerts
if [ ! -f "$S/MANIFEST.json" ]; then echo "SKIP: $S is absent (the shared test data sits beside the repository)"; exit 77; fi
V=("$TPA" ekcert verify --roots "$S/roots" --intermediates "$S/roots")
L=$S/leaves

verified="
google-gce-gce-pca-ecc-0dd71325.der
google-gce-gce-pca-rsa-2024-3722cd55.der
google-gce-gce-pca-rsa-2df7967a.der
google-gce-gce-uca-rsa-af614aee.der
infineon-optiga-rsa-mfg035-234480e4.der
nuvoton-npct-rsa-root2110-934a0f83.der
nuvoton-npct-rsa-root2111-933cdb17.der
nuvoton-npct75x-rsa-root2111-9ad6b086.der
stmicro-st33-ecc-int01-85f38843.der
stmicro-st33-rsa-int05-02d30b10.der"
no_issuer="
google-gce-gce-vtpm-h1-2018-9f2d40c0.der
intel-ptt-ecc-cml-27e9318d.der
swtpm-swtpm-localca-docs-3a888ace.der"
name_no_key="
google-gce-gce-privateca-rsa-ced46646.der"
out_of_scope="
infineon-slb9660-oaep-int20-7deed572.der
stmicro-st19-oaep-int02-ab21ccf2-07d685f9.der
stmicro-st19-oaep-int02-nuc1-6de7b2a2.der
stmicro-st19-oaep-int02-nuc1-nvheader-55ef591d.der"
malformed="nuvoton-npct-oaep-root2010-padded-0a61803c.der"

# every leaf is in exactly one list
all=$(printf '%s\n' $verified $no_issuer $name_no_key $out_of_scope $malformed | sort)
have=$(cd "$L" && ls | sort)
if [ "$all" = "$have" ]; then pass; else fail "the lists do not cover leaves/ exactly: $(diff <(echo "$all") <(echo "$have") | tr '\n' ' ')"; fi

for f in $verified; do
  expect_exit 0 "$f verifies" "${V[@]}" "$L/$f"
  expect_grep "$T/out" "^$L/$f: verified$" "$f verified"
  expect_grep "$T/out" "^  chain: +\[0\]" "$f chain"
  expect_grep "$T/err" "nonminimal-serial.der: skipped" "$f: the unparseable STM CA is named as skipped"
  # swtpm's test CAs, whose private keys swtpm publishes, are never trusted
  for c in swtpm-swtpm_localca-ab322b73.pem swtpm-swtpm_localca.pem swtpm-swtpm_localca_rootca.pem; do
    expect_grep "$T/err" "$c: skipped: .*private key is public" "$f: $c refused"
  done
done
for f in $no_issuer; do
  expect_exit 1 "$f: unknown issuer" "${V[@]}" "$L/$f"
  expect_grep "$T/out" "NOT VERIFIED: unknown issuer at depth 0: no certificate named" "$f reason"
done
for f in $name_no_key; do
  expect_exit 1 "$f: unknown issuer (name without key)" "${V[@]}" "$L/$f"
  expect_grep "$T/out" "NOT VERIFIED: unknown issuer at depth 0: [0-9]+ certificates? named .* none with its key" "$f reason"
done
for f in $out_of_scope; do
  expect_exit 1 "$f: out of scope" "${V[@]}" "$L/$f"
  expect_grep "$T/out" "NOT VERIFIED: TPM 1.2 EK certificate \(RSAES-OAEP key\), out of scope" "$f reason"
done
expect_exit 3 "$malformed: not padding" "${V[@]}" "$L/$malformed"
expect_grep "$T/err" "byte 908: 0x11 after the certificate .* is not NV padding" "$malformed reason"

# what the corpus's quirks show
expect_exit 0 "ff padding" "${V[@]}" "$L/stmicro-st33-rsa-int05-02d30b10.der"
expect_grep "$T/out" "format:   DER, 431 bytes of ff padding" "padding reported"
expect_grep "$T/out" "\[3\] CN=GlobalSign Trusted Platform Module Root CA" "STM chain reaches GlobalSign"
expect_grep "$T/out" "^  vendor:   STMicroelectronics \(STM, id:53544D20\)$" "STM vendor"
expect_exit 1 "NV header (TPM 1.2)" "${V[@]}" "$L/stmicro-st19-oaep-int02-nuc1-nvheader-55ef591d.der"
expect_grep "$T/out" "format:   TCG NV header \(7 bytes\)" "NV header stripped"
expect_exit 0 "Nuvoton non-DER RDN order" "${V[@]}" "$L/nuvoton-npct-rsa-root2111-933cdb17.der"
expect_grep "$T/out" "^  vendor:   Nuvoton Technology \(NTC, id:4E544300\)$" "Nuvoton vendor"
expect_grep "$T/out" "^  model:    NPCT75x$" "Nuvoton model"
expect_exit 0 "Infineon" "${V[@]}" "$L/infineon-optiga-rsa-mfg035-234480e4.der"
expect_grep "$T/out" "^  vendor:   Infineon \(IFX, id:49465800\)$" "Infineon vendor"
expect_grep "$T/out" "^  model:    SLB 9670 TPM2.0$" "Infineon model"
expect_exit 0 "GCE vTPM" "${V[@]}" "$L/google-gce-gce-uca-rsa-af614aee.der"
expect_grep "$T/out" "^  vendor:   Google \(GOOG, id:474F4F47\)$" "Google vendor"
expect_exit 1 "Intel PTT (explicit DEFAULTs parse; intermediate not collected)" "${V[@]}" "$L/intel-ptt-ecc-cml-27e9318d.der"
expect_grep "$T/out" "^  vendor:   Intel \(INTC, id:494E5443\)$" "Intel vendor"
expect_grep "$T/out" "^  key:      ECC P-256$" "Intel key"
# notAfter 2049-2054 and 9999-style dates print and pass --check-time
expect_exit 0 "GCE notAfter 2054 with --check-time" "${V[@]}" --check-time "$L/google-gce-gce-pca-rsa-2024-3722cd55.der"
expect_grep "$T/out" "to 2054-04-30T11:24:43Z, valid now$" "2054 validity"
# every leaf at once: the worst status (malformed) wins
expect_exit 3 "whole corpus" "${V[@]}" "$L"/*.der
n=$(grep -c ": verified$" "$T/out"); if [ "$n" = 10 ]; then pass; else fail "whole corpus: $n verified, want 10"; fi
expect_exit 3 "whole corpus --json" "${V[@]}" --json "$L"/*.der
n=$(grep -c '"verified":true' "$T/out"); if [ "$n" = 10 ]; then pass; else fail "json: $n verified, want 10"; fi
finish
