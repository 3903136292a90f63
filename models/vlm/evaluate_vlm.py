#!/usr/bin/python3
"""Evaluates the shipped VLM on unseen phantoms with the C++ runtime (vlm_eval) and prints the metrics.

  /usr/bin/python3 models/vlm/evaluate_vlm.py --data /tmp/vlm_data/eval --vlm-eval build-vlm/benchmarks/vlm_eval \
      --model models/vlm/vlm.json [--json-out models/vlm/evaluation.json]

Data: shards of make_dataset.py --first-beat-only (one beat per case) from a dataset seed never used for
training. For each language the C++ runtime answers every case (INT8, greedy, repetition penalty 1.2) and
its grammar parses the answer. Metrics:
  EF MAE        clean cases answered with an EF: |VLM EF - ground-truth EF of that beat|
  EF answered   share of clean cases whose answer parses as an EF (goal >= 95%)
  rejection hit share of artefact cases whose answer is a rejection naming the artefact's code (goal >= 90%)
  unreadable    answers the grammar refuses
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile

import numpy as np

import vlm_text


def load_eval(folder):
    parts = [np.load(p) for p in sorted(glob.glob(os.path.join(folder, "shard_*.npz")))]
    frames = np.concatenate([p["frames"] for p in parts]).astype(np.float32)
    ef = np.concatenate([p["ef"] for p in parts])
    codes = np.concatenate([p["codes"] for p in parts])
    if all("keyframe_indices" in p for p in parts):
        timing = np.concatenate([np.concatenate([p["keyframe_indices"], p["loop_frames"][:, None]], axis=1)
                                 for p in parts]).astype(np.int32)
    else:
        timing = None
    return frames, ef, codes, timing


def run_cpp(vlm_eval, model, frames, timing, language, threads, precision="int8"):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keyframes.f32")
        frames.astype(np.float32).tofile(path)
        command = [vlm_eval, model, path, str(len(frames)), language, str(threads), precision]
        if timing is not None:
            timing_path = os.path.join(tmp, "timing.i32")
            timing.astype(np.int32).tofile(timing_path)
            command.append(timing_path)
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def metrics(answers, ef, codes):
    clean = codes.sum(axis=1) == 0
    result = {"cases": int(len(ef)), "clean_cases": int(clean.sum()), "artefact_cases": int((~clean).sum())}
    ef_errors, ef_answered = [], 0
    per_code = {}
    hits = 0
    unreadable = sum(1 for a in answers if a.get("kind") == "unreadable")
    for answer, true_ef, true_codes, is_clean in zip(answers, ef, codes, clean):
        if is_clean:
            if answer.get("kind") == "ef":
                ef_answered += 1
                ef_errors.append(abs(answer["ef_percent"] - float(true_ef)))
        else:
            names = [vlm_text.REJECTION_ORDER[i] for i in np.nonzero(true_codes)[0]]
            hit = answer.get("kind") == "rejection" and all(n in answer.get("codes", []) for n in names)
            hits += hit
            for n in names:
                entry = per_code.setdefault(n, {"cases": 0, "named": 0, "ef_answers": 0})
                entry["cases"] += 1
                entry["named"] += int(hit)
                entry["ef_answers"] += int(answer.get("kind") == "ef")
    result["ef_mae_points"] = round(float(np.mean(ef_errors)), 2) if ef_errors else None
    result["ef_within_10_points"] = round(float(np.mean(np.array(ef_errors) <= 10)), 3) if ef_errors else None
    result["ef_answered_share_of_clean"] = round(ef_answered / max(1, int(clean.sum())), 3)
    result["rejection_naming_the_artefact_share"] = round(hits / max(1, int((~clean).sum())), 3)
    result["unreadable"] = unreadable
    result["per_artefact"] = per_code
    ms = [a["decode_ms"] for a in answers if "decode_ms" in a]
    tokens = [a["new_tokens"] for a in answers if "new_tokens" in a]
    result["mean_decode_ms"] = round(float(np.mean(ms)), 1) if ms else None
    result["mean_new_tokens"] = round(float(np.mean(tokens)), 2) if tokens else None
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--vlm-eval", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out")
    parser.add_argument("--no-timing", action="store_true",
                        help="answer without the keyframes' timing (VlmModel::answer without VlmKeyframeTiming)")
    parser.add_argument("--fp32", action="store_true", help="the fp32 file instead of INT8")
    parser.add_argument("--bench-keyframes", help="also write the first clean case as raw float32 for bench_vlm")
    args = parser.parse_args()
    frames, ef, codes, timing = load_eval(args.data)
    if timing is None and not args.no_timing:
        raise SystemExit("the shards carry no keyframe timing: make them again with make_dataset.py, or pass --no-timing")
    if args.no_timing:
        timing = None
    meta_path = os.path.join(args.data, "dataset.json")
    report = {"data": json.load(open(meta_path))["description"] if os.path.exists(meta_path) else args.data,
              "model": os.path.basename(args.model),
              "runtime": "C++ VlmModel (%s, greedy, penalty 1.2, %s)" % (
                  "fp32" if args.fp32 else "INT8", "timing unknown" if timing is None else "with the keyframes' timing")}
    for language in ("zh", "en"):
        answers = run_cpp(args.vlm_eval, args.model, frames, timing, language, args.threads,
                          "fp32" if args.fp32 else "int8")
        report[language] = metrics(answers, ef, codes)
        examples = {}
        for a in answers:
            examples.setdefault(a.get("kind"), a.get("text"))
        report[language]["example_answers"] = examples
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=1)
            f.write("\n")
    if args.bench_keyframes:
        first_clean = int(np.nonzero(codes.sum(axis=1) == 0)[0][0])
        frames[first_clean].astype(np.float32).tofile(args.bench_keyframes)
        if timing is not None:  # its keyframe indices and loop frame count, beside it
            timing[first_clean].astype(np.int32).tofile(os.path.splitext(args.bench_keyframes)[0] + ".timing.i32")


if __name__ == "__main__":
    main()
