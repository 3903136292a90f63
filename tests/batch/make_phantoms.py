#!/usr/bin/env python3
"""Makes the archive-batch tests' phantom studies once per build tree: make_phantoms.py ECHOA OUT_DIR [COUNT].

COUNT (default 40) short, small apical cines from `echoa synth`, one in four with an artefact that the quality
gate should refuse, in a two-level tree (site/NN.dcm) like an archive. Only the .dcm files are kept.
"""
import os
import shutil
import subprocess
import sys

ARTEFACTS = ("blur", "overgain", "undergain", "lowcontrast", "motion", "foreshortened", "offaxis", "doppler",
             "outside", "partial")


def synth_args(index):
    seed = 101 + index
    args = ["--view", "a4c" if index % 3 else "a2c", "--ef", str(20 + (index * 7) % 55), "--hr",
            str(70 + (index * 11) % 50), "--seed", str(seed), "--size", "192x144", "--fps", "30", "--beats", "2"]
    if index % 4 == 3:
        args += ["--artifact", ARTEFACTS[(index // 4) % len(ARTEFACTS)]]
    return args


def main():
    echoa, out_dir = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    marker = os.path.join(out_dir, ".complete-%d" % count)
    if os.path.exists(marker):
        return 0
    shutil.rmtree(out_dir, ignore_errors=True)
    for index in range(count):
        folder = os.path.join(out_dir, "site%d" % (index % 2))
        os.makedirs(folder, exist_ok=True)
        out = os.path.join(folder, "%04d.dcm" % index)
        run = subprocess.run([echoa, "synth"] + synth_args(index) + ["--out", out], capture_output=True, text=True)
        if run.returncode != 0:
            sys.stderr.write("echoa synth %s failed:\n%s%s" % (" ".join(synth_args(index)), run.stdout, run.stderr))
            return 1
        for side in (out + ".truth.json", out + ".lv_masks.npy", out[:-4] + ".truth.json",
                     out[:-4] + ".lv_masks.npy"):
            if os.path.exists(side):
                os.remove(side)
    open(marker, "w").close()
    print("%d phantoms in %s" % (count, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
