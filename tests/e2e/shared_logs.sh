#!/usr/bin/env bash
# Every real log in ../shared/eventlogs: exact replay where the machine's PCR
# values are recorded, the strict mismatches, the damaged logs of MANIFEST.json.
. "$(dirname "$0")/lib.sh"
S=${SHARED:?}/eventlogs
if [ ! -d "$S" ]; then echo "SKIP: $S is absent (the shared test data sits beside the repository)"; exit 77; fi

for exp in "$S"/*/*.expected.json; do
  log=${exp%.expected.json}.bin; name=$(basename "$log")
  case $name in
    ebs_event_missing_eventlog.bin)
      expect_exit 1 "check $name (PCR5 must mismatch)" "$TPA" eventlog check "$log" --pcrs "$exp"
      expect_grep "$T/out" "^PCR5 sha1: MISMATCH" "$name names PCR5"
      expect_grep "$T/out" "lacks the two \"Exit Boot Services\"" "$name explains the missing EBS events"
      continue;;
  esac
  expect_exit 0 "check $name" "$TPA" eventlog check "$log" --pcrs "$exp"
  expect_grep "$T/out" "PCR values match" "$name summary"
done

# derived cases, as MANIFEST.json's expected_outcome says
D=$S/derived; BASE=$S/go-tpm-tools
expect_exit 1 "dup-last-extend" "$TPA" eventlog check "$D/debian-10.dup-last-extend.bin" --pcrs "$BASE/debian-10.expected.json"
expect_grep "$T/err" "^tpmattest: .*: 1 of [0-9]+ PCR values differ" "dup-last-extend: exactly one PCR differs"
expect_grep "$T/out" "^PCR4 sha1: MISMATCH" "dup-last-extend: PCR4"
expect_exit 1 "flip-digest-bit" "$TPA" eventlog check "$D/glinux-alex.flip-digest-bit.bin" --pcrs "$BASE/glinux-alex.expected.json"
expect_grep "$T/out" "^PCR0 sha1: MISMATCH" "flip-digest-bit: PCR0 sha1 (first bank)"
expect_grep "$T/out" "^PCR0 sha256: match" "flip-digest-bit: PCR0 sha256 untouched"
expect_exit 1 "no-startuplocality" "$TPA" eventlog check "$D/glinux-alex.no-startuplocality.bin" --pcrs "$BASE/glinux-alex.expected.json"
expect_grep "$T/err" ": 2 of [0-9]+ PCR values differ" "no-startuplocality: only PCR0 in both banks"
expect_grep "$T/out" "^PCR0 sha256: MISMATCH" "no-startuplocality: PCR0"
expect_exit 0 "trailing-zeros-16" "$TPA" eventlog check "$D/glinux-alex.trailing-zeros-16.bin" --pcrs "$BASE/glinux-alex.expected.json"
expect_exit 3 "huge-eventsize" "$TPA" eventlog replay "$D/glinux-alex.huge-eventsize.bin"
expect_grep "$T/err" "event size [0-9]+ exceeds the [0-9]+ bytes left" "huge-eventsize reason"
expect_exit 3 "trunc-mid-data" "$TPA" eventlog replay "$D/glinux-alex.trunc-mid-data.bin"
expect_exit 3 "trunc-mid-header" "$TPA" eventlog replay "$D/debian-10.trunc-mid-header.bin"
expect_exit 3 "specid-vendordata (vendor bytes outside the event)" "$TPA" eventlog replay "$S/tpm2-tools/specid-vendordata.bin"
expect_grep "$T/err" "vendorInfoSize" "specid-vendordata reason"
expect_exit 3 "keylime bogus" "$TPA" eventlog replay "$S/keylime/binary_bios_measurements-bogus.bin"

# every other real log parses and replays
for log in "$S"/*/*.bin; do
  case $log in */derived/*|*bogus*|*empty*|*specid-vendordata*) continue;; esac
  expect_exit 0 "replay $(basename "$log")" "$TPA" eventlog replay --json "$log"
  expect_exit 0 "show $(basename "$log")" "$TPA" eventlog show --json "$log"
done
finish
