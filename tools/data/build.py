#!/usr/bin/env python3
"""Builds every data file of the lab from real sources, deterministically (stdlib only).

    python3 tools/data/build.py            # -> .data/corpus/{train,heldout}.txt  (training corpus, git-ignored)
                                           # -> public/data/*                     (shipped subsets + tasks + DATA.md)

Sources: WordNet 3.0 and GCIDE from Debian packages (tools/data/sources.py), and the real task data
gathered in ../shared/data (WikiText-2 test, NQ-open dev, OpenBookQA, GSM8K test).

Split: every WordNet synset and GCIDE headword is assigned to train (95%) or held-out (5%) by a hash of its
key, so the split does not depend on file order. The models train on train only. Tasks that test
memorisation ask about train facts; tasks that test application and reasoning use held-out entries.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sources import (  # noqa: E402
    POS_NAME, Synset, gcide_document, hypernyms, parse_gcide, parse_wordnet, stable_hash,
    unpack_packages, with_article, wordnet_document,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "public" / "data"
CACHE = ROOT / ".data"
SEED = 20261123
HELDOUT_MOD = 20  # 1 in 20 keys held out
N_ITEMS = 500     # items per task file (the lab evaluates seeded subsets of these)


def is_heldout(key: str) -> bool:
    return stable_hash(key) % HELDOUT_MOD == 0


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def subject(w: str) -> str:
    """'poodle' -> 'A poodle'; proper names stay as they are."""
    return capital(with_article(w))


# ---------------------------------------------------------------- tasks from the dictionary data

def kind_of_facts(wn: dict[str, Synset], heldout: bool) -> list[tuple[Synset, Synset]]:
    """(noun, hypernym) pairs stated in the corpus as 'A X is a kind of Y.'"""
    out = []
    for s in wn.values():
        if s.pos != "n" or is_heldout(s.key) != heldout or s.words[0][:1].isupper():
            continue
        for sym, t, _, _ in s.pointers:
            if sym == "@" and t in wn:
                out.append((s, wn[t]))
                break
    return out


def definition_mc(rng: random.Random, pool: list[Synset], n: int, task: str) -> list[dict]:
    """'poodle (noun):' -> the synset's gloss among 3 glosses of other synsets of the same part of speech."""
    by_pos: dict[str, list[Synset]] = {}
    for s in pool:
        by_pos.setdefault(POS_NAME[s.pos], []).append(s)
    items = []
    for s in rng.sample(pool, min(n, len(pool))):
        same = by_pos[POS_NAME[s.pos]]
        distract = []
        while len(distract) < 3:
            d = rng.choice(same)
            if d.key != s.key and d.definition != s.definition and d.definition not in distract:
                distract.append(d.definition)
        choices = distract + [s.definition]
        rng.shuffle(choices)
        items.append({"id": f"{task}/{s.key}", "context": f"{s.words[0]} ({POS_NAME[s.pos]}):",
                      "choices": [c + "." for c in choices], "gold": choices.index(s.definition)})
    return items


def build_tasks(wn: dict[str, Synset], gcide_held: list) -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    tasks: dict[str, list[dict]] = {}
    short = lambda s: len(s.definition) <= 120  # noqa: E731  keep items short: small context windows

    # KM: facts the models were trained on, recalled from a cue.
    facts = [(s, h) for s, h in kind_of_facts(wn, heldout=False) if " " not in h.words[0]]
    rng.shuffle(facts)
    tasks["dict_kindof_cloze"] = [
        {"id": f"dict_kindof_cloze/{s.key}", "prompt": f"{subject(s.words[0])} is a kind of",
         "target": h.words[0]} for s, h in facts[: N_ITEMS * 2]]  # spare items: the scorer keeps one-token objects
    tasks["dict_kindof_em"] = [
        {"id": f"dict_kindof_em/{s.key}", "prompt": f"{subject(s.words[0])} is a kind of",
         "answers": sorted(set(h.words))} for s, h in facts[N_ITEMS * 2 : N_ITEMS * 3]]
    train_syn = [s for s in wn.values() if not is_heldout(s.key) and short(s) and not s.words[0][:1].isupper()]
    tasks["dict_define_mc"] = definition_mc(rng, train_syn, N_ITEMS, "dict_define_mc")

    # KA: the same kind of knowledge applied to entries the models never saw.
    held_syn = [s for s in wn.values() if is_heldout(s.key) and short(s) and not s.words[0][:1].isupper()]
    tasks["dict_heldout_define_mc"] = definition_mc(rng, held_syn, N_ITEMS, "dict_heldout_define_mc")
    endings = []
    for e in gcide_held:
        words = e.body.split()
        if 8 <= len(words) <= 30 and not any(ch.isdigit() for ch in e.body[:3]):
            endings.append((e, words))
    rng.shuffle(endings)
    items = []
    for e, words in endings[:N_ITEMS]:
        cut = len(words) // 2
        true_end = " ".join(words[cut:])
        others = []
        while len(others) < 3:
            o, ow = rng.choice(endings)
            cand = " ".join(ow[len(ow) // 2 :])
            if o is not e and cand != true_end and cand not in others:
                others.append(cand)
        choices = others + [true_end]
        rng.shuffle(choices)
        items.append({"id": f"dict_ending_mc/{e.headword}", "context": f"{e.headword} ({e.pos.rstrip('.')}): " + " ".join(words[:cut]),
                      "choices": choices, "gold": choices.index(true_end)})
    tasks["dict_ending_mc"] = items

    # KR: two-step inferences. (a) in context: chain two stated premises, with a distractor chain;
    # (b) closed book: is X a kind of Z, where X->Y and Y->Z were trained but X->Z never stated.
    chains = []
    for s, h in kind_of_facts(wn, heldout=True):
        hh = [g for g in hypernyms(h, wn) if g.pos == "n"]
        if hh and " " not in hh[0].words[0] and hh[0].words[0] != s.words[0]:
            chains.append((s.words[0], h.words[0], hh[0].words[0]))
    rng.shuffle(chains)
    items = []
    for i, (x, y, z) in enumerate(chains):
        if len(items) >= N_ITEMS:
            break
        x2, y2, z2 = chains[(i + 7) % len(chains)]
        if len({x, y, z, x2, y2, z2}) < 6:
            continue
        premises = [f"{subject(x)} is a kind of {y}.", f"{subject(y)} is a kind of {z}.",
                    f"{subject(x2)} is a kind of {y2}.", f"{subject(y2)} is a kind of {z2}."]
        rng.shuffle(premises)
        choices = [z, z2, y2, x2]
        rng.shuffle(choices)
        items.append({"id": f"dict_syllogism_mc/{x}", "context": " ".join(premises) + f" So {with_article(x)} is a kind of",
                      "choices": choices, "gold": choices.index(z)})
    tasks["dict_syllogism_mc"] = items

    # (b) one step given, one recalled: "A poodle is a kind of dog, so a poodle is also a kind of" -> canine,
    # where dog -> canine was trained and poodle -> canine never stated.
    train_chains = []
    for s, h in kind_of_facts(wn, heldout=False):
        hh = [g for g in hypernyms(h, wn) if g.pos == "n" and not is_heldout(h.key)]
        if hh and " " not in hh[0].words[0] and hh[0].words[0] not in (s.words[0], h.words[0]):
            train_chains.append((s.words[0], h.words[0], hh[0].words[0]))
    rng.shuffle(train_chains)
    tops = sorted({z for _, _, z in train_chains})
    items = []
    for x, y, z in train_chains:
        if len(items) >= N_ITEMS:
            break
        distract = []
        while len(distract) < 3:
            d = rng.choice(tops)
            if d not in (x, y, z) and d not in distract:
                distract.append(d)
        choices = distract + [z]
        rng.shuffle(choices)
        items.append({"id": f"dict_chain_mc/{x}", "context": f"{subject(x)} is a kind of {y}, so {with_article(x)} is also a kind of",
                      "choices": choices, "gold": choices.index(z)})
    tasks["dict_chain_mc"] = items
    return tasks


# ---------------------------------------------------------------- real task data from ../shared/data

def real_tasks() -> dict[str, list[dict]]:
    rng = random.Random(SEED + 1)
    tasks = {}
    nq = [json.loads(line) for line in (SHARED / "nq_open_dev.jsonl").read_text().splitlines() if line.strip()]
    rng.shuffle(nq)
    nq_rows = [{"id": f"nq_open/{i}", "question": r["question"], "answers": r["answer"]} for i, r in enumerate(nq)]
    tasks["nq_open"], tasks["nq_open.fewshot"] = nq_rows[:N_ITEMS], nq_rows[N_ITEMS : N_ITEMS + 50]

    def obqa(fname: str) -> list[dict]:
        lines = (SHARED / fname).read_text().splitlines()
        assert lines[0].split("\t") == ["ID", "Question Stem", "Choices", "Complete Question", "Answer Key"], lines[0]
        rows = []
        for line in lines[1:]:
            qid, stem, choices, _, key = line.split("\t")
            opts = re.split(r"\s*\([A-D]\)\s*", choices)[1:]
            assert len(opts) == 4, choices
            rows.append({"id": f"openbookqa/{qid}", "context": stem, "choices": [o.strip() for o in opts],
                         "gold": "ABCD".index(key.strip())})
        return rows

    tasks["openbookqa"] = obqa("openbookqa_main_test.tsv")[:N_ITEMS]
    tasks["openbookqa.fewshot"] = obqa("openbookqa_main_dev.tsv")[:50]

    gsm = [json.loads(line) for line in (SHARED / "gsm8k_test.jsonl").read_text().splitlines() if line.strip()]
    gsm_rows = [{"id": f"gsm8k/{i}", "question": r["question"], "answer": r["answer"],
                 "target": r["answer"].split("####")[-1].strip()} for i, r in enumerate(gsm)]
    # GSM8K's few-shot examples come from its train split in lm-eval; only the test split is here, so
    # they are drawn from test items that are never evaluated.
    tasks["gsm8k"], tasks["gsm8k.fewshot"] = gsm_rows[:N_ITEMS], gsm_rows[N_ITEMS : N_ITEMS + 50]
    return tasks


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    root = unpack_packages(CACHE)
    wn = parse_wordnet(root)
    gc = parse_gcide(root)
    docs_train, docs_held, gcide_held = [], [], []
    for s in wn.values():
        (docs_held if is_heldout(s.key) else docs_train).append(wordnet_document(s, wn))
    for e in gc:
        held = is_heldout("gcide:" + e.headword.lower())
        (docs_held if held else docs_train).append(gcide_document(e))
        if held:
            gcide_held.append(e)
    rng = random.Random(SEED)
    rng.shuffle(docs_train)
    rng.shuffle(docs_held)
    corpus = CACHE / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "train.txt").write_text("\n".join(docs_train) + "\n", encoding="utf-8")
    (corpus / "heldout.txt").write_text("\n".join(docs_held) + "\n", encoding="utf-8")

    OUT.mkdir(parents=True, exist_ok=True)

    def excerpt(docs: list[str], nbytes: int) -> str:
        out, n = [], 0
        for d in docs:
            if n + len(d) > nbytes:
                break
            out.append(d)
            n += len(d) + 2
        return "\n\n".join(out) + "\n"

    # Calibration: the models' own training distribution (the study used C4, the general text its models
    # were trained on); held-out text for perplexity; WikiText-2 test for real models.
    (OUT / "calib_dict.txt").write_text(excerpt(docs_train, 600_000), encoding="utf-8")
    (OUT / "heldout_dict.txt").write_text(excerpt(docs_held, 200_000), encoding="utf-8")
    (OUT / "wikitext2_test.txt").write_bytes((SHARED / "wikitext2_raw_test.txt").read_bytes())

    tasks = build_tasks(wn, gcide_held)
    tasks.update(real_tasks())
    for name, rows in tasks.items():
        write_jsonl(OUT / "tasks" / f"{name}.jsonl", rows)
    print(f"train docs {len(docs_train)} ({sum(map(len, docs_train)) / 1e6:.1f} MB), "
          f"held-out docs {len(docs_held)} ({sum(map(len, docs_held)) / 1e6:.1f} MB)")
    for name, rows in tasks.items():
        print(f"  task {name}: {len(rows)} items")
    sums = {p.relative_to(OUT).as_posix(): (p.stat().st_size, sha256(p)) for p in sorted(OUT.rglob("*")) if p.is_file() and p.name not in ("DATA.md", "checksums.json")}
    (OUT / "checksums.json").write_text(json.dumps(sums, indent=1) + "\n")
    write_data_md(sums, tasks)


SOURCES = {  # file stem -> (what, source, licence)
    "calib_dict.txt": ("calibration text: 600 KB of training-split documents (the models' own distribution)", "WordNet 3.0 + GCIDE (Debian wordnet-base, dict-gcide)", "WordNet 3.0 licence; GPL-3+"),
    "heldout_dict.txt": ("perplexity text: 200 KB of held-out documents", "WordNet 3.0 + GCIDE", "WordNet 3.0 licence; GPL-3+"),
    "wikitext2_test.txt": ("WikiText-2 raw test split, whole (perplexity of real models)", "../shared/data/wikitext2_raw_test.txt (Deathnetworks/rotorquant:wikitext-test.txt@c5be50f)", "CC BY-SA 3.0"),
    "dict_kindof_cloze": ("KM: 'A X is a kind of' -> the hypernym (training facts), precision@k on one-token objects", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_kindof_em": ("KM: same facts, greedy generation, exact match against the hypernym's lemmas", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_define_mc": ("KM: 'word (pos):' -> its gloss among 4 (training synsets)", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_heldout_define_mc": ("KA: the same format on held-out synsets", "WordNet 3.0 held-out split", "WordNet 3.0 licence"),
    "dict_ending_mc": ("KA: a held-out dictionary entry's true second half among 4 (HellaSwag-like)", "GCIDE held-out split", "GPL-3+"),
    "dict_syllogism_mc": ("KR: two premises X->Y, Y->Z (plus a distractor chain) -> 'So X is a kind of' Z, 4-way", "WordNet 3.0 held-out chains", "WordNet 3.0 licence"),
    "dict_chain_mc": ("KR: 'X is a kind of Y, so X is also a kind of' Z, where Y->Z was trained and X->Z never stated; 4-way", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "nq_open": ("KM: Natural Questions open, dev, 500 seeded items (+50 few-shot)", "../shared/data/nq_open_dev.jsonl (google-research-datasets/natural-questions@fb26a30)", "CC BY-SA 3.0"),
    "openbookqa": ("KR: OpenBookQA main test, 500 items (few-shot from dev)", "../shared/data/openbookqa_main_{test,dev}.tsv (genggui001/opencompass@5649a0f)", "Apache-2.0"),
    "gsm8k": ("KR: GSM8K test, first 500 items (few-shot from test items 500-549, never evaluated)", "../shared/data/gsm8k_test.jsonl (openai/grade-school-math@3101c7d)", "MIT"),
}


def write_data_md(sums: dict, tasks: dict) -> None:
    rows = []
    for path, (size, sha) in sums.items():
        stem = Path(path).name.replace(".fewshot.jsonl", "").replace(".jsonl", "")
        what, src, lic = SOURCES.get(Path(path).name, SOURCES.get(stem, ("", "", "")))
        if path.endswith(".fewshot.jsonl"):
            what = "few-shot pool of " + stem
        rows.append(f"| `{path}` | {size:,} | {what} | {src} | {lic} | `{sha[:16]}` |")
    (OUT / "DATA.md").write_text(f"""# Data shipped with the lab

Every file here is real text or real task data, built by `python3 tools/data/build.py` (deterministic, seed
{SEED}) from Debian's `wordnet-base` (WordNet 3.0) and `dict-gcide` (GCIDE 0.48) packages and from the files
gathered in `../shared/data` (see its MANIFEST.md for their upstream commits). WordNet synsets and GCIDE
headwords are split 95/5 into train and held-out by a hash of their key; the bundled models were trained on the
train split only. Full checksums: `checksums.json` (sha256 of every file, checked by the tests).

| file | bytes | what | source | licence | sha256 (first 16) |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Task items are JSON lines: multiple choice `{{id, context, choices, gold}}` (scored on " " + choice after the
context, lm-evaluation-harness style), generative `{{id, prompt, answers}}` / `{{id, question, answers}}`, cloze
`{{id, prompt, target}}`.
""")


if __name__ == "__main__":
    main()
