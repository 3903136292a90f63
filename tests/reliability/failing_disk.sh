#!/usr/bin/env bash
# Failing disk (docs/reliability.md): every output of `echoa analyze` (--overlay, --html, --dicom-out), of
# `echoa validate --out` and of `echoa synth` (DICOM, AVI, MP4 with their truth files), written to a full
# file system (a 16 kB tmpfs, and `ulimit -f`) and to a read-only folder, must give a clear error naming the
# file and the system's reason, exit non-zero, leave no partial or temporary file, leave the inputs untouched,
# and (analyze) still complete the other studies of the batch.
#   failing_disk.sh ECHOA WORK_DIR
# tmpfs and read-only mounts need a user + mount namespace (unshare -rm); where the kernel refuses one, those
# cases are skipped with a message (the ulimit cases always run).
set -uo pipefail
echoa="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work/in"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
reasons="File too large\|No space left on device\|Read-only file system"

for i in 1 2 3; do
  "$echoa" synth --view a4c --ef $((40 + 10 * i)) --seed $i --size 160x120 --frames 40 --fps 40 \
    --out "$work/in/study$i.dcm" >/dev/null || { echo "synth failed"; exit 1; }
done
printf 'FileName,EF\nstudy1,50\nstudy2,60\nstudy3,70\n' > "$work/reference.csv"
(cd "$work" && sha256sum in/study*.dcm reference.csv) > "$work/inputs.sha256"

# The command of each output, writing into $1.
run_output() {
  local output="$1" out="$2"
  case "$output" in
    validate) "$echoa" validate --quiet --table "$work/reference.csv" --out "$out" "$work/in" ;;
    synth-*) local format="${output#synth-}"
             "$echoa" synth --view a4c --ef 50 --seed 4 --size 160x120 --frames 40 --fps 40 --format "$format" \
               --out "$out/case.${format/dicom/dcm}" ;;
    *) "$echoa" analyze "--$output" "$out" "$work/in/study1.dcm" "$work/in/study2.dcm" "$work/in/study3.dcm" ;;
  esac
}
export -f run_output; export echoa work

# A DICOM object is whole when it parses and holds all its pixel data (uncompressed) or its SR content.
dicom_whole='
import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
if "PixelData" in d:
    frames = int(d.get("NumberOfFrames", 1) or 1)
    assert len(d.PixelData) >= d.Rows * d.Columns * d.SamplesPerPixel * frames * (d.BitsAllocated // 8)
else:
    assert len(d.ContentSequence) > 0
'

# Whole files only: PNGs end with IEND, DICOM objects parse completely, JSON parses, the review page closes.
check_whole_files() {
  local name="$1" dir="$2" f
  while IFS= read -r f; do
    case "$f" in
      *.png) /usr/bin/python3 -c "import sys; d=open(sys.argv[1],'rb').read(); assert d[:8]==b'\x89PNG\r\n\x1a\n' and d[-12:-4]==b'\x00\x00\x00\x00IEND'" "$f" ;;
      *.dcm) /usr/bin/python3 -c "$dicom_whole" "$f" 2>/dev/null ;;
      *.json) /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$f" ;;
      *.html) tail -c 64 "$f" | grep -q "</html>" ;;
      *.csv) [[ -z "$(tail -c 1 "$f")" ]] ;;  # ends at a complete row
      *) true ;;
    esac || fail "$name: $f is a partial file"
  done < <(find "$dir" -type f 2>/dev/null)
}

# check_failure NAME OUTPUT OUT_DIR EXIT STDOUT STDERR: the error, the exit status, what is left, the inputs.
check_failure() {
  local name="$1" output="$2" out="$3" code="$4" stdout="$5" err="$6" before=$failures
  [[ "$code" != 0 && "$code" -lt 128 ]] || fail "$name: exit $code, expected an error status (not 0, not a signal)"
  grep -q "'$out/[^']*'" "$err" || fail "$name: the error does not name a file under $out: $(head -c 300 "$err")"
  grep -q "$reasons" "$err" || fail "$name: the error does not give the system's reason: $(head -c 300 "$err")"
  local leftovers
  leftovers=$(find "$out" -type f \( -name '*.tmp*' -o -name '.*' -o -name '*.partial' -o -size 0 \) 2>/dev/null | head -5)
  [[ -z "$leftovers" ]] || fail "$name: partial or temporary files left: $leftovers"
  check_whole_files "$name" "$out"
  case "$output" in
    html | dicom-out | synth-*)  # each set (page + result, SR + images, loop + truth) is too large: none is left
      [[ -z "$(find "$out" -type f 2>/dev/null)" ]] || fail "$name: files of a failed set left: $(find "$out" -type f | head -5)" ;;
    validate)  # the table, if written, lists every clip; the summary (written last) is absent
      [[ ! -e "$out/summary.json" ]] || fail "$name: summary.json written by a failed run"
      if [[ -e "$out/per_clip.csv" ]]; then
        [[ $(grep -c "^[0-9]*,study" "$out/per_clip.csv") == 3 ]] || fail "$name: per_clip.csv lacks clips: $(cat "$out/per_clip.csv")"
      fi ;;
  esac
  if [[ "$output" != validate && "$output" != synth-* ]]; then
    [[ $(grep -c "LVEF\|image not acceptable\|EF withheld" "$stdout") -ge 3 ]] \
      || fail "$name: not every study of the batch was reported: $(cat "$stdout")"
  fi
  (cd "$work" && sha256sum -c --quiet inputs.sha256) || fail "$name: an input changed"
  [[ $failures == "$before" ]] && echo "ok: $name: exit $code: $(grep -m1 -o "'$out/[^']*'[^;]*" "$err" | head -c 240)"
}

namespaces=1
unshare -rm true 2>/dev/null || { namespaces=0; echo "SKIPPED: full tmpfs and read-only folder (no user/mount namespace here: unshare -rm failed)"; }

for output in overlay html dicom-out validate synth-dicom synth-avi synth-mp4; do
  # 1. A file-size limit (ulimit -f: 8 kB): the pictures, the review page and the DICOM images are larger.
  out="$work/$output-ulimit"; mkdir -p "$out"
  (ulimit -f 8; run_output "$output" "$out") >"$out.stdout" 2>"$out.stderr"
  check_failure "$output, ulimit -f" "$output" "$out" $? "$out.stdout" "$out.stderr"
  [[ $namespaces == 1 ]] || continue

  # 2. A full file system: a 16 kB tmpfs in a private mount namespace. It is gone with the namespace, so what
  # was left in it is copied out (hidden files included) before the namespace ends.
  out="$work/$output-tmpfs"; mkdir -p "$out" "$out.left"
  unshare -rm bash -c 'mount -t tmpfs -o size=16k tmpfs "$2" || exit 99; run_output "$1" "$2"; code=$?
                       cp -a "$2/." "$3/"; exit $code' _ "$output" "$out" "$out.left" >"$out.stdout" 2>"$out.stderr"
  code=$?
  sed -i "s|'$out/|'$out.left/|g" "$out.stderr"  # the files named are now looked at in the copy
  check_failure "$output, full tmpfs" "$output" "$out.left" $code "$out.stdout" "$out.stderr"

  # 3. A read-only folder (read-only bind mount).
  out="$work/$output-ro"; mkdir -p "$out"
  unshare -rm bash -c 'mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" || exit 99; run_output "$1" "$2"' \
    _ "$output" "$out" >"$out.stdout" 2>"$out.stderr"
  check_failure "$output, read-only folder" "$output" "$out" $? "$out.stdout" "$out.stderr"

  # 4. A batch where only study2's folder is read-only: studies 1 and 3 get their outputs.
  [[ $output == validate || $output == synth-* ]] && continue  # one output, no batch: cases 1-3 cover it
  out="$work/$output-batch"; mkdir -p "$out/study2"
  unshare -rm bash -c 'mount --bind "$2/study2" "$2/study2" && mount -o remount,bind,ro "$2/study2" || exit 99
                       run_output "$1" "$2"' _ "$output" "$out" >"$out.stdout" 2>"$out.stderr"
  code=$?
  name="$output, batch"; before=$failures
  [[ $code == 2 ]] || fail "$name: exit $code, expected 2"
  for s in study1 study3; do
    [[ -n "$(find "$out/$s" -type f -size +0 2>/dev/null)" ]] || fail "$name: $s has no outputs"
  done
  check_whole_files "$name" "$out"
  [[ -z "$(find "$out" -type f \( -name '*.tmp*' -o -name '.*' -o -name '*.partial' \))" ]] || fail "$name: temporary files left"
  [[ -z "$(ls -A "$out/study2")" ]] || fail "$name: study2's read-only folder is not empty"
  grep -q "study2.*$reasons" "$out.stderr" || fail "$name: the error does not name study2 and the reason: $(head -c 300 "$out.stderr")"
  [[ $(grep -c "LVEF\|image not acceptable\|EF withheld" "$out.stdout") -ge 3 ]] || fail "$name: not every study reported"
  (cd "$work" && sha256sum -c --quiet inputs.sha256) || fail "$name: an input changed"
  [[ $failures == "$before" ]] && echo "ok: $name: study1 and study3 written ($(find "$out/study1" -type f | wc -l) files each), study2 refused"
done

echo "failing disk: $failures failure(s)"
exit $(( failures > 0 ))
