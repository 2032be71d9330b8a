"""Stage notes: pick the subject folder a note goes into: explicit, reused, suggested or keyword-based.

rapidfuzz is imported lazily, inside match_existing_subject, so importing this
module stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Sequence

from yt_study_buddy.notes.text_analysis import word_key

__all__ = [
    "TAXONOMY",
    "DEFAULT_SUBJECT",
    "keyword_subject",
    "normalize_subject_name",
    "match_existing_subject",
    "choose_subject",
]

DEFAULT_SUBJECT = "General"
_MAX_NAME = 60

#: Built-in subjects and the words or phrases that point to them. Matching is by
#: whole words (the text is tokenised), so "ai" never matches inside "said".
TAXONOMY: dict[str, tuple[str, ...]] = {
    "Machine Learning": (
        "machine learning", "neural network", "deep learning", "gradient descent", "backpropagation",
        "overfitting", "underfitting", "regularization", "regularisation", "training data", "training set",
        "test set", "validation set", "loss function", "learning rate", "hidden layer", "activation function",
        "dropout", "classifier", "supervised learning", "unsupervised learning", "reinforcement learning",
        "convolutional", "transformer", "embedding", "weight decay", "epoch", "perceptron", "neuron",
        "stochastic gradient", "decision tree", "random forest", "hyperparameter", "feature", "model",
    ),
    "Artificial Intelligence": (
        "ai", "artificial intelligence", "large language model", "llm", "chatbot", "prompt engineering",
        "gpt", "agi", "alignment", "generative ai",
    ),
    "Computer Science": (
        "algorithm", "data structure", "programming", "python", "javascript", "compiler", "recursion",
        "big o", "binary tree", "hash table", "linked list", "operating system", "database", "sql",
        "software", "function call", "variable", "source code", "debugging", "api",
    ),
    "Mathematics": (
        "theorem", "proof", "calculus", "derivative", "integral", "algebra", "matrix", "vector space",
        "equation", "polynomial", "geometry", "topology", "prime number", "linear algebra", "eigenvalue",
    ),
    "Statistics": (
        "statistics", "probability", "distribution", "variance", "standard deviation", "hypothesis test",
        "p value", "regression", "sample", "bayesian", "confidence interval", "mean", "median",
    ),
    "Physics": (
        "physics", "quantum", "relativity", "momentum", "velocity", "acceleration", "force", "gravity",
        "energy", "electromagnetism", "particle", "thermodynamics", "entropy", "wave", "photon",
    ),
    "Chemistry": (
        "chemistry", "molecule", "atom", "chemical reaction", "bond", "covalent", "ionic", "acid", "base",
        "periodic table", "electron", "compound", "oxidation", "reduction", "catalyst", "solution",
    ),
    "Biology": (
        "biology", "cell", "mitochondria", "mitochondrion", "chloroplast", "photosynthesis",
        "cellular respiration", "atp", "dna", "rna", "protein", "enzyme", "gene", "evolution", "organism",
        "membrane", "glucose", "glycolysis", "krebs cycle", "chlorophyll", "species", "tissue",
        "calvin cycle", "electron transport chain", "nucleus", "ribosome",
    ),
    "Medicine": (
        "medicine", "patient", "diagnosis", "symptom", "disease", "treatment", "clinical", "drug", "dose",
        "surgery", "infection", "vaccine", "immune system",
    ),
    "Economics": (
        "economics", "economy", "inflation", "supply and demand", "market", "gdp", "interest rate",
        "monetary policy", "fiscal policy", "unemployment", "trade", "price",
    ),
    "Finance": (
        "finance", "investing", "investment", "stock", "bond market", "portfolio", "dividend", "asset",
        "compound interest", "index fund", "valuation", "cash flow",
    ),
    "History": (
        "history", "empire", "century", "war", "revolution", "ancient", "medieval", "dynasty", "king",
        "civilization", "colonial", "treaty",
    ),
    "Psychology": (
        "psychology", "cognitive", "behavior", "behaviour", "memory", "emotion", "motivation",
        "cognitive bias", "personality", "anxiety", "perception", "conditioning",
    ),
    "Philosophy": (
        "philosophy", "ethics", "moral", "epistemology", "metaphysics", "plato", "aristotle", "kant",
        "existentialism", "logic", "virtue",
    ),
    "Language Learning": (
        "grammar", "vocabulary", "pronunciation", "verb", "noun", "conjugation", "fluency", "tense",
    ),
    "Music": (
        "music", "chord", "melody", "harmony", "rhythm", "scale", "guitar", "piano", "tempo",
    ),
    "Business": (
        "business", "startup", "marketing", "customer", "revenue", "strategy", "management",
        "entrepreneur", "product market fit", "sales",
    ),
}

# Words that fit many subjects ("model", "energy", "feature") count for less than specific ones.
_WEAK = frozenset({
    "model", "feature", "energy", "force", "wave", "solution", "base", "bond", "reduction", "sample",
    "mean", "price", "trade", "market", "memory", "logic", "scale", "variable", "strategy", "cell",
    "electron", "equation", "particle", "distribution", "neuron", "compound", "alignment", "proof",
})
_MIN_SCORE = 3.0
# The opening of a long lecture says what it is about; scanning three hours of it adds time, not accuracy.
_MAX_TEXT = 300_000
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_KEYWORDS: dict[str, list[tuple[tuple[str, ...], float]]] = {
    subject: [
        (tuple(word_key(w) for w in kw.split()), (0.5 if kw in _WEAK else 1.0) * (2.0 if " " in kw else 1.0))
        for kw in words
    ]
    for subject, words in TAXONOMY.items()
}
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "vs"})
_KEEP_PUNCT = set("&-+#,'()")


def keyword_subject(text: str) -> str | None:
    """Return the built-in subject whose keywords the text uses most, or None when nothing fits."""
    tokens = [word_key(t) for t in _TOKEN_RE.findall(text[:_MAX_TEXT].lower())]
    if not tokens:
        return None
    grams: Counter[tuple[str, ...]] = Counter(zip(tokens))
    grams.update(zip(tokens, tokens[1:]))
    grams.update(zip(tokens, tokens[1:], tokens[2:]))
    best: tuple[float, int, str] | None = None
    for order, (subject, keywords) in enumerate(_KEYWORDS.items()):
        score = 0.0
        distinct = 0
        for key, weight in keywords:
            count = grams.get(key, 0)
            if count:
                distinct += 1
                # Diminishing returns: one word said a hundred times is not a whole subject.
                score += weight * (1.0 + min(count, 20) ** 0.5)
        if distinct < 2 and score < 2 * _MIN_SCORE:
            continue
        if score >= _MIN_SCORE and (best is None or score > best[0]):
            best = (score, order, subject)
    return best[2] if best else None


def _title_word(word: str) -> str:
    if not word.islower():
        return word  # keep "AI", "iOS", "DNA" as written
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def normalize_subject_name(name: str) -> str:
    """Return a tidy, folder-safe subject name: 'machine   learning!' -> 'Machine Learning'."""
    text = unicodedata.normalize("NFKC", name or "")
    chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or ch in _KEEP_PUNCT:
            chars.append(ch)
        else:
            # Separators, dots, control characters, emoji and other symbols all become spaces.
            chars.append(" ")
    words = "".join(chars).split()
    words = [w.strip("-,'") for w in words]
    words = [w for w in words if w and any(c.isalnum() for c in w)]
    if not words:
        return DEFAULT_SUBJECT
    shown = [_title_word(w) if i == 0 or w.lower() not in _SMALL_WORDS else w.lower()
             for i, w in enumerate(words)]
    result = " ".join(shown)
    if len(result) > _MAX_NAME:
        cut = result[:_MAX_NAME]
        result = cut.rsplit(" ", 1)[0] if " " in cut else cut
    result = result.strip(" ,-")
    if result.upper() in _WINDOWS_RESERVED:
        result = f"{result} Notes"
    return result or DEFAULT_SUBJECT


def _match_key(name: str) -> str:
    return " ".join(word_key(w) for w in _TOKEN_RE.findall(unicodedata.normalize("NFKC", name).lower()))


def _initials(name: str) -> str:
    return "".join(w[0] for w in _TOKEN_RE.findall(name.lower()) if w not in _SMALL_WORDS)


def match_existing_subject(name: str, existing: Sequence[str], threshold: float = 85) -> str | None:
    """Return the existing subject folder that name means, or None: exact, acronym or close fuzzy match."""
    if not name or not existing:
        return None
    # Sorting makes the pick independent of the order the folders were listed in.
    candidates = sorted(dict.fromkeys(e for e in existing if e and e.strip()), key=lambda e: (e.casefold(), e))
    folded = name.strip().casefold()
    for cand in candidates:
        if cand.strip().casefold() == folded:
            return cand
    key = _match_key(name)
    if not key:
        return None
    for cand in candidates:
        if _match_key(cand) == key:
            return cand
    # "ML" for "Machine Learning": an all-caps short name that spells a folder's initials.
    stripped = name.strip()
    if 2 <= len(stripped) <= 5 and stripped.isalpha() and stripped.isupper():
        for cand in candidates:
            if len(_match_key(cand).split()) >= 2 and _initials(cand) == stripped.lower():
                return cand
    from rapidfuzz import fuzz

    best: tuple[float, str] | None = None
    for cand in candidates:
        ckey = _match_key(cand)
        if not ckey:
            continue
        # A much longer or shorter name is a different subject even when the letters overlap
        # ("Chemistry" is not "Biochemistry").
        if abs(len(ckey) - len(key)) > max(2, 0.15 * max(len(ckey), len(key))):
            continue
        score = fuzz.token_sort_ratio(key, ckey)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, cand)
    return best[1] if best else None


def choose_subject(*, explicit: str | None, auto_categorize: bool, suggestion: str | None, text: str,
                   existing_subjects: Sequence[str]) -> str:
    """Return the subject folder for a note: explicit wins, else a fitting existing folder or a new name."""
    if explicit and explicit.strip():
        name = normalize_subject_name(explicit)
        # Same folder on case-insensitive disks, so reuse its spelling.
        for cand in sorted(existing_subjects):
            if cand.casefold() == name.casefold():
                return cand
        return name
    if not auto_categorize:
        return DEFAULT_SUBJECT
    candidate = suggestion if suggestion and suggestion.strip() else keyword_subject(text or "")
    if not candidate:
        return DEFAULT_SUBJECT
    reused = match_existing_subject(candidate, existing_subjects)
    if reused is not None:
        return reused
    return normalize_subject_name(candidate)
