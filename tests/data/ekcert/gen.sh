#!/bin/sh
# Regenerates the EK certificate fixtures (committed; run by hand only when
# they must change).  A tiny manufacturer hierarchy (root -> intermediate ->
# EK-like leaves with an empty subject and a critical SAN directoryName
# holding the TCG TPM attributes), and the cases that must be refused.
# Keys are P-256 (RSA 2048 for one leaf) so the files stay small.
set -eu
cd "$(dirname "$0")"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$1.key" 2>/dev/null; }
cat >"$W/ext.cnf" <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[notca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ek]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyAgreement
authorityKeyIdentifier = keyid
subjectAltName = critical, dirName:tpm_attrs
certificatePolicies = 2.23.133.2.1
[tpm_attrs]
# the "0." prefix is eaten by the config parser (its multi-value syntax)
0.2.23.133.2.1 = id:49465800
0.2.23.133.2.2 = SLB9672
0.2.23.133.2.3 = id:000F0011
[ek_stm]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
authorityKeyIdentifier = keyid
subjectAltName = critical, dirName:tpm_attrs_stm
[tpm_attrs_stm]
0.2.23.133.2.1 = id:53544D20
0.2.23.133.2.2 = ST33KTPM2X
0.2.23.133.2.3 = id:00090100
CNF

# self-signed root, intermediate; a second root that is not trusted
key root; key int; key other; key notca; key ek; key self
openssl req -new -x509 -key "$W/root.key" -subj "/C=DE/O=Test TPM Vendor/CN=Test EK Root CA" \
  -days 36500 -sha256 -extensions ca -config "$W/ext.cnf" -set_serial 1 -out roots/root.pem
openssl req -new -x509 -key "$W/other.key" -subj "/C=DE/O=Test TPM Vendor/CN=Other EK Root CA" \
  -days 36500 -sha256 -extensions ca -config "$W/ext.cnf" -set_serial 1 -out "$W/other.pem"
openssl req -new -key "$W/int.key" -subj "/C=DE/O=Test TPM Vendor/CN=Test EK Intermediate CA 01" -out "$W/int.csr"
openssl x509 -req -in "$W/int.csr" -CA roots/root.pem -CAkey "$W/root.key" -set_serial 2 \
  -days 36500 -sha256 -extfile "$W/ext.cnf" -extensions ca -outform DER -out intermediates/int.der
openssl x509 -inform DER -in intermediates/int.der -out "$W/int.pem"
# an "intermediate" whose basicConstraints say it is not a CA
openssl req -new -key "$W/notca.key" -subj "/C=DE/O=Test TPM Vendor/CN=Test Not A CA" -out "$W/notca.csr"
openssl x509 -req -in "$W/notca.csr" -CA roots/root.pem -CAkey "$W/root.key" -set_serial 3 \
  -days 36500 -sha256 -extfile "$W/ext.cnf" -extensions notca -out "$W/notca.pem"
cp "$W/notca.pem" intermediates/notca.pem

# EK-like leaves: empty subject (an empty CSR subject needs -subj "/")
leaf() { # NAME ISSUER EXT [KEY]
  k=${4:-ek}
  openssl req -new -key "$W/$k.key" -subj "/" -out "$W/$1.csr" 2>/dev/null
  openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.pem" -CAkey "$W/$2.key" -set_serial 0x$(openssl rand -hex 24) \
    -days 36500 -sha256 -extfile "$W/ext.cnf" -extensions "$3" -outform DER -out "$1.der" 2>/dev/null
}
leaf ek int ek
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa.key" 2>/dev/null
leaf ek-rsa int ek_stm rsa
leaf unknown-ca other ek
leaf issuer-not-ca notca ek
# signed with SHA-1 by the genuine intermediate
openssl req -new -key "$W/ek.key" -subj "/" -out "$W/sha1.csr" 2>/dev/null
openssl x509 -req -in "$W/sha1.csr" -CA "$W/int.pem" -CAkey "$W/int.key" -set_serial 77 \
  -days 36500 -sha1 -extfile "$W/ext.cnf" -extensions ek -outform DER -out sha1-signed.der 2>/dev/null
# a self-signed "EK" with the same SAN
openssl req -new -x509 -key "$W/self.key" -subj "/CN=self-signed EK" -days 36500 -sha256 \
  -extensions ek -config "$W/ext.cnf" -outform DER -out self-signed.der 2>/dev/null
# expired: notAfter in 2021, through openssl ca (x509 -req cannot backdate)
mkdir "$W/ca"; : >"$W/ca/index.txt"; echo 10 >"$W/ca/serial"
cat >"$W/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $W/ca
database = $W/ca/index.txt
serial = $W/ca/serial
new_certs_dir = $W/ca
default_md = sha256
policy = p
[p]
CNF
openssl req -new -key "$W/ek.key" -subj "/" -out "$W/exp.csr" 2>/dev/null
openssl ca -batch -config "$W/ca.cnf" -cert "$W/int.pem" -keyfile "$W/int.key" -in "$W/exp.csr" \
  -startdate 20110101000000Z -enddate 20210101000000Z -extfile "$W/ext.cnf" -extensions ek \
  -notext -out "$W/exp.pem" 2>/dev/null
openssl x509 -in "$W/exp.pem" -outform DER -out expired.der

# NV artefacts: the TCG PC Client header (7 bytes: 10 01 00 len16 10 02)
# with ff padding, and the 5-byte header with 00 padding
python3 - <<'PY'
d = open("ek.der", "rb").read()
n = len(d) + 2
open("ek-nvheader-ffpad.bin", "wb").write(bytes([0x10, 0x01, 0x00, n >> 8, n & 0xff, 0x10, 0x02]) + d + b"\xff" * 200)
open("ek-nvheader5-00pad.bin", "wb").write(bytes([0x10, 0x01, 0x00, len(d) >> 8, len(d) & 0xff]) + d + b"\x00" * 31)
open("ek-ffpad.der", "wb").write(d + b"\xff" * 100)
# refused: a flipped signature byte, a truncated file, junk after the DER,
# padding that mixes 00 and ff, a header whose certSize lies
b = bytearray(d); b[-1] ^= 0x01; open("bad-signature.der", "wb").write(bytes(b))
open("truncated.der", "wb").write(d[:-10])
open("trailing-junk.der", "wb").write(d + b"junk")
open("mixed-padding.der", "wb").write(d + b"\xff\xff\x00\xff")
open("nvheader-badlen.bin", "wb").write(bytes([0x10, 0x01, 0x00, (n + 1) >> 8, (n + 1) & 0xff, 0x10, 0x02]) + d)
PY
openssl x509 -inform DER -in ek.der -out ek.pem
echo done
