#!/usr/bin/python3
"""Exports a VlmNet to TorchScript (fp32 and INT8 with dynamically quantised Linear layers) and writes the
manifest vlm.json beside them (contract, shapes, normalisation, vocabulary, prompts, SHA-256 of each file).

  /usr/bin/python3 models/vlm/export_vlm.py --checkpoint vlm_checkpoint.pt --out models/vlm
  /usr/bin/python3 models/vlm/export_vlm.py --random-init --seed 0 --out DIR     (a model for runtime tests)
"""
import argparse
import hashlib
import json
import os

import torch

import vlm_data
import vlm_net
import vlm_text

CONTRACT = "echo.vlm"
# 2: encode() also takes the keyframes' timing in their loop (timing_features values, vlm_data.timing_features)
CONTRACT_VERSION = 2
QUANTIZED_ENGINE = "onednn"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def quantize(model):
    torch.backends.quantized.engine = QUANTIZED_ENGINE
    return torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def build_model(config, vocab_size):
    return vlm_net.VlmNet(vocab_size, keyframes=config["keyframes"], input_size=config["input_size"],
                          d_model=config["d_model"], heads=config["heads"], layers=config["layers"],
                          ffn=config["ffn"], max_positions=config["max_text_positions"])


DEFAULT_CONFIG = {"keyframes": 4, "input_size": 112, "d_model": 128, "heads": 4, "layers": 2, "ffn": 256,
                  "max_text_positions": 320, "mean": 0.0, "std": 1.0}


def export(model, config, out_dir, description, training, evaluation=None):
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval()
    files = {}
    fp32_path = os.path.join(out_dir, "vlm_fp32.pt")
    torch.jit.save(torch.jit.script(model), fp32_path)
    files["fp32"] = {"path": "vlm_fp32.pt", "sha256": sha256_of(fp32_path), "precision": "fp32"}
    int8_path = os.path.join(out_dir, "vlm_int8.pt")
    torch.jit.save(torch.jit.script(quantize(model)), int8_path)
    files["int8"] = {"path": "vlm_int8.pt", "sha256": sha256_of(int8_path), "precision": "int8",
                     "quantized_engine": QUANTIZED_ENGINE,
                     "quantization": "dynamic INT8 of every nn.Linear (decoder, projections, head); CNN in fp32"}
    pieces = vlm_text.build_vocabulary()
    tokenizer = vlm_text.Tokenizer(pieces)
    examples = [vlm_text.ef_answer(52, "zh"), vlm_text.ef_answer(7, "en"),
                vlm_text.rejection_answer(["blurred", "overgain"], "zh"),
                vlm_text.rejection_answer(["lv_cut_off", "non_apical_view"], "en")]
    manifest = {
        "contract": CONTRACT,
        "contract_version": CONTRACT_VERSION,
        "name": "echo-vlm-reference",
        "description": description,
        "input_size": config["input_size"],
        "keyframes": config["keyframes"],
        "keyframe_rule": "keyframes evenly spaced from ED to ES of one beat, rounded (echo::vlm_keyframe_indices); "
                         "without a complete beat the analyzer's ED = the last largest LV, ES = the first smallest",
        "timing_features": model.encoder.timing_features,
        "timing_input": "[1 (known), index / (N - 1) of each keyframe in the order given, |last - first| / (N - 1)], "
                        "N = frames in the loop (echo::vlm_timing_features); all zeros = timing unknown",
        "normalization": {"mean": config["mean"], "std": config["std"]},
        "input_contract": "echo/preprocess.hpp model input (square sector crop, outside-sector 0, float resize)",
        "visual_tokens": model.encoder.token_count,
        "max_text_positions": config["max_text_positions"],
        "architecture": {k: config[k] for k in ("d_model", "heads", "layers", "ffn")},
        "methods": {"encode": "(frames[1,K,S,S], timing[1,K+2]) -> visual[1,Nv,D]",
                    "prefill": "(visual, prompt_ids[1,P]) -> (logits[1,V], keys, values)",
                    "step": "(token[1], keys, values) -> (logits[1,V], keys, values); keys/values [L,1,H,T,Dh]",
                    "full_logits": "(visual, ids[1,T]) -> logits[1,V] (no cache)"},
        "files": files,
        "vocabulary": pieces,
        "stop_tokens": [vlm_text.EOS],
        "prompts": dict(vlm_text.PROMPTS),
        "prompt_token_ids": {k: tokenizer.encode(v) for k, v in vlm_text.PROMPTS.items()},
        "tokenizer_examples": {text: tokenizer.encode(text) for text in examples},
        "answer_prefixes": {"ef": dict(vlm_text.EF_PREFIX), "reject": dict(vlm_text.REJECT_PREFIX)},
        "rejection_phrases": {code: {"zh": zh, "en": en} for code, (zh, en) in vlm_text.REJECTION_PHRASES.items()},
        "decoding": {"greedy": True, "repetition_penalty": 1.2, "max_new_tokens": 120,
                     "penalty_scope": "generated tokens only"},
        "training": training,
        "validated_on_real_patients": False,
    }
    if evaluation is not None:
        manifest["evaluation"] = evaluation
    write_reference_answers(out_dir, config, tokenizer)
    with open(os.path.join(out_dir, "vlm.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return manifest


def pattern_keyframes(seed, config):
    """Deterministic test input that C++ rebuilds exactly: value = ((i * 7919 + seed * 104729) % 256) / 255."""
    k, s = config["keyframes"], config["input_size"]
    index = torch.arange(k * s * s, dtype=torch.int64)
    values = ((index * 7919 + seed * 104729) % 256).to(torch.float32) / 255.0
    return values.reshape(1, k, s, s)


def pattern_timing(seed, config):
    """The timing of the pattern cases: seed 0 unknown (zeros, VlmModel::answer without timing); otherwise
    keyframes from ED = seed + 1 to ES = 4 * seed + 5 in a loop of 10 * seed + 8 frames (seed 2 runs ED -> ES
    backwards, as the analyzer's fallback keyframes may). -> (indices or None, loop frames or None, tensor)."""
    k = config["keyframes"]
    if seed == 0:
        return None, None, torch.zeros(1, k + 2)
    ed, es, loop = seed + 1, 4 * seed + 5, 10 * seed + 8
    if seed == 2:
        ed, es = es, ed
    indices = vlm_data.keyframe_indices(ed, es, k)
    return indices, loop, torch.from_numpy(vlm_data.timing_features(indices, loop)).unsqueeze(0)


def write_reference_answers(out_dir, config, tokenizer):
    """What the Python reference loop answers for pattern inputs, per file, language and penalty; the C++
    runtime must give the same tokens (tests/vlm/test_vlm_model.cpp)."""
    cases = []
    for precision in ("fp32", "int8"):
        torch.backends.quantized.engine = QUANTIZED_ENGINE
        module = torch.jit.load(os.path.join(out_dir, "vlm_%s.pt" % precision))
        for seed in range(3):
            frames = pattern_keyframes(seed, config)
            indices, loop, timing = pattern_timing(seed, config)
            for language in ("zh", "en"):
                prompt = tokenizer.encode(vlm_text.PROMPTS[language]) + [tokenizer.answer_id]
                for penalty in (1.2, 1.0):
                    ids = vlm_net.greedy_decode(module, frames, timing, prompt, tokenizer.eos_id, 40, penalty)
                    cases.append({"precision": precision, "seed": seed, "language": language,
                                  "keyframe_indices": indices, "loop_frame_count": loop,
                                  "timing_features": [float(v) for v in timing[0]],
                                  "repetition_penalty": penalty, "max_new_tokens": 40, "token_ids": ids,
                                  "text": tokenizer.decode(ids)})
    with open(os.path.join(out_dir, "vlm_reference_answers.json"), "w", encoding="utf-8") as f:
        json.dump({"input": "pattern: value = ((i * 7919 + seed * 104729) % 256) / 255, i over K*S*S; timing: "
                            "keyframe_indices in a loop of loop_frame_count frames (null: unknown, zeros)",
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint")
    parser.add_argument("--random-init", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.random_init:
        torch.manual_seed(args.seed)
        config = dict(DEFAULT_CONFIG)
        model = build_model(config, len(vlm_text.build_vocabulary()))
        export(model, config, args.out, "randomly initialised VLM (seed %d) for runtime tests" % args.seed,
               {"data": "none (random weights)"})
    else:
        state = torch.load(args.checkpoint, map_location="cpu")
        config = state["config"]
        model = build_model(config, len(vlm_text.build_vocabulary()))
        model.load_state_dict(state["model"])
        export(model, config, args.out, state.get("description", ""), state.get("training", {}),
               state.get("evaluation"))


if __name__ == "__main__":
    main()
