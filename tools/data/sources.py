"""Real English text from Debian packages, parsed into documents and facts.

WordNet 3.0 (wordnet-base) and the Collaborative International Dictionary of English (dict-gcide) are
downloaded with `apt-get download` (no install) into .data/debs and unpacked there. Everything here is
deterministic: the same packages give the same documents in the same order.
"""
from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = {
    "wordnet-base": "usr/share/wordnet",
    "dict-gcide": "usr/share/dictd/gcide.dict.dz",
}


def unpack_packages(cache: Path) -> Path:
    """apt-get download + dpkg -x the two packages once; returns the unpacked root."""
    debs, root = cache / "debs", cache / "debs" / "root"
    debs.mkdir(parents=True, exist_ok=True)
    for pkg, probe in PACKAGES.items():
        if (root / probe).exists():
            continue
        if not list(debs.glob(f"{pkg}_*.deb")):
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")


# ---------------------------------------------------------------- WordNet

POS_NAME = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
FILE_POS = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}


@dataclass
class Synset:
    key: str  # "n:02113335"
    pos: str  # n v a s r
    words: list[str]
    definition: str
    examples: list[str]
    pointers: list[tuple[str, str, int, int]] = field(default_factory=list)  # (symbol, target key, src, dst)


def clean_lemma(w: str) -> str:
    return re.sub(r"\((a|p|ip)\)$", "", w).replace("_", " ")


def parse_wordnet(root: Path) -> dict[str, Synset]:
    synsets: dict[str, Synset] = {}
    for fname in ("noun", "verb", "adj", "adv"):
        path = root / "usr/share/wordnet" / f"data.{fname}"
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            f = head.split()
            off, pos = f[0], f[2]
            wcnt, i = int(f[3], 16), 4
            words = []
            for _ in range(wcnt):
                words.append(clean_lemma(f[i]))
                i += 2
            pcnt = int(f[i])
            i += 1
            ptrs = []
            for _ in range(pcnt):
                sym, toff, tpos, st = f[i : i + 4]
                i += 4
                tkey = f"{'a' if tpos == 's' else tpos}:{toff}"
                ptrs.append((sym, tkey, int(st[:2], 16), int(st[2:], 16)))
            parts = [p.strip() for p in gloss.strip().split(";")]
            examples = [p.strip('" ') for p in parts if p.startswith('"')]
            definition = "; ".join(p for p in parts if p and not p.startswith('"'))
            key = f"{'a' if pos == 's' else pos}:{off}"
            synsets[key] = Synset(key, pos, words, definition, examples, ptrs)
    return synsets


def article(w: str) -> str:
    return "an" if w[:1].lower() in "aeiou" else "a"


def with_article(w: str) -> str:
    return w if w[:1].isupper() else f"{article(w)} {w}"


def hypernyms(s: Synset, wn: dict[str, Synset]) -> list[Synset]:
    return [wn[t] for sym, t, _, _ in s.pointers if sym in ("@", "@i") and t in wn]


def wordnet_document(s: Synset, wn: dict[str, Synset]) -> str:
    """One paragraph per synset: the gloss, then its relations stated as plain sentences."""
    w0 = s.words[0]
    lines = [f"{w0} ({POS_NAME[s.pos]}): {s.definition}."]
    if len(s.words) > 1:
        lines.append("Also called " + ", ".join(s.words[1:]) + ".")
    hypo = []
    for sym, t, src, dst in s.pointers:
        if t not in wn:
            continue
        o = wn[t]
        if sym == "@" and s.pos == "n":
            lines.append(f"{with_article(w0).capitalize() if not w0[:1].isupper() else w0} is a kind of {o.words[0]}.")
        elif sym == "@i":
            lines.append(f"{w0[:1].upper() + w0[1:]} is an instance of {with_article(o.words[0])}.")
        elif sym == "@" and s.pos == "v":
            lines.append(f"To {w0} is a way to {o.words[0]}.")
        elif sym == "~":
            hypo.append(o.words[0])
        elif sym == "#p":
            lines.append(f"{with_article(w0).capitalize() if not w0[:1].isupper() else w0} is part of {with_article(o.words[0])}.")
        elif sym == "#m":
            lines.append(f"{with_article(w0).capitalize() if not w0[:1].isupper() else w0} is a member of {with_article(o.words[0])}.")
        elif sym == "!" and src and dst:
            a, b = s.words[src - 1], o.words[dst - 1]
            lines.append(f"The opposite of {a} is {b}.")
        elif sym == "&" and s.pos == "s":
            lines.append(f"{w0[:1].upper() + w0[1:]} is similar to {o.words[0]}.")
    if hypo:
        lines.append(f"Kinds of {w0}: " + ", ".join(hypo[:6]) + ".")
    for ex in s.examples[:2]:
        lines.append(f'Example: "{ex}".')
    return " ".join(lines)


# ---------------------------------------------------------------- GCIDE

@dataclass
class Entry:
    headword: str
    pos: str
    body: str  # cleaned definitions and quotations, one line


def _strip_brackets(s: str) -> str:
    prev = None
    while prev != s:  # innermost first: etymologies nest [=a]-style accent codes
        prev, s = s, re.sub(r"\[[^\[\]]*\]", "", s)
    return s


def parse_gcide(root: Path) -> list[Entry]:
    raw = gzip.open(root / PACKAGES["dict-gcide"], "rt", encoding="utf-8", errors="replace").read()
    entries, block = [], []
    for line in raw.splitlines() + [""]:
        if line and not line[0].isspace() and block:
            entries.append(block)
            block = []
        if line.strip() or block:
            block.append(line)
    out = []
    for blk in entries:
        m = re.match(r"^([^\\\n]+?) \\[^\\]*\\(?:\s*\([^)]*\))?,?\s*(.*)$", blk[0])
        if not m:
            continue  # licence and database headers
        head = m.group(1).strip()
        lines = [m.group(2)] + blk[1:]
        kept = []
        for ln in lines:
            if len(ln) - len(ln.lstrip()) >= 40:
                continue  # right-aligned citation continuation
            ln = re.sub(r"\s*--\s*[A-Z0-9][^a-z].*$|\s*--\s*[A-Z][a-z]+\.?\s*$", "", ln)
            kept.append(ln.strip())
        body = _strip_brackets(" ".join(kept))
        body = body.replace("{", "").replace("}", "")
        body = re.sub(r"(?<=\w)[*\"`'](?=\w)", "", body)  # stress marks in derived forms: Ef*fect"less*ly
        body = re.sub(r"--\s*(?:[A-Z][a-z]*\.?\s*){1,3}(?=$|[A-Z-])", "", body)  # inline citations: --Shak.
        body = re.sub(r"\s+", " ", body).strip(" ,;")
        pm = re.match(r"^((?:[a-z]+\. ?)+(?:& [a-z]+\. ?)*(?:[a-z]+\. ?)*)\s*(.*)$", body)
        pos, body = (pm.group(1).strip(), pm.group(2)) if pm else ("", body)
        if "?" in head or len(body) < 8:
            continue
        out.append(Entry(head, pos, body))
    return out


def gcide_document(e: Entry) -> str:
    return f"{e.headword} ({e.pos.rstrip('.')}): {e.body}" if e.pos else f"{e.headword}: {e.body}"
