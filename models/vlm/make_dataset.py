#!/usr/bin/python3
"""Builds keyframe shards for the VLM from the project's phantom generator (echoa synth), or from a folder of
cases in the phantom layout (a site's own labelled studies).

  /usr/bin/python3 models/vlm/make_dataset.py --echoa build/tools/echoa/echoa --out /tmp/vlm_data/train \
      --count 1200 --seed 1000 --artifact-rate 0.5
  /usr/bin/python3 models/vlm/make_dataset.py --from-folder SITE_CASES --out /tmp/vlm_data/site

The phantoms are generated in chunks (each chunk its own dataset seed and image size, raw frames deleted once
their keyframes are cropped), so the disk never holds more than one chunk. Each complete beat of a case is
one sample (K keyframes from ED to ES); --first-beat-only keeps one sample per case (evaluation).
Shards: shard_NNN.npz with frames float16 [N,K,S,S] (model input, normalised), ef float32 [N],
codes uint8 [N,10] (multi-hot in vlm_text.REJECTION_ORDER), timing float32 [N,K+2] (vlm_data.timing_features:
where the keyframes sit in their loop), keyframe_indices int32 [N,K] and loop_frames int32 [N] (what
the C++ runtime is given to compute the same timing), case int32 [N] (global case number).
--force-artifact NAME gives every case that artefact (with --artifact-rate 0: that artefact only), to balance
artefacts that the random draw leaves rare.
"""
import argparse
import json
import os
import shutil
import subprocess
import time

import numpy as np

import vlm_data

SIZES = ["256x192", "320x240"]


def write_shard(out, number, samples, cases):
    frames = np.stack([s[0] for s in samples]).astype(np.float16)
    ef = np.array([s[1] for s in samples], np.float32)
    codes = np.stack([vlm_data.codes_to_multi_hot(s[2]) for s in samples])
    timing = np.stack([s[3] for s in samples]).astype(np.float32)
    extra = {}
    if any(s[6] is not None for s in samples):  # chamber label maps of the keyframes (--labels)
        # all zeros where a sample has none (train_vlm.py reads an all-zero map as absent)
        extra["labels"] = np.stack([s[6] if s[6] is not None else np.zeros(s[0].shape, np.uint8) for s in samples])
    np.savez(os.path.join(out, "shard_%03d.npz" % number), frames=frames, ef=ef, codes=codes, timing=timing,
             keyframe_indices=np.array([s[4] for s in samples], np.int32),
             loop_frames=np.array([s[5] for s in samples], np.int32), case=np.array(cases, np.int32), **extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--echoa", help="the echoa binary (phantoms are generated with echoa synth --dataset)")
    parser.add_argument("--from-folder", help="cases already in the phantom layout (no generation)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--artifact-rate", type=float, default=0.5)
    parser.add_argument("--beats", type=int, default=2)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--force-artifact", action="append", default=[],
                        help="an artefact every case gets (echoa synth --artifact; repeatable)")
    parser.add_argument("--sizes", default=",".join(SIZES), help="image sizes, one per chunk in turn")
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--keyframes", type=int, default=4)
    parser.add_argument("--mean", type=float, default=0.0)
    parser.add_argument("--std", type=float, default=1.0)
    parser.add_argument("--first-beat-only", action="store_true")
    parser.add_argument("--fallback-keyframes", action="store_true",
                        help="one sample per case with the analyzer's keyframes when it measured no beat (largest "
                             "and smallest LV of the whole loop), whatever the case's beats")
    parser.add_argument("--labels", action="store_true",
                        help="also store the keyframes' chamber label maps (train_vlm.py --label-fraction)")
    parser.add_argument("--keep-cases", action="store_true", help="keep the generated frames and truth files")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    shard = 0
    total_samples = 0
    artefact_counts = {}

    def process(folder, first_case):
        nonlocal shard, total_samples
        samples, cases = [], []
        for n, stem in enumerate(vlm_data.case_stems(folder)):
            case_samples, truth = vlm_data.load_case(stem, args.input_size, args.keyframes, args.mean, args.std,
                                                     all_beats=not args.first_beat_only,
                                                     fallback_only=args.fallback_keyframes,
                                                     with_labels=args.labels)
            for name in truth.get("artifacts", []) or ["none"]:
                artefact_counts[str(name)] = artefact_counts.get(str(name), 0) + 1
            samples += case_samples
            cases += [first_case + n] * len(case_samples)
        if samples:
            write_shard(args.out, shard, samples, cases)
            shard += 1
            total_samples += len(samples)
        return len(vlm_data.case_stems(folder))

    if args.from_folder:
        process(args.from_folder, 0)
        description = "cases of %s" % args.from_folder
    else:
        if not args.echoa:
            raise SystemExit("--echoa or --from-folder is required")
        sizes = args.sizes.split(",")
        done = 0
        chunk_number = 0
        while done < args.count:
            count = min(args.chunk, args.count - done)
            folder = os.path.join(args.out, "cases_%03d" % chunk_number)
            command = [args.echoa, "synth", "--dataset", folder, "--count", str(count),
                       "--seed", str(args.seed + chunk_number), "--artifact-rate", str(args.artifact_rate),
                       "--beats", str(args.beats), "--fps", str(args.fps), "--size", sizes[chunk_number % len(sizes)],
                       "--format", "dicom-raw"]
            for name in args.force_artifact:
                command += ["--artifact", name]
            if args.labels:
                command.append("--labels")
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            process(folder, done)
            if not args.keep_cases:
                shutil.rmtree(folder)
            done += count
            chunk_number += 1
            print("%d/%d cases, %d samples, %.1f min" % (done, args.count, total_samples,
                                                         (time.time() - started) / 60), flush=True)
        description = ("%d phantoms of echoa synth --dataset (seeds %d.., artifact rate %.2f%s, %d beats at %g fps, "
                       "sizes %s), %s" % (args.count, args.seed, args.artifact_rate,
                                          "".join(", every case %s" % a for a in args.force_artifact), args.beats,
                                          args.fps, args.sizes,
                                          "the analyzer's no-beat keyframes of each" if args.fallback_keyframes
                                          else "first beat of each" if args.first_beat_only else "every complete beat"))
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump({"description": description, "samples": total_samples, "mean": args.mean, "std": args.std,
                   "input_size": args.input_size, "keyframes": args.keyframes, "artefacts": artefact_counts,
                   "minutes": round((time.time() - started) / 60, 1)}, f, indent=1)
    print("wrote %d samples in %d shards to %s" % (total_samples, shard, args.out))


if __name__ == "__main__":
    main()
