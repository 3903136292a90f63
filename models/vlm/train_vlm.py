#!/usr/bin/python3
"""Trains the VLM on keyframe shards (make_dataset.py) and exports it (export_vlm.py).

  /usr/bin/python3 models/vlm/train_vlm.py --data /tmp/vlm_data/train_a,/tmp/vlm_data/train_b --out models/vlm \
      --seed 1 --steps 240

Each sample is trained in both languages: the prompt of the language, then the answer written from the
ground truth ("LVEF约为52%" from the beat's EF, or "图像不合格,原因:..." from its artefacts). Loss: cross
entropy on the answer tokens, where the EF number token gets a Gaussian soft target over the number tokens
(sigma 1.5 points: being 2 points off costs less than being 20 off), plus two auxiliary heads on the
pooled visual features (EF regression on clean samples, artefact multi-label) that only shape the encoder.
Each sample also carries its keyframes' timing (vlm_data.timing_features); --timing-dropout of them train
with it unknown. Reproducible for a seed (fixed shuffles, deterministic CPU kernels, one thread by default).
"""
import argparse
import glob
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import export_vlm
import vlm_augment
import vlm_text

EF_SIGMA_POINTS = 1.5


def load_shards(folders):
    paths = []
    for folder in folders.split(","):
        paths += sorted(glob.glob(os.path.join(folder, "shard_*.npz")))
    parts = [np.load(p) for p in paths]
    if not parts:
        raise SystemExit("no shard_*.npz in %s: run make_dataset.py first" % folders)
    frames = np.concatenate([p["frames"] for p in parts])
    ef = np.concatenate([p["ef"] for p in parts]).astype(np.float32)
    codes = np.concatenate([p["codes"] for p in parts]).astype(np.float32)
    if any("timing" not in p for p in parts):
        raise SystemExit("shards without 'timing' (made before the timing input): run make_dataset.py again")
    timing = np.concatenate([p["timing"] for p in parts]).astype(np.float32)
    labels = None
    if any("labels" in p for p in parts):  # chamber label maps (make_dataset.py --labels); zeros where absent
        labels = torch.from_numpy(np.concatenate([p["labels"] if "labels" in p else np.zeros(p["frames"].shape, np.uint8)
                                                  for p in parts]))
    return torch.from_numpy(frames), torch.from_numpy(ef), torch.from_numpy(codes), torch.from_numpy(timing), labels


class TextBuilder:
    """Token ids and targets of (prompt, answer) pairs for a batch, padded at the end."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.prompts = {lang: tokenizer.encode(vlm_text.PROMPTS[lang]) + [tokenizer.answer_id]
                        for lang in ("zh", "en")}
        self.number_ids = torch.tensor(tokenizer.number_token_ids())
        self.number_values = torch.arange(101, dtype=torch.float32)

    def answer_ids(self, ef, codes, language):
        active = [vlm_text.REJECTION_ORDER[i] for i in range(len(codes)) if codes[i] > 0.5]
        text = vlm_text.rejection_answer(active, language) if active else vlm_text.ef_answer(ef, language)
        ids = self.tok.encode(text)
        if self.tok.decode(ids) != text:
            raise RuntimeError("tokenizer does not round-trip %r" % text)
        return ids, (None if active else ids.index(self.tok.index[str(int(round(min(max(ef, 0), 100))))]))

    def batch(self, efs, codes, language, vocab_size):
        prompt = self.prompts[language]
        rows, number_positions = [], []
        for ef, c in zip(efs.tolist(), codes.tolist()):
            ids, number_at = self.answer_ids(ef, c, language)
            rows.append(ids + [self.tok.eos_id])
            number_positions.append(number_at)
        length = max(len(r) for r in rows)
        b = len(rows)
        inputs = torch.full((b, len(prompt) + length - 1), self.tok.pad_id, dtype=torch.long)
        targets = torch.zeros(b, length, vocab_size)
        weights = torch.zeros(b, length)
        for i, row in enumerate(rows):
            sequence = prompt + row[:-1]
            inputs[i, :len(sequence)] = torch.tensor(sequence)
            for j, token in enumerate(row):
                targets[i, j, token] = 1.0
                weights[i, j] = 1.0
            if number_positions[i] is not None:
                j = number_positions[i]
                soft = torch.exp(-0.5 * ((self.number_values - float(efs[i])) / EF_SIGMA_POINTS) ** 2)
                targets[i, j].zero_()
                targets[i, j, self.number_ids] = soft / soft.sum()
        # logits at position (len(prompt) - 1 + j) predict answer token j
        return inputs, targets, weights, len(prompt) - 1


def shift_augment(frames, generator, max_shift):
    if max_shift <= 0:
        return frames
    out = torch.empty_like(frames)
    shifts = torch.randint(-max_shift, max_shift + 1, (frames.shape[0], 2), generator=generator)
    for i in range(frames.shape[0]):
        out[i] = torch.roll(frames[i], shifts=(int(shifts[i, 0]), int(shifts[i, 1])), dims=(1, 2))
    return out


def drop_timing(timing, generator, share):
    """A share of the samples trains with the timing unknown (all zeros), so that a caller that cannot say
    where its keyframes come from (VlmModel::answer without timing) still gets an answer from the pixels."""
    if share <= 0:
        return timing
    keep = (torch.rand(timing.shape[0], generator=generator) >= share).float().unsqueeze(1)
    return timing * keep


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder(s) of shard_*.npz from make_dataset.py, comma-separated")
    parser.add_argument("--out", required=True, help="folder for vlm_fp32.pt, vlm_int8.pt, vlm.json")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=240, help="optimizer steps (batches) in all")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; 1 by default: on a shared, oversubscribed CPU two threads spin at "
                             "barriers and took 2.5x longer per batch (docs/vlm.md)")
    parser.add_argument("--timing-dropout", type=float, default=0.1,
                        help="share of samples trained with the timing input unknown (zeros)")
    parser.add_argument("--appearance", type=float, default=0.0,
                        help="probability of each appearance transform of vlm_augment.py (0: none, the shipped model's "
                             "recipe; 0.5 was tried, docs/vlm.md)")
    parser.add_argument("--appearance-ranges", choices=sorted(vlm_augment.RANGES), default="narrow",
                        help="vlm_augment.RANGES: zoom and gain bounds")
    parser.add_argument("--label-fraction", type=float, default=0.0,
                        help="share of the clean samples with label maps redrawn from them (vlm_augment.redraw_from_labels)")
    parser.add_argument("--checkpoint", help="where to keep the training checkpoint (default: DATA/vlm_checkpoint.pt)")
    parser.add_argument("--init", help="a checkpoint to fine-tune from (a site's own data)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    frames, ef, codes, timing, label_maps = load_shards(args.data)
    count = frames.shape[0]
    clean = codes.sum(dim=1) == 0
    print("samples %d (clean %d, artefact %d)" % (count, int(clean.sum()), int((~clean).sum())), flush=True)

    config = dict(export_vlm.DEFAULT_CONFIG)
    metas = [json.load(open(os.path.join(d, "dataset.json"))) for d in args.data.split(",")
             if os.path.exists(os.path.join(d, "dataset.json"))]
    meta = dict(metas[0]) if metas else {}
    if metas:
        meta["description"] = "; ".join(m["description"] for m in metas)
    config["input_size"] = int(frames.shape[-1])
    config["keyframes"] = int(frames.shape[1])
    config["mean"], config["std"] = meta.get("mean", 0.0), meta.get("std", 1.0)
    if (args.appearance > 0 or args.label_fraction > 0) and (config["mean"], config["std"]) != (0.0, 1.0):
        raise SystemExit("--appearance and --label-fraction need frames as v/255 (dataset mean 0, std 1)")
    tokenizer = vlm_text.Tokenizer(vlm_text.build_vocabulary())
    vocab_size = len(tokenizer.pieces)
    model = export_vlm.build_model(config, vocab_size)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu")["model"])
    builder = TextBuilder(tokenizer)

    total_steps = args.steps
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps,
                                                   pct_start=0.1)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.time()
    step = 0
    epochs_done = 0
    epoch = 0
    while step < total_steps:
        model.train()
        order = torch.randperm(count, generator=generator)
        totals = {"text": 0.0, "ef": 0.0, "art": 0.0, "n": 0}
        for first in range(0, count, args.batch):
            if step >= total_steps:
                break
            index = order[first:first + args.batch]
            x = frames[index].float()
            if args.appearance > 0 or args.label_fraction > 0:
                x = vlm_augment.appearance_augment(x, codes[index], generator, args.appearance,
                                                   args.appearance_ranges,
                                                   None if label_maps is None else label_maps[index],
                                                   args.label_fraction)
            x = shift_augment(x, generator, 3)
            t = drop_timing(timing[index], generator, args.timing_dropout)
            loss_text = 0.0
            language = "zh" if (step % 2 == 0) else "en"
            ids, targets, weights, offset = builder.batch(ef[index], codes[index], language, vocab_size)
            logits, ef_pred, art_logits = model(x, t, ids, offset)
            answer_logits = logits[:, :targets.shape[1]]
            log_p = F.log_softmax(answer_logits, dim=-1)
            loss_text = -((targets * log_p).sum(-1) * weights).sum() / weights.sum()
            is_clean = (codes[index].sum(dim=1) == 0).float()
            loss_ef = (F.smooth_l1_loss(ef_pred, ef[index] / 100.0, reduction="none", beta=0.05) * is_clean).sum() \
                / is_clean.sum().clamp(min=1.0)
            loss_art = F.binary_cross_entropy_with_logits(art_logits, codes[index])
            loss = loss_text + 2.0 * loss_ef + 0.5 * loss_art
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            totals["text"] += float(loss_text) * len(index)
            totals["ef"] += float(loss_ef) * len(index)
            totals["art"] += float(loss_art) * len(index)
            totals["n"] += len(index)
        elapsed = (time.time() - start) / 60.0
        print("epoch %d (step %d/%d)  text %.4f  ef %.4f  art %.4f  lr %.2e  %.1f min" % (
            epoch, step, total_steps, totals["text"] / totals["n"], totals["ef"] / totals["n"],
            totals["art"] / totals["n"], schedule.get_last_lr()[0], elapsed), flush=True)
        epoch += 1
        epochs_done = epoch

    training = {
        "data": meta.get("description", "keyframe shards of %s" % args.data),
        "samples": int(count), "clean_samples": int(clean.sum()), "seed": args.seed, "epochs": epochs_done, "steps": step,
        "batch": args.batch, "lr": args.lr, "threads": args.threads, "timing_dropout": args.timing_dropout,
        "appearance": args.appearance, "appearance_ranges": args.appearance_ranges,
        "label_fraction": args.label_fraction,
        "minutes": round((time.time() - start) / 60.0, 1),
        "recipe": "models/vlm/make_dataset.py + models/vlm/train_vlm.py (see docs/vlm.md)",
    }
    os.makedirs(args.out, exist_ok=True)
    checkpoint = args.checkpoint or os.path.join(args.data.split(",")[0], "vlm_checkpoint.pt")
    torch.save({"config": config, "model": model.state_dict(), "training": training,
                "description": "echo VLM reference: CNN over 4 keyframes + 2-layer causal decoder, trained on "
                               "synthetic phantoms only (not validated on patients)"}, checkpoint)
    export_vlm.export(model.eval(), config, args.out,
                      "echo VLM reference: CNN over %d keyframes + %d-layer causal decoder, trained on synthetic "
                      "phantoms only (not validated on patients)" % (config["keyframes"], config["layers"]),
                      training)
    print("exported to %s" % args.out, flush=True)


if __name__ == "__main__":
    main()
