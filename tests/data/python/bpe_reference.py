#!/usr/bin/env python3
"""Reference side of the BPE tokenizer tests, through the Hugging Face `tokenizers` package.

  bpe_reference.py make DIR    train a small GPT-2 style byte-level BPE (vocab 800, special <|endoftext|>) on a
                               generated corpus; save DIR/json/tokenizer.json and DIR/vm/{vocab.json,merges.txt};
                               write held-out cases DIR/cases/case_NN.txt, random code points DIR/cases/fuzz_N.txt and DIR/heldout.txt
                               (none of it in the corpus)
  bpe_reference.py check DIR   compare kachi's ids (DIR/cases/*.txt.{json,vm}.ids, from bpe_encode_tool) and the
                               shards of `kachi data` (DIR/shards/train_*.bin) with `tokenizers`' ids
  bpe_reference.py bench TOKENIZER_JSON TEXT THREADS   print `tokenizers` encode MB/s on TEXT with THREADS threads
Exit 77 when `tokenizers` (or numpy) is missing."""
import os
import sys

if len(sys.argv) >= 5 and sys.argv[1] == "bench":
    os.environ["RAYON_NUM_THREADS"] = sys.argv[4]  # before tokenizers starts its pool
try:
    import numpy as np
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
except ImportError as e:
    print(f"bpe_reference: {e}; skipped")
    sys.exit(77)
import glob
import json
import random
import time

WORDS = ("the of and to in is was for that with as on by at from his her they we you it this which be are "
         "have has had not but or an one all were when there can more no if out so what up about into time "
         "people year way day man thing woman life child world school state family student group country problem "
         "hand part place case week company system program question work government number night point home "
         "water room mother area money story fact month lot right study book eye job word business issue side "
         "kind head house service friend father power hour game line end member law car city community name").split()
UNICODE_BITS = ["café", "naïve", "über", "日本語", "中文", "한국어", "😀", "👍🏽", "Ελληνικά", "русский", "العربية",
                "हिन्दी", "½", "€", "—", "…", "«", "»", "ß", "ø"]


def corpus(seed, n_words):
    r = random.Random(seed)
    out = []
    for i in range(n_words):
        w = r.choice(WORDS) if r.random() > 0.05 else r.choice(UNICODE_BITS)
        if r.random() < 0.1:
            w = w.capitalize()
        out.append(w)
        roll = r.random()
        if roll < 0.06:
            out.append(". ")
        elif roll < 0.09:
            out.append(", ")
        elif roll < 0.1:
            out.append("'s ")
        elif roll < 0.12:
            out.append(f" {r.randint(0, 99999)} ")
        elif roll < 0.14:
            out.append(".\n")
        else:
            out.append(" ")
    return "".join(out)


CASES = [
    "Hello world! This text was never seen in training.",
    "I'll say you're right, we've seen it, she'd know, it's done, I'm here, don't. DON'T 'S 'Re",
    "'s 't 're 've 'm 'll 'd ''s '' 'x",
    "Tokyo 東京都 is big; 北京 and 서울 too. カタカナ ひらがな",
    "emoji: 😀😃 👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ done",
    "accents: café naïve Zoë résumé; combining: cafe\u0301 nai\u0308ve a\u0300\u0301\u0302 e\u0327",
    "spaces:  two   three    four     end",
    "trailing spaces   ",
    "   leading spaces",
    "tabs\tand\t\ttabs\n\nnewlines\n\n\n  indented\n\t\tmixed \t \n",
    "windows\r\nline\r\nends\r\n",
    "digits 0 12 345 6789 3.14159 1,000,000 2026-12-04 ²³ ½ Ⅻ ٣٤٥ १२३",
    "special<|endoftext|>in the middle<|endoftext|><|endoftext|> and  <|endoftext|> spaced",
    "<|endoftext|>at the start and at the end<|endoftext|>",
    "punctuation!!! ??? ... --- (parens) [brackets] {braces} @#$%^&*_+=~`|\\/<> ;:",
    "unicode spaces:\u00a0nbsp\u3000ideographic\u2009thin\u202fnarrow end",
    "mixed123abc abc123 123abc x1y2z3 __init__ snake_case CamelCase",
    "Ελληνικά κείμενο, русский текст, العربية, हिन्दी भाषा, עברית",
    "math ∑∫√∞≠≤≥ arrows ←→↑↓ box ┌─┐ music ♪♫",
    " ",
    "\n",
    "a",
    "<|endoftext|>",
    "<|endoftext",
    "long pieces: " + "the" * 400 + " " + " " * 700 + "x" + "\t" * 300 + "0123456789" * 50 + "=" * 500 + "ab" * 300,
]


def load(d):
    return Tokenizer.from_file(os.path.join(d, "json", "tokenizer.json"))


def make(d):
    os.makedirs(os.path.join(d, "json"), exist_ok=True)
    os.makedirs(os.path.join(d, "vm"), exist_ok=True)
    os.makedirs(os.path.join(d, "cases"), exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    text = corpus(1, 60000)
    tok.train_from_iterator([text[i:i + 4000] for i in range(0, len(text), 4000)], trainer)
    tok.save(os.path.join(d, "json", "tokenizer.json"))
    tok.model.save(os.path.join(d, "vm"))
    vocab = json.load(open(os.path.join(d, "vm", "vocab.json"), encoding="utf-8"))
    assert "<|endoftext|>" in vocab and len(vocab) == tok.get_vocab_size(), "vocab.json lacks the special token"
    for i, case in enumerate(CASES):
        with open(os.path.join(d, "cases", f"case_{i:02d}.txt"), "w", encoding="utf-8", newline="") as f:
            f.write(case)
    r = random.Random(4)  # random code points below U+3000 (all assigned long before Unicode 14) and spaces
    for k in range(3):
        fuzz = "".join(r.choice([chr(r.randint(0x20, 0x2FFF)), " ", "  ", "\n", "\t", "'s", "1", "\u3000"])
                       for _ in range(3000))
        fuzz = "".join(c for c in fuzz if not 0xD800 <= ord(c) <= 0xDFFF)
        with open(os.path.join(d, "cases", f"fuzz_{k}.txt"), "w", encoding="utf-8", newline="") as f:
            f.write(fuzz)
    held = corpus(2, 30000) + "\n" + "\n".join(CASES) + "\n" + corpus(3, 30000)
    with open(os.path.join(d, "heldout.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(held)
    print(f"bpe_reference: trained vocab {tok.get_vocab_size()}, {len(CASES)} cases, heldout {len(held)} chars")


def show_diff(name, want, got, tok):
    i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
    print(f"MISMATCH {name}: {len(want)} ids expected, {len(got)} from kachi; first difference at {i}")
    print("  tokenizers:", want[max(0, i - 5):i + 5], [tok.id_to_token(t) for t in want[max(0, i - 5):i + 5]])
    print("  kachi:     ", got[max(0, i - 5):i + 5],
          [tok.id_to_token(t) if 0 <= t < tok.get_vocab_size() else None for t in got[max(0, i - 5):i + 5]])


def read_shard(path):
    header = np.fromfile(path, dtype=np.int32, count=256)
    assert header[0] == 20240520 and header[1] == 1, f"{path}: header {header[:3]}"
    toks = np.fromfile(path, dtype=np.uint16, offset=1024)
    assert len(toks) == header[2], f"{path}: {len(toks)} tokens, header says {header[2]}"
    return toks.tolist()


def check(d):
    tok = load(d)
    bad = 0
    cases = sorted(glob.glob(os.path.join(d, "cases", "*.txt")))
    for path in cases:
        text = open(path, encoding="utf-8", newline="").read()
        want = tok.encode(text).ids
        for variant in ("json", "vm"):
            got = [int(x) for x in open(f"{path}.{variant}.ids").read().split()]
            if got != want:
                bad += 1
                show_diff(f"{os.path.basename(path)} ({variant}) {text!r}", want, got, tok)
    held = open(os.path.join(d, "heldout.txt"), encoding="utf-8", newline="").read()
    want = [tok.token_to_id("<|endoftext|>")] + tok.encode(held).ids
    got = []
    for shard in sorted(glob.glob(os.path.join(d, "shards", "train_*.bin"))):
        got += read_shard(shard)
    if got != want:
        bad += 1
        show_diff("kachi data shards of heldout.txt", want, got, tok)
    print(f"bpe_reference: {len(cases)} cases x 2 file formats + heldout.txt ({len(want)} ids): "
          f"{'all equal' if bad == 0 else f'{bad} mismatch(es)'}")
    sys.exit(1 if bad else 0)


def bench(tokenizer_json, text_path, threads):
    tok = Tokenizer.from_file(tokenizer_json)
    text = open(text_path, encoding="utf-8", newline="").read()
    if os.environ.get("BPE_BENCH_PIECES") == "mb":  # ~1 MB newline-cut pieces, as kachi's chunks
        chunks, cur, size = [], [], 0
        for line in text.split("\n"):
            cur.append(line)
            size += len(line) + 1
            if size > (1 << 20):
                chunks.append("\n".join(cur) + "\n")
                cur, size = [], 0
        chunks.append("\n".join(cur))
    else:  # one piece per line (a document each), the usual way to feed encode_batch
        chunks = text.splitlines(keepends=True)
    start = time.perf_counter()
    encodings = tok.encode_batch(chunks)
    seconds = time.perf_counter() - start
    n = sum(len(e.ids) for e in encodings)
    nbytes = len(text.encode("utf-8"))
    print(f"tokenizers {threads} thread(s), {len(chunks)} pieces: {nbytes / 1e6 / seconds:.2f} MB/s ({nbytes} bytes, {n} ids, "
          f"{seconds:.2f} s)")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "make" and len(sys.argv) == 3:
        make(sys.argv[2])
    elif cmd == "check" and len(sys.argv) == 3:
        check(sys.argv[2])
    elif cmd == "bench" and len(sys.argv) == 5:
        bench(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__)
        sys.exit(2)
