#!/usr/bin/env bash
# Failing disk (docs/reliability.md): `echoa analyze --overlay` writing to a full file system (a 16 kB tmpfs,
# and `ulimit -f`) and to a read-only folder must give a clear error naming the file and the reason, leave no
# partial or temporary file, leave the inputs untouched, and still complete the other studies of the batch.
#   failing_disk.sh ECHOA WORK_DIR
# tmpfs and read-only mounts need a user + mount namespace (unshare -rm); where the kernel refuses one, those
# two cases are skipped with a message (the ulimit case always runs).
set -uo pipefail
echoa="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work/in"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for i in 1 2 3; do
  "$echoa" synth --view a4c --ef $((40 + 10 * i)) --seed $i --size 160x120 --frames 40 --fps 40 \
    --out "$work/in/study$i.dcm" >/dev/null || { echo "synth failed"; exit 1; }
done
(cd "$work/in" && sha256sum study*.dcm) > "$work/inputs.sha256"
inputs=("$work/in/study1.dcm" "$work/in/study2.dcm" "$work/in/study3.dcm")

# check CASE OUT_DIR EXIT STDERR_FILE STDOUT_FILE: the failed overlays leave nothing behind.
check_failure() {
  local name="$1" out="$2" code="$3" err="$4" stdout="$5"
  [[ "$code" == 2 ]] || fail "$name: exit $code, expected 2 (error)"
  grep -q "writing '.*\.png'\|overlay folder" "$err" || fail "$name: the error does not name the file: $(head -c 300 "$err")"
  local leftovers
  leftovers=$(find "$out" -type f \( -name '*.tmp-*' -o -name '.*' -o -size 0 \) 2>/dev/null | head -5)
  [[ -z "$leftovers" ]] || fail "$name: partial or temporary files left: $leftovers"
  for f in $(find "$out" -name '*.png' 2>/dev/null); do
    python3 -c "import sys,zlib; d=open(sys.argv[1],'rb').read(); assert d[:8]==b'\x89PNG\r\n\x1a\n' and d[-12:-4]==b'\x00\x00\x00\x00IEND'" "$f" \
      || fail "$name: $f is a partial PNG"
  done
  [[ $(grep -c "LVEF\|image not acceptable\|EF withheld" "$stdout") -ge 3 ]] \
    || fail "$name: not every study of the batch was reported: $(cat "$stdout")"
  (cd "$work/in" && sha256sum -c --quiet "$work/inputs.sha256") || fail "$name: an input changed"
  echo "ok: $name: $(grep -m1 -o "writing '[^']*': [^;]*" "$err" || head -c 200 "$err")"
}

# 1. A file-size limit (ulimit -f: 8 kB): every PNG is larger, so every overlay write fails (EFBIG).
out="$work/out-ulimit"; mkdir -p "$out"
(ulimit -f 8; exec "$echoa" analyze --overlay "$out" "${inputs[@]}") >"$work/ulimit.out" 2>"$work/ulimit.err"
check_failure "ulimit -f" "$out" $? "$work/ulimit.err" "$work/ulimit.out"

# 2. A full file system: a 16 kB tmpfs in a private mount namespace.
if unshare -rm true 2>/dev/null; then
  out="$work/out-tmpfs"; mkdir -p "$out"
  unshare -rm bash -c 'mount -t tmpfs -o size=16k tmpfs "$1" && shift && exec "$@"' _ "$out" \
    "$echoa" analyze --overlay "$out" "${inputs[@]}" >"$work/tmpfs.out" 2>"$work/tmpfs.err"
  code=$?
  # The tmpfs is gone with the namespace: what was left in it cannot be inspected afterwards, so the
  # leftover check runs inside a second namespace with the same mount (see below).
  check_failure "full tmpfs" "$out" $code "$work/tmpfs.err" "$work/tmpfs.out"
  unshare -rm bash -c 'mount -t tmpfs -o size=16k tmpfs "$1" && "${@:2}" >/dev/null 2>&1; find "$1" -type f | sort' _ "$out" \
    "$echoa" analyze --overlay "$out" "${inputs[@]}" > "$work/tmpfs.files"
  while read -r f; do
    case "$f" in *.tmp-*|*/.*) fail "full tmpfs: temporary file left: $f" ;; esac
  done < "$work/tmpfs.files"

  # 3. A read-only folder (read-only bind mount), and 4. a batch where only study2's folder is read-only:
  # studies 1 and 3 get their overlays.
  out="$work/out-ro"; mkdir -p "$out"
  unshare -rm bash -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' _ "$out" \
    "$echoa" analyze --overlay "$out" "${inputs[@]}" >"$work/ro.out" 2>"$work/ro.err"
  check_failure "read-only folder" "$out" $? "$work/ro.err" "$work/ro.out"

  out="$work/out-batch"; mkdir -p "$out/study2"
  unshare -rm bash -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' _ "$out/study2" \
    "$echoa" analyze --overlay "$out" "${inputs[@]}" >"$work/batch.out" 2>"$work/batch.err"
  code=$?
  [[ $code == 2 ]] || fail "batch: exit $code, expected 2"
  for s in study1 study3; do
    [[ -s "$out/$s/ed.png" || -s "$out/$s/volume_curve.png" ]] || fail "batch: $s has no overlays"
  done
  [[ -z "$(ls -A "$out/study2")" ]] || fail "batch: study2's read-only folder is not empty"
  grep -q "study2" "$work/batch.err" || fail "batch: the error does not name study2"
  [[ $(grep -c "LVEF\|image not acceptable\|EF withheld" "$work/batch.out") -ge 3 ]] || fail "batch: not every study reported"
  echo "ok: batch: study1 and study3 written, study2 refused"
else
  echo "SKIPPED: full tmpfs and read-only folder (no user/mount namespace here: unshare -rm failed)"
fi

echo "failing disk: $failures failure(s)"
exit $(( failures > 0 ))
