"""The VLM network: a small CNN vision encoder and a causal transformer decoder with a key/value cache.

Exported with torch.jit.script; the C++ runtime (src/vlm/vlm_model.cpp) calls the exported methods:
  encode(frames[B,K,S,S], timing[B,K+2]) -> visual[B,Nv,D]       (timing: vlm_data.timing_features, or zeros)
  prefill(visual, prompt_ids[B,P]) -> (logits[B,V] of the last position, keys, values)
  step(token[B], keys, values) -> (logits[B,V], keys, values)       keys/values: [L,B,H,T,Dh]
  full_logits(visual, ids[B,T]) -> logits[B,V] of the last position (no cache; the reference path)
The sequence is [visual tokens][prompt tokens ... <answer>][answer tokens ... <eos>], causal throughout.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class VisionEncoder(nn.Module):
    """K keyframes stacked as channels (the ED-to-ES change is visible from the first layer) -> a 4 x 4 grid
    of visual tokens, one pooled token and one timing token (where the keyframes sit in their loop: the
    pixels alone cannot show a loop shorter than one beat). Light on purpose: it trains on 2 shared CPU cores."""

    def __init__(self, keyframes: int, input_size: int, d_model: int, grid: int = 4):
        super().__init__()
        widths = [16, 32, 48, 64]
        self.features = nn.Sequential(
            conv_bn_relu(keyframes, widths[0], 2),   # S/2
            conv_bn_relu(widths[0], widths[1], 2),   # S/4
            conv_bn_relu(widths[1], widths[1], 1),
            conv_bn_relu(widths[1], widths[2], 2),   # S/8
            conv_bn_relu(widths[2], widths[2], 1),
            conv_bn_relu(widths[2], widths[3], 2),   # S/16
            conv_bn_relu(widths[3], widths[3], 1),
        )
        self.grid = grid
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.project = nn.Linear(widths[-1], d_model)
        self.pooled = nn.Linear(widths[-1], d_model)
        self.timing_features = keyframes + 2
        self.timing = nn.Sequential(nn.Linear(self.timing_features, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        self.token_count = grid * grid + 2
        self.position = nn.Parameter(torch.zeros(1, self.token_count, d_model))
        nn.init.normal_(self.position, std=0.02)
        self.feature_width = widths[-1]

    def forward(self, frames: torch.Tensor, timing: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        f = self.features(frames)                      # B, C, S/16, S/16
        pooled = f.mean(dim=(2, 3))                    # B, C
        grid_tokens = self.project(self.pool(f).flatten(2).transpose(1, 2))   # B, g*g, D
        tokens = torch.cat([grid_tokens, self.pooled(pooled).unsqueeze(1), self.timing(timing).unsqueeze(1)], dim=1)
        return tokens + self.position, pooled


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, ffn: int):
        super().__init__()
        self.heads = heads
        self.head_dim = d_model // heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn_in = nn.Linear(d_model, ffn)
        self.ffn_out = nn.Linear(ffn, d_model)

    def forward(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: B,T,D new positions; past_k/v: B,H,Tp,Dh (Tp may be 0). Causal over past + new."""
        b, t, d = x.shape
        h = self.norm1(x)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        q = q.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        total = k.shape[2]
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if t > 1:
            past = total - t
            rows = torch.arange(t, device=x.device).unsqueeze(1) + past
            cols = torch.arange(total, device=x.device).unsqueeze(0)
            scores = scores.masked_fill(cols > rows, float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(y)
        x = x + self.ffn_out(F.gelu(self.ffn_in(self.norm2(x))))
        return x, k, v


class VlmNet(nn.Module):
    def __init__(self, vocab_size: int, keyframes: int = 4, input_size: int = 112, d_model: int = 128,
                 heads: int = 4, layers: int = 2, ffn: int = 256, max_positions: int = 320,
                 artifact_codes: int = 10):
        super().__init__()
        self.keyframes = keyframes
        self.input_size = input_size
        self.d_model = d_model
        self.heads = heads
        self.head_dim = d_model // heads
        self.num_layers = layers
        self.max_positions = max_positions
        self.encoder = VisionEncoder(keyframes, input_size, d_model)
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.text_position = nn.Embedding(max_positions, d_model)
        self.layers = nn.ModuleList([DecoderLayer(d_model, heads, ffn) for _ in range(layers)])
        self.final_norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        # training-only heads (auxiliary losses that shape the visual features; unused at inference)
        self.aux_ef = nn.Linear(self.encoder.feature_width, 1)
        self.aux_artifacts = nn.Linear(self.encoder.feature_width, artifact_codes)

    def _empty_cache(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        return torch.zeros(self.num_layers, batch, self.heads, 0, self.head_dim, dtype=like.dtype,
                           device=like.device)

    def _run(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        new_keys = []
        new_values = []
        i = 0
        for layer in self.layers:
            x, k, v = layer(x, keys[i], values[i])
            new_keys.append(k)
            new_values.append(v)
            i += 1
        return self.final_norm(x), torch.stack(new_keys), torch.stack(new_values)

    def _embed_text(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        return self.token_embedding(ids) + self.text_position(positions).unsqueeze(0)

    @torch.jit.export
    def encode(self, frames: torch.Tensor, timing: torch.Tensor) -> torch.Tensor:
        tokens, _ = self.encoder(frames, timing)
        return tokens

    @torch.jit.export
    def prefill(self, visual: torch.Tensor, prompt_ids: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.cat([visual, self._embed_text(prompt_ids, 0)], dim=1)
        empty = self._empty_cache(visual.shape[0], visual)
        h, keys, values = self._run(x, empty, empty)
        return self.head(h[:, -1]), keys, values

    @torch.jit.export
    def step(self, token: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        visual_count = self.encoder.token_count
        text_position = keys.shape[3] - visual_count
        x = self._embed_text(token.unsqueeze(1), text_position)
        h, keys, values = self._run(x, keys, values)
        return self.head(h[:, -1]), keys, values

    @torch.jit.export
    def full_logits(self, visual: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        x = torch.cat([visual, self._embed_text(ids, 0)], dim=1)
        empty = self._empty_cache(visual.shape[0], visual)
        h, _, _ = self._run(x, empty, empty)
        return self.head(h[:, -1])

    def forward(self, frames: torch.Tensor, timing: torch.Tensor, ids: torch.Tensor, first_scored: int
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training: logits for the text positions from first_scored on, plus the auxiliary heads."""
        visual, pooled = self.encoder(frames, timing)
        x = torch.cat([visual, self._embed_text(ids, 0)], dim=1)
        empty = self._empty_cache(frames.shape[0], visual)
        h, _, _ = self._run(x, empty, empty)
        text = h[:, visual.shape[1] + first_scored:]
        return self.head(text), self.aux_ef(pooled).squeeze(1), self.aux_artifacts(pooled)


def apply_repetition_penalty(logits: torch.Tensor, generated, penalty: float) -> torch.Tensor:
    """CTRL-style: a positive logit of an already generated token is divided by the penalty, a negative
    one multiplied. Only generated tokens count, not the prompt (it shares words with the answer)."""
    if penalty == 1.0 or not generated:
        return logits
    logits = logits.clone()
    for token in sorted(set(generated)):
        value = logits[token]
        logits[token] = value / penalty if value > 0 else value * penalty
    return logits


def greedy_decode(model, frames, timing, prompt_ids, eos_id, max_new_tokens=120, penalty=1.2, use_cache=True):
    """The reference decoding loop (the C++ runtime does the same). frames: 1,K,S,S; timing: 1,K+2 (zeros when
    the keyframes' place in the loop is unknown); returns token ids."""
    with torch.no_grad():
        visual = model.encode(frames, timing)
        prompt = torch.tensor([prompt_ids], dtype=torch.long)
        logits, keys, values = model.prefill(visual, prompt)
        generated = []
        while len(generated) < max_new_tokens:
            scores = apply_repetition_penalty(logits[0], generated, penalty)
            token = int(torch.argmax(scores))
            generated.append(token)
            if token == eos_id:
                break
            if use_cache:
                logits, keys, values = model.step(torch.tensor([token], dtype=torch.long), keys, values)
            else:
                ids = torch.tensor([prompt_ids + generated], dtype=torch.long)
                logits = model.full_logits(visual, ids)
        return generated
