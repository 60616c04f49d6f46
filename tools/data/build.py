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

import bisect
import hashlib
import json
import math
import random
import re
import sys
from collections import Counter
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


# ---------------------------------------------------------------- shortcut-free choices
# A task measures its level only if no surface cue answers it (tests/eval/shortcuts.test.ts checks every file):
# distractors are matched to the answer in training-text frequency (single words) or length (phrases), the
# answer's rank among the choices on that measure and on a second one is balanced across items, the gold
# position is balanced, and no choice is copied from the prompt unless every choice is.

WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
FUNCTION_WORDS = set("a an the of to in on at by for with from as or and but not no is are was were be been it its this "
                     "that which who whom whose what to so such than then there these those has have had do does did can "
                     "may".split())


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content(text: str) -> set[str]:
    return {w for w in words(text) if w not in FUNCTION_WORDS}


class Corpus:
    """Word counts of the training split (what the models learned from)."""

    def __init__(self, docs: list[str]):
        self.count: Counter = Counter(w for d in docs for w in words(d))
        self.total = sum(self.count.values())

    def logp(self, text: str) -> float:
        return sum(math.log((self.count[w] + 1) / (self.total + len(self.count))) for w in words(text))

    def freq(self, word: str) -> int:
        return self.count[word.lower()]


class Balancer:
    """Hands out values (ranks, positions) so that each is used equally often."""

    def __init__(self, values: int, rng: random.Random):
        self.used, self.rng = [0] * values, rng

    def order(self) -> list[int]:
        vals = list(range(len(self.used)))
        self.rng.shuffle(vals)
        return sorted(vals, key=lambda v: self.used[v])

    def use(self, v: int) -> None:
        self.used[v] += 1


def above_below(pool: list, keys: list[float], key: float, ok, window: int) -> tuple[list, list]:
    """The `window` nearest valid candidates with a strictly larger and a strictly smaller key (pool sorted by key)."""
    lo, hi = bisect.bisect_left(keys, key), bisect.bisect_right(keys, key)
    above = [c for c in pool[hi : hi + 4 * window] if ok(c)][:window]
    below = [c for c in reversed(pool[max(0, lo - 4 * window) : lo]) if ok(c)][:window]
    return above, below


def matched_choices(rng: random.Random, gold, pool: list, keys: list[float], key, ok, ranks: Balancer,
                    seconds: list[tuple], window: int = 12, k: int = 3):
    """k distractors near the gold by `key`, `rank` of them above it, the rank drawn from `ranks`. Among samples of
    them, the one whose gold ranks on the `seconds` measures ((measure, Balancer) pairs) are the least used so far,
    with the fewest ties. None: no fit."""
    above, below = above_below(pool, keys, key(gold), ok, window)
    for rank in ranks.order():
        if len(above) < rank or len(below) < k - rank:
            continue
        tries = [rng.sample(above, rank) + rng.sample(below, k - rank) for _ in range(32)]

        def cost(t: list) -> tuple:
            used = sum(b.used[sum(f(c) > f(gold) for c in t)] for f, b in seconds)
            ties = sum(f(c) == f(gold) for f, _ in seconds for c in t)
            return (used + 2 * ties, ties)

        best = min(tries, key=cost)
        ranks.use(rank)
        for f, b in seconds:
            b.use(sum(f(c) > f(gold) for c in best))
        return best
    return None


def place(rng: random.Random, gold: str, others: list[str], positions: Balancer) -> tuple[list[str], int]:
    pos = positions.order()[0]
    positions.use(pos)
    rest = list(others)
    rng.shuffle(rest)
    return rest[:pos] + [gold] + rest[pos:], pos


def unbiased_subset(pool: list[dict], n: int, corpus: Corpus, rng: random.Random) -> list[dict]:
    """n multiple-choice items of a published set, taken in a seeded order, each kept only if the best surface cue
    (picking the longest / shortest / most or least likely under unigram frequencies / most or least words shared
    with the question, alone or with another breaking its ties) stays within 0.02 of chance on the items kept so far or gets closer to it."""
    def cues(r: dict) -> list[float]:
        ctx = content(r["context"])
        feats = [lambda c: len(c), lambda c: len(words(c)), corpus.logp, lambda c: corpus.logp(c) / max(1, len(c)),
                 lambda c: len(content(c) & ctx)]
        scores = [[s * f(c) for c in r["choices"]] for f in feats for s in (1, -1)]
        out = []
        for a in range(len(scores)):
            for b in [None, *range(len(scores))]:  # a cue alone, and with another breaking its ties
                cand = list(range(len(r["choices"])))
                for key in (a, b):
                    if key is not None:
                        top = max(scores[key][i] for i in cand)
                        cand = [i for i in cand if scores[key][i] == top]
                out.append((r["gold"] in cand) / len(cand))
        return out

    order = rng.sample(pool, len(pool))
    kept: list[dict] = []
    sums: list[float] = []
    for r in order:
        if len(kept) >= n:
            break
        c = cues(r)
        new = [a + b for a, b in zip(sums, c)] if sums else c
        worst = max(x / (len(kept) + 1) for x in new) - 1 / len(r["choices"])
        before = max(x / len(kept) for x in sums) - 0.25 if kept else 1.0
        if worst <= 0.02 or worst < before:
            kept.append(r)
            sums = new
    assert len(kept) == n, f"only {len(kept)} unbiased items"
    return kept


def task_rng(task: str) -> random.Random:
    return random.Random(f"{SEED}/{task}")


def ancestors(s: Synset, wn: dict[str, Synset]) -> set[str]:
    """Every lemma of every hypernym of s, by any path, lower-cased."""
    out, todo, seen = set(), [s], set()
    while todo:
        for h in hypernyms(todo.pop(), wn):
            if h.key not in seen:
                seen.add(h.key)
                out.update(w.lower() for w in h.words)
                todo.append(h)
    return out


# ---------------------------------------------------------------- tasks from the dictionary data

def definition_mc(task: str, pool: list[Synset], corpus: Corpus, n: int) -> list[dict]:
    """'poodle (noun):' -> the synset's gloss among 4 glosses of the same part of speech, matched in length; no
    gloss shares a content word with the prompt (a gloss that repeats its headword answers itself)."""
    rng = task_rng(task)
    by_pos: dict[str, list[Synset]] = {}
    for s in sorted(pool, key=lambda s: (len(s.definition), s.key)):
        by_pos.setdefault(POS_NAME[s.pos], []).append(s)
    keys = {p: [len(s.definition) for s in v] for p, v in by_pos.items()}
    ranks, positions = Balancer(4, rng), Balancer(4, rng)
    seconds = [(lambda s: len(words(s.definition)), Balancer(4, rng)),
               (lambda s: corpus.logp(s.definition) / len(s.definition), Balancer(4, rng)),
               (lambda s: corpus.logp(s.definition), Balancer(4, rng))]
    items = []
    for s in rng.sample(pool, len(pool)):
        if len(items) >= n:
            break
        prompt = f"{s.words[0]} ({POS_NAME[s.pos]}):"
        cue = content(prompt)
        if content(s.definition) & cue:
            continue
        ok = lambda d: d.definition != s.definition and not (content(d.definition) & cue)  # noqa: E731
        pos = POS_NAME[s.pos]
        others = matched_choices(rng, s, by_pos[pos], keys[pos], lambda x: len(x.definition), ok, ranks, seconds)
        if others is None or len({d.definition for d in others}) < 3:
            continue
        choices, gold = place(rng, s.definition + ".", [d.definition + "." for d in others], positions)
        items.append({"id": f"{task}/{s.key}", "context": prompt, "choices": choices, "gold": gold})
    return items


def ending_mc(task: str, entries: list, corpus: Corpus, n: int) -> list[dict]:
    """A held-out dictionary entry's true second half among 4 second halves of other entries (HellaSwag-like),
    matched in length; none shares a content word with the first half (repeating it would give the answer)."""
    rng = task_rng(task)
    cands = []
    for e in entries:
        ws = e.body.split()
        if 8 <= len(ws) <= 30 and not any(ch.isdigit() for ch in e.body[:3]):
            cut = len(ws) // 2
            cands.append((f"{e.headword} ({e.pos.rstrip('.')}): " + " ".join(ws[:cut]), " ".join(ws[cut:]), e.headword))
    ends = sorted({c[1] for c in cands}, key=lambda t: (len(t), t))
    keys = [len(t) for t in ends]
    ranks, positions = Balancer(4, rng), Balancer(4, rng)
    seconds = [(lambda t: len(words(t)), Balancer(4, rng)), (lambda t: corpus.logp(t) / len(t), Balancer(4, rng)),
               (corpus.logp, Balancer(4, rng))]
    items, seen = [], set()
    for context, end, head in rng.sample(cands, len(cands)):
        if len(items) >= n:
            break
        cue = content(context)
        if head in seen or content(end) & cue:
            continue
        ok = lambda t: t != end and not (content(t) & cue)  # noqa: E731
        others = matched_choices(rng, end, ends, keys, len, ok, ranks, seconds)
        if others is None:
            continue
        seen.add(head)
        choices, gold = place(rng, end, others, positions)
        items.append({"id": f"{task}/{head}", "context": context, "choices": choices, "gold": gold})
    return items


def syllogism_mc(task: str, wn: dict[str, Synset], corpus: Corpus, n: int) -> list[dict]:
    """Four chains X->Y->Z stated as eight shuffled premises; 'So X is a kind of' -> X's Z among the four Zs. Every
    choice ends a chain and appears in the prompt, so only following X's chain finds the answer."""
    rng = task_rng(task)
    chains = []
    for s, h in kind_of_facts(wn, heldout=True):
        for g in hypernyms(h, wn):
            x, y, z = s.words[0], h.words[0], g.words[0]
            if g.pos == "n" and " " not in z and not z[:1].isupper() and len(set(words(x)) | set(words(y)) | {z.lower()}) == len(words(x)) + len(words(y)) + 1:
                chains.append((x, y, z))
                break
    chains.sort(key=lambda c: (corpus.freq(c[2]), c))
    keys = [corpus.freq(c[2]) for c in chains]
    ranks, positions = Balancer(4, rng), Balancer(4, rng)
    seconds = [(lambda c: len(c[2]), Balancer(4, rng)), (lambda c: corpus.logp(c[2]) / len(c[2]), Balancer(4, rng))]
    items, used = [], set()
    for x, y, z in rng.sample(chains, len(chains)):
        if len(items) >= n:
            break
        if x in used:
            continue
        mine = set(words(x)) | set(words(y)) | {z.lower()}
        ok = lambda c: c[2] != z and not ((set(words(c[0])) | set(words(c[1])) | {c[2].lower()}) & mine)  # noqa: E731
        others = matched_choices(rng, (x, y, z), chains, keys, lambda c: corpus.freq(c[2]), ok, ranks, seconds)
        if others is None:
            continue
        flat = [w for c in others for w in (set(words(c[0])) | set(words(c[1])) | {c[2].lower()})]
        if len(flat) != len(set(flat)) or len({c[2] for c in others}) < 3:
            continue  # the distractor chains share words among themselves
        used.add(x)
        prem = [p for a, b, c in [(x, y, z), *others] for p in (f"{subject(a)} is a kind of {b}.", f"{subject(b)} is a kind of {c}.")]
        rng.shuffle(prem)
        choices, gold = place(rng, z, [c[2] for c in others], positions)
        items.append({"id": f"{task}/{x}", "context": " ".join(prem) + f" So {with_article(x)} is a kind of",
                      "choices": choices, "gold": gold})
    return items


def chain_mc(task: str, wn: dict[str, Synset], corpus: Corpus, n: int) -> list[dict]:
    """'A poodle is a kind of dog, so a poodle is also a kind of' -> canine, where dog -> canine was trained and
    poodle -> canine never stated; distractors are second-level hypernyms too, matched in frequency, none an
    ancestor of X, none in the prompt."""
    rng = task_rng(task)
    chains = []
    for s, h in kind_of_facts(wn, heldout=False):
        hh = [g for g in hypernyms(h, wn) if g.pos == "n" and not is_heldout(h.key)]
        if hh and " " not in hh[0].words[0] and not hh[0].words[0][:1].isupper():
            x, y, z = s.words[0], h.words[0], hh[0].words[0]
            if not ({z.lower()} & (set(words(x)) | set(words(y)))) and not (set(words(y)) & set(words(x))):
                chains.append((s, x, y, z))
    tops = sorted({c[3] for c in chains}, key=lambda z: (corpus.freq(z), z))
    keys = [corpus.freq(z) for z in tops]
    ranks, positions = Balancer(4, rng), Balancer(4, rng)
    seconds = [(len, Balancer(4, rng)), (lambda z: corpus.logp(z) / len(z), Balancer(4, rng))]
    items, used = [], set()
    for s, x, y, z in rng.sample(chains, len(chains)):
        if len(items) >= n:
            break
        if x in used:
            continue
        banned = ancestors(s, wn) | set(words(x)) | set(words(y)) | {x.lower(), y.lower(), z.lower()}
        ok = lambda d: d.lower() not in banned and not (set(words(d)) & banned)  # noqa: E731
        others = matched_choices(rng, z, tops, keys, corpus.freq, ok, ranks, seconds)
        if others is None:
            continue
        used.add(x)
        choices, gold = place(rng, z, others, positions)
        items.append({"id": f"{task}/{x}", "context": f"{subject(x)} is a kind of {y}, so {with_article(x)} is also a kind of",
                      "choices": choices, "gold": gold})
    return items


def kind_of_recall(wn: dict[str, Synset]) -> list[tuple[Synset, Synset]]:
    """Trained 'A X is a kind of Y' facts whose answer is not in the prompt (a bird dog is a kind of dog), each
    hypernym at most 3 times (a constant answer scores nothing)."""
    rng = task_rng("dict_kindof")
    facts = [(s, h) for s, h in kind_of_facts(wn, heldout=False) if " " not in h.words[0]]
    rng.shuffle(facts)
    out, per = [], Counter()
    for s, h in facts:
        lemmas = {w.lower() for w in h.words}
        if lemmas & set(words(s.words[0])) or any(set(words(w)) & set(words(s.words[0])) for w in h.words):
            continue
        if per[h.words[0]] >= 3:
            continue
        per[h.words[0]] += 1
        out.append((s, h))
    return out


def build_tasks(wn: dict[str, Synset], gcide_held: list, corpus: Corpus) -> dict[str, list[dict]]:
    tasks: dict[str, list[dict]] = {}
    short = lambda s: len(s.definition) <= 120  # noqa: E731  keep items short: small context windows

    # KM: facts the models were trained on, recalled from a cue.
    facts = kind_of_recall(wn)
    tasks["dict_kindof_cloze"] = [
        {"id": f"dict_kindof_cloze/{s.key}", "prompt": f"{subject(s.words[0])} is a kind of",
         "target": h.words[0]} for s, h in facts[: N_ITEMS * 2]]  # spare items: the scorer keeps one-token objects
    tasks["dict_kindof_em"] = [
        {"id": f"dict_kindof_em/{s.key}", "prompt": f"{subject(s.words[0])} is a kind of",
         "answers": sorted(set(h.words))} for s, h in facts[N_ITEMS * 2 : N_ITEMS * 3]]
    train_syn = [s for s in wn.values() if not is_heldout(s.key) and short(s) and not s.words[0][:1].isupper()]
    tasks["dict_define_mc"] = definition_mc("dict_define_mc", train_syn, corpus, N_ITEMS)

    # KA: the same kind of knowledge applied to entries the models never saw.
    held_syn = [s for s in wn.values() if is_heldout(s.key) and short(s) and not s.words[0][:1].isupper()]
    tasks["dict_heldout_define_mc"] = definition_mc("dict_heldout_define_mc", held_syn, corpus, N_ITEMS)
    tasks["dict_ending_mc"] = ending_mc("dict_ending_mc", gcide_held, corpus, N_ITEMS)

    # KR: two-step inferences. (a) in context: follow one of four stated chains; (b) one step given, one recalled.
    tasks["dict_syllogism_mc"] = syllogism_mc("dict_syllogism_mc", wn, corpus, N_ITEMS)
    tasks["dict_chain_mc"] = chain_mc("dict_chain_mc", wn, corpus, N_ITEMS)
    for name, rows in tasks.items():
        assert len(rows) >= N_ITEMS, f"{name}: only {len(rows)} items"
    return tasks


# ---------------------------------------------------------------- real task data from ../shared/data

def real_tasks(corpus: Corpus) -> dict[str, list[dict]]:
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

    # OpenBookQA's answers are longer and rarer than its distractors (the longest choice scores 0.36 on the test
    # split, chance 0.25): 500 of its 1,000 test + dev questions are chosen so that no surface cue beats chance,
    # their choices reordered to balance the gold position; few-shot examples from the dev questions left over.
    pool = obqa("openbookqa_main_test.tsv") + obqa("openbookqa_main_dev.tsv")
    chosen = unbiased_subset(pool, N_ITEMS, corpus, rng)
    positions = Balancer(4, rng)
    tasks["openbookqa"] = []
    for r in chosen:
        choices, gold = place(rng, r["choices"][r["gold"]], [c for i, c in enumerate(r["choices"]) if i != r["gold"]], positions)
        tasks["openbookqa"].append({**r, "choices": choices, "gold": gold})
    taken = {r["id"] for r in chosen}
    tasks["openbookqa.fewshot"] = [r for r in pool[500:] if r["id"] not in taken][:50]

    tasks["wikitext_ending_mc"], tasks["wikitext_ending_mc.fewshot"] = wikitext_endings(corpus)

    gsm = [json.loads(line) for line in (SHARED / "gsm8k_test.jsonl").read_text().splitlines() if line.strip()]
    gsm_rows = [{"id": f"gsm8k/{i}", "question": r["question"], "answer": r["answer"],
                 "target": r["answer"].split("####")[-1].strip()} for i, r in enumerate(gsm)]
    # GSM8K's few-shot examples come from its train split in lm-eval; only the test split is here, so
    # they are drawn from test items that are never evaluated.
    tasks["gsm8k"], tasks["gsm8k.fewshot"] = gsm_rows[:N_ITEMS], gsm_rows[N_ITEMS : N_ITEMS + 50]
    return tasks


def wikitext_sentences() -> list[tuple[str, list[str]]]:
    """WikiText-2 test as (article title, its sentences), the tokenizer's spacing undone, sentences with <unk> dropped."""
    raw = (SHARED / "wikitext2_raw_test.txt").read_text(encoding="utf-8")
    detok = [(" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" , ", ", "), (" . ", ". "), (" ; ", "; "), (" : ", ": "),
             (" 's", "'s"), ("( ", "("), (" )", ")"), (" n't", "n't")]
    articles: list[tuple[str, list[str]]] = []
    for line in raw.splitlines():
        t = line.strip()
        m = re.fullmatch(r"= ([^=].*[^=]) =", t)
        if m:
            articles.append((m.group(1).strip(), []))
            continue
        if not t or t.startswith("=") or not articles:
            continue
        for a, b in detok:
            t = t.replace(a, b)
        t = t.replace(" .", ".").replace(" ,", ",")
        for sent in re.split(r"(?<=[.!?]) (?=[A-Z])", t):
            if "<unk>" not in sent and 12 <= len(sent.split()) <= 36 and '"' not in sent:
                articles[-1][1].append(sent)
    return [a for a in articles if len(a[1]) >= 8]


def wikitext_endings(corpus: Corpus) -> tuple[list[dict], list[dict]]:
    """KA for real models (HellaSwag-like): a WikiText-2 sentence's true second half among 4 second halves of other
    sentences of the same article (the same topic), matched in length, none sharing a content word with the
    beginning, the answer's rank balanced on length, word count and unigram likelihood; gold position balanced. 500
    items, and 50 few-shot examples from other articles."""
    rng = task_rng("wikitext_ending_mc")
    articles = wikitext_sentences()
    rng.shuffle(articles)
    ranks, positions = Balancer(4, rng), Balancer(4, rng)
    seconds = [(lambda t: len(words(t)), Balancer(4, rng)), (lambda t: corpus.logp(t) / len(t), Balancer(4, rng))]
    items, shots = [], []
    for title, sents in articles:
        cands = []
        for i, sent in enumerate(sents):
            ws = sent.split()
            cut = len(ws) // 2
            cands.append((i, " ".join(ws[:cut]), " ".join(ws[cut:])))
        ends = sorted({c[2] for c in cands}, key=lambda t: (len(t), t))
        keys = [len(t) for t in ends]
        out, cap = (shots, 50) if len(shots) < 50 else (items, N_ITEMS)  # whole articles to one or the other
        for i, head, end in rng.sample(cands, len(cands)):
            if len(out) >= cap:
                break
            cue = content(head)
            if content(end) & cue:
                continue  # an ending that repeats the beginning's words is found by overlap alone
            ok = lambda t, e=end, c=cue: t != e and t[:1].islower() == e[:1].islower() and not (content(t) & c)  # noqa: E731
            others = matched_choices(rng, end, ends, keys, len, ok, ranks, seconds, window=6)
            if others is None:
                continue
            choices, gold = place(rng, end, others, positions)
            out.append({"id": f"wikitext_ending_mc/{title}/{i}", "context": head, "choices": choices, "gold": gold})
    assert len(items) == N_ITEMS and len(shots) == 50, (len(items), len(shots))
    return items, shots


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

    corpus = Corpus(docs_train)
    tasks = build_tasks(wn, gcide_held, corpus)
    tasks.update(real_tasks(corpus))
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
    "dict_kindof_cloze": ("KM: 'A X is a kind of' -> the hypernym (training facts; never a word of X; each hypernym at most 3 times), precision@k on one-token objects", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_kindof_em": ("KM: same facts, greedy generation, exact match against the hypernym's lemmas", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_define_mc": ("KM: 'word (pos):' -> its gloss among 4 of the same length (training synsets; no gloss repeats the word)", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "dict_heldout_define_mc": ("KA: the same format on held-out synsets", "WordNet 3.0 held-out split", "WordNet 3.0 licence"),
    "dict_ending_mc": ("KA: a held-out dictionary entry's true second half among 4 of the same length, none repeating a word of the first half (HellaSwag-like)", "GCIDE held-out split", "GPL-3+"),
    "dict_syllogism_mc": ("KR: four chains X->Y->Z stated as eight shuffled premises -> 'So X is a kind of' X's Z among the four Zs", "WordNet 3.0 held-out chains", "WordNet 3.0 licence"),
    "dict_chain_mc": ("KR: 'X is a kind of Y, so X is also a kind of' Z, where Y->Z was trained and X->Z never stated; 4-way, distractors of Z's training-text frequency, none an ancestor of X", "WordNet 3.0 train split", "WordNet 3.0 licence"),
    "nq_open": ("KM: Natural Questions open, dev, 500 seeded items (+50 few-shot)", "../shared/data/nq_open_dev.jsonl (google-research-datasets/natural-questions@fb26a30)", "CC BY-SA 3.0"),
    "wikitext_ending_mc": ("KA (real models): a WikiText-2 test sentence's true second half among 4 second halves from the same article, matched in length (HellaSwag-like); few-shot from other articles", "../shared/data/wikitext2_raw_test.txt (Deathnetworks/rotorquant:wikitext-test.txt@c5be50f)", "CC BY-SA 3.0"),
    "openbookqa": ("KR: OpenBookQA main, 500 of the 1,000 test + dev questions chosen so that no surface cue beats chance (the longest answer scores 0.36 on the whole test split), choices reordered to balance the gold position (few-shot from the dev questions left)", "../shared/data/openbookqa_main_{test,dev}.tsv (genggui001/opencompass@5649a0f)", "Apache-2.0"),
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

The multiple-choice tasks the lab builds match each answer's distractors in training-text frequency (single
words) or length (phrases), balance the answer's rank on those measures and its position across items, and never
let a choice repeat the prompt unless every choice does: `tests/eval/shortcuts.test.ts` checks that no no-model
baseline (frequency, length, copying, position, premise-chain end, and each pair of them) beats chance by more
than 0.05 on any task file.

Task items are JSON lines: multiple choice `{{id, context, choices, gold}}` (scored on " " + choice after the
context, lm-evaluation-harness style), generative `{{id, prompt, answers}}` / `{{id, question, answers}}`, cloze
`{{id, prompt, target}}`.
""")


if __name__ == "__main__":
    main()
