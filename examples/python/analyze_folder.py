#!/usr/bin/env python3
"""Example: analyse every study in a folder with the echoanalyzer Python bindings.

    analyze_folder.py DIR [--json] [--overlays OUT_DIR]

Prints one line per study (EF, or why it was refused), or with --json one JSON object per line with the
EF at full precision. Exit status: 0 every study gave an EF, 1 at least one was refused by the quality
gate, 2 at least one could not be read. Results are second opinions that a clinician must confirm.
"""
import argparse
import json
import os
import sys

import numpy as np

try:
    import echoanalyzer as ea
except ImportError:  # running from the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))
    import echoanalyzer as ea

STUDY_SUFFIXES = (".dcm", ".dicom", ".avi", ".mp4")


def write_ppm(path, rgb):
    with open(path, "wb") as out:
        out.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
        out.write(np.ascontiguousarray(rgb).tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--json", action="store_true", help="one JSON object per study")
    parser.add_argument("--overlays", help="write <study>_ed.ppm and <study>_curve.ppm here")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    model = ea.Model(threads=args.threads)
    studies = sorted(f for f in os.listdir(args.folder) if f.lower().endswith(STUDY_SUFFIXES))
    worst = 0
    for name in studies:
        path = os.path.join(args.folder, name)
        try:
            result = model.analyze_file(path)
        except ea.EchoError as error:
            worst = 2
            print(json.dumps({"file": name, "error": error.status_name, "message": error.message})
                  if args.json else "%s: error: %s" % (name, error))
            continue
        if result.ef_percent is None:
            worst = max(worst, 1)
        if args.json:
            print(json.dumps({"file": name, "ef_percent": result.ef_percent, "quality_pass": result.quality_pass,
                              "reasons": [r.code for r in result.reasons if r.severity == "reject"],
                              "view": result.view, "edv_ml": result.edv_ml, "esv_ml": result.esv_ml}))
        elif result.ef_percent is not None:
            print("%s: EF %.1f%% (%s), %d beats, view %s" % (name, result.ef_percent,
                                                            result.classification.label_en if result.classification
                                                            else "", len(result.beats), result.view))
        else:
            print("%s: %s" % (name, result.text_en))
        if args.overlays and result.ed is not None:
            os.makedirs(args.overlays, exist_ok=True)
            stem = os.path.splitext(name)[0]
            write_ppm(os.path.join(args.overlays, stem + "_ed.ppm"), result.render("ed"))
            write_ppm(os.path.join(args.overlays, stem + "_curve.ppm"), result.render("volume_curve"))
    return worst


if __name__ == "__main__":
    sys.exit(main())
