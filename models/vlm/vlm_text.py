"""Prompts, answer phrases and the tokenizer of the VLM.

The vocabulary ships in the manifest (vlm.json) and the C++ runtime tokenizes with the same rule:
greedy longest match over the vocabulary's pieces (UTF-8 strings), an unknown code point becomes <unk>.
Pieces: the special tokens, whole answer phrases (so an answer is a handful of tokens and the repetition
penalty does not hit characters that phrases share), the numbers 0..100 as single tokens (an EF is one
token, so the penalty never pushes "55" towards "56"), and every single character of the prompts and
phrases plus ASCII letters, digits and punctuation (so any text in those characters can be tokenized).

The rejection phrases must stay equal to the C++ grammar's canonical phrases (src/vlm/answer_grammar.cpp);
tests/vlm checks that every phrase in the manifest parses back to its code.
"""
import string

PAD, BOS, EOS, UNK, ANSWER = "<pad>", "<bos>", "<eos>", "<unk>", "<answer>"
SPECIALS = [PAD, BOS, EOS, UNK, ANSWER]

PROMPTS = {
    "zh": "请判断是否为标准心尖四腔心切面，估计LVEF，并指出图像问题。",
    "en": "Is this a standard apical 4-chamber view? Estimate LVEF and name any image problems.",
}

# Word pieces of the prompts (a prompt is ~15 tokens instead of ~85 characters: cheaper prefill and training).
PROMPT_PIECES = ["请判断", "是否为", "标准", "心尖四腔心切面", "估计", "并指出", "图像问题",
                 "Is ", "this ", "a ", "standard ", "apical ", "4-chamber ", "view", "Estimate ", "LVEF ",
                 "and ", "name ", "any ", "image ", "problems"]

EF_PREFIX = {"zh": "LVEF约为", "en": "LVEF approximately "}
REJECT_PREFIX = {"zh": "图像不合格,原因:", "en": "image not acceptable, reason: "}
REASON_SEPARATOR = {"zh": ";", "en": "; "}

# code -> (zh, en): canonical phrases, in the order reasons are listed in an answer.
REJECTION_PHRASES = {
    "blurred": ("图像模糊", "image blurred"),
    "overgain": ("增益过高", "over-gain"),
    "undergain": ("增益过低", "under-gain"),
    "low_contrast": ("对比度低", "low contrast"),
    "probe_motion": ("探头移动", "probe motion"),
    "no_full_beat": ("未包含完整心动周期", "no full heartbeat"),
    "color_doppler": ("彩色多普勒图像", "colour Doppler"),
    "lv_cut_off": ("左心室超出扇区", "LV cut off by the sector edge"),
    "foreshortened": ("左心室缩短", "foreshortened LV"),
    "non_apical_view": ("切面不标准", "non-standard view"),
}
REJECTION_ORDER = list(REJECTION_PHRASES.keys())

# Phantom generator artefact names -> quality-gate codes.
ARTIFACT_TO_CODE = {
    "blur": "blurred",
    "overgain": "overgain",
    "undergain": "undergain",
    "lowcontrast": "low_contrast",
    "low_contrast": "low_contrast",
    "motion": "probe_motion",
    "probe_motion": "probe_motion",
    "partial": "no_full_beat",
    "doppler": "color_doppler",
    "color_doppler": "color_doppler",
    "outside": "lv_cut_off",
    "foreshortened": "foreshortened",
    "offaxis": "non_apical_view",
}


def ef_answer(ef_percent, language):
    value = int(round(min(max(ef_percent, 0.0), 100.0)))
    return f"{EF_PREFIX[language]}{value}%"


def rejection_answer(codes, language):
    index = 0 if language == "zh" else 1
    ordered = [c for c in REJECTION_ORDER if c in set(codes)]
    phrases = [REJECTION_PHRASES[c][index] for c in ordered]
    return REJECT_PREFIX[language] + REASON_SEPARATOR[language].join(phrases)


def build_vocabulary():
    pieces = list(SPECIALS)
    seen = set(pieces)

    def add(piece):
        if piece not in seen:
            seen.add(piece)
            pieces.append(piece)

    # whole pieces first (their order is only cosmetic; matching is longest-first)
    for language in ("zh", "en"):
        add(EF_PREFIX[language])
        add(REJECT_PREFIX[language])
        add(REASON_SEPARATOR[language])
    for zh, en in REJECTION_PHRASES.values():
        add(zh)
        add(en)
    for n in range(101):
        add(str(n))
    for piece in PROMPT_PIECES:
        add(piece)
    add("%")
    # single characters of everything, then printable ASCII
    text = "".join(PROMPTS.values()) + "".join(EF_PREFIX.values()) + "".join(REJECT_PREFIX.values())
    text += "".join(zh + en for zh, en in REJECTION_PHRASES.values())
    text += string.ascii_letters + string.digits + string.punctuation + " "
    text += "，：；。％、"
    for ch in text:
        add(ch)
    return pieces


class Tokenizer:
    def __init__(self, pieces):
        self.pieces = list(pieces)
        self.index = {p: i for i, p in enumerate(self.pieces)}
        self.max_piece_bytes = max(len(p.encode("utf-8")) for p in self.pieces)
        self.pad_id = self.index[PAD]
        self.bos_id = self.index[BOS]
        self.eos_id = self.index[EOS]
        self.unk_id = self.index[UNK]
        self.answer_id = self.index[ANSWER]
        self.special_ids = {self.index[s] for s in SPECIALS}

    def encode(self, text):
        """Greedy longest match over UTF-8 bytes, same as src/vlm/tokenizer.cpp. Specials never match text."""
        data = text.encode("utf-8")
        ids, pos = [], 0
        while pos < len(data):
            best = None
            for length in range(min(self.max_piece_bytes, len(data) - pos), 0, -1):
                piece = data[pos:pos + length]
                try:
                    token = self.index.get(piece.decode("utf-8"))
                except UnicodeDecodeError:
                    continue
                if token is not None and token not in self.special_ids:
                    best = (token, length)
                    break
            if best is None:
                length = _utf8_length(data[pos])
                ids.append(self.unk_id)
                pos += length
            else:
                ids.append(best[0])
                pos += best[1]
        return ids

    def decode(self, ids):
        return "".join(self.pieces[i] for i in ids if i not in self.special_ids)

    def number_token_ids(self):
        return [self.index[str(n)] for n in range(101)]


def _utf8_length(first_byte):
    if first_byte < 0x80:
        return 1
    if first_byte >> 5 == 0b110:
        return 2
    if first_byte >> 4 == 0b1110:
        return 3
    if first_byte >> 3 == 0b11110:
        return 4
    return 1
