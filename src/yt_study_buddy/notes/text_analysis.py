"""Stage notes: split caption text into timed sentences and score key terms, with the standard library only.

Used by the offline note engine and the keyword categoriser. Everything here is
deterministic: the same segments always give the same sentences and terms, in
the same order, whatever else the process has done.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from yt_study_buddy.models import Segment

__all__ = [
    "STOPWORDS",
    "GENERIC_WORDS",
    "is_generic_term",
    "Sentence",
    "Term",
    "clean_caption_text",
    "split_sentences",
    "tokenize",
    "word_key",
    "extract_terms",
    "term_pattern",
]

# English function words plus the filler and hedging words of spoken lectures:
# a transcript is speech, so "gonna", "basically" and "okay" are noise too.
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above according across actually after afterwards again against ago ah ahead all almost alone along
    already also although always am among amongst an and another any anybody anyhow anyone anything anyway
    anyways anywhere apart are aren't around as aside ask asked asking at away awesome back bad basically be became
    because become becomes becoming been before beforehand begin beginning behind being below beside besides best
    better between beyond big bit both brief briefly but by call called calls came can can't cannot cause certain
    certainly clear clearly come comes coming completely consider could couldn't course cool day days definitely
    did didn't different do does doesn't doing don't done down during each easy either else elsewhere end enough
    entire especially etc even ever every everybody everyone everything everywhere exactly example examples
    except fact fairly far few fine first five following for forth four from further furthermore gave get gets
    getting give given gives giving go goes going gone gonna good got gotta great guess guys had hadn't half happen
    happens hard has hasn't have haven't having he he'd he'll he's hello hence her here here's hers herself hey hi
    him himself his hopefully how however huge i i'd i'll i'm i've idea ideas ie if imagine important in indeed
    instance instead interesting into is isn't it it'd it'll it's its itself just keep keeps kind kinds know known
    knows largely last later least less let let's lets like likely little long look looking looks lot lots made
    mainly make makes making many maybe me mean means meant meanwhile might mind minute minutes more moreover most
    mostly much must my myself name namely need needed needs never nevertheless new next nice nine no nobody none
    noone nor normally not nothing now nowhere number numbers obviously of off often oh ok okay old on once one
    ones only onto or other others otherwise ought our ours ourselves out over overall own part particular
    particularly people per perhaps pick place point points possible pretty probably put quick quite rather
    really reason recall right said same saw say saying says second see seeing seem seemed seems seen self
    sense seriously set seven several shall she she'd she'll she's should shouldn't show shows side simple
    simply since six slide slides small so some somebody somehow someone something sometimes somewhat somewhere
    soon sort sorts start started starting still stuff such suppose sure take taken takes taking talk talked
    talking tell tells ten than thank thanks that that's thats the their theirs them themselves then thence there
    there's thereafter thereby therefore therein these they they'd they'll they're they've thing things think
    thinking third this thorough thoroughly those though three through throughout thus time times to today
    together too took toward towards tried tries truly try trying turn turns twice two uh um un under unless
    until up upon us use used useful uses using usual usually various very via video videos want wanted wants
    was wasn't way ways we we'd we'll we're we've week weeks well went were weren't what what's whatever when
    whenever where where's whereas wherever whether which while who who's whoever whole whom whose why will
    wish with within without won't wonder word words work works would wouldn't wow yeah year years yes yet you
    you'd you'll you're you've your yours yourself yourselves zero
    """.split()
    # Counting words and the vague nouns of classroom talk are never study terms.
    + """
    eight nine eleven twelve thirteen fourteen fifteen sixteen eighteen twenty thirty forty fifty sixty seventy
    eighty ninety hundred hundreds thousand thousands million millions billion billions dozen dozens percent
    quarter single true false real high higher low lower large larger small smaller tiny whole step steps change
    changes pass answer answers question questions problem problems result results value values amount level
    levels form type types case cases lecture lectures session sessions topic topics hour hours class classes
    everyone homework exercise chapter piece bunch couple matter moment moments everybody week's today's
    morning afternoon evening welcome hand minus plus times respect regard mistake mistakes takeaway takeaways
    lesson lessons
    """.split()
    # Verbs of classroom talk ("why it matters", "confuse X with Y", "to summarise"): never part of a term.
    + """
    matter matters mattered connect connects confuse confuses confused confusing summarise summarises summarised
    summarising summarize summarizes summarized summarizing recap notice notices noticed noticing explain explains
    explained explaining understand understands understood remember remembers remembered discuss discusses
    discussed discussing mention mentions mentioned describe described describing describes grow grows grew realise
    realises realised realize realizes realized believe believes believed depend depends depended tend tends
    tended helps helped emphasise emphasize revisit revisits find finds found finding
    """.split()
)

# Nouns too vague to study on their own: never a key term, a blank or a card's whole answer,
# though a phrase may hold them ("cell membrane", "learning rate", "data set").
GENERIC_WORDS: frozenset[str] = frozenset(
    """
    model data plant valley fit cell system process method function result output input structure unit
    size rate level type form part way idea concept term point test work use set number amount information
    example thing problem change step value time side area group line order state kind piece item source
    effect role stuff something stage molecule phase bit
    """.split()
)

# Words that can sit inside a term ("public key", "common ancestor") but are never a term alone.
_NOT_ALONE: frozenset[str] = frozenset(
    """
    key main common basic general core central major minor typical specific similar final previous actual
    overall fast slow short strong weak early late wrong correct tricky
    """.split()
)
# A word right after these is a verb: a subject pronoun, a modal or a negation ("we compute", "can fit").
_VERB_AFTER_ANY = frozenset("i we you they can could will would should must might may cannot can't won't "
                            "don't doesn't didn't let's".split())
# Words that open a noun phrase: determiners, possessives, quantifiers and prepositions.
_NOUN_AFTER = frozenset("""
    the a an this that these those its their our your my his her of about at behind with on in for from into by
    some any each every no many several such all both between through under over than like as two three four
    more most fewer less other same which what whose
    """.split())
# After "it", "he" or "she" only an inflected word is a verb ("it matters"); "call it momentum" names a noun.
_VERB_AFTER_INFLECTED = frozenset("it he she".split())

_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?:['’][A-Za-z]+)?")
# Sound tags like [Music] or (applause) and speaker-change markers of auto captions.
_NOISE_RE = re.compile(r"\[[^\]]{0,40}\]|\((?:music|applause|laughter|laughs|inaudible|silence)\)|>>+|<[^>]{1,40}>",
                       re.IGNORECASE)
_FILLER_RE = re.compile(r"\b(?:um+|uh+|erm+|uhm+)\b[,.]?\s*", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
# "Dr. Maya Okafor: text" (Zoom, Teams exports): up to four capitalised words and a colon open the line.
_SPEAKER_RE = re.compile(r"^\s*((?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*):\s+")
# A sentence ends at . ! ? (optionally followed by a closing quote) before whitespace.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'”’)]?\s+")
_ENDS_SENTENCE_RE = re.compile(r"[.!?][\"'”’)]?$")
# Commas, semicolons, colons, brackets, quotes and dashes end a clause inside a sentence.
_CLAUSE_BREAK_RE = re.compile(r"[,;:()\[\]\"“”!?]|\.(?=\s)|\s[-–—]+\s|[–—]")

# Unpunctuated auto captions become windows of about this many words.
_WINDOW_WORDS = 28
_WINDOW_MAX_WORDS = 45
# Even punctuated text gets cut at a segment boundary past this length.
_SENTENCE_MAX_WORDS = 70


@dataclass(frozen=True)
class Sentence:
    """A sentence (or caption window) with the time its first word is spoken."""

    index: int
    text: str
    start: float


@dataclass
class Term:
    """A key term: its normalised key, its natural display form and where it occurs."""

    key: tuple[str, ...]
    display: str
    count: int
    score: float
    first_sentence: int
    sentences: list[int] = field(default_factory=list)


def clean_caption_text(text: str) -> str:
    """Remove sound tags, speaker arrows, markup and filler words from caption text."""
    text = _NOISE_RE.sub(" ", text)
    text = _FILLER_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()


def tokenize(text: str) -> list[str]:
    """Return the word tokens of text, case preserved."""
    return _TOKEN_RE.findall(text)


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """Return the lowercase singular-ish key of a word, so 'Networks' and 'network' group together."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ys", "as", "os")):
        return w[:-1]
    return w


def is_generic_term(text: str) -> bool:
    """True when text is one vague or function word ("model", "plant", "the"): no use as an answer alone."""
    words = tokenize(text)
    if not words:
        return not any(ch.isalnum() for ch in text)  # "2" answers "how many"; "?" answers nothing
    if len(words) != 1:
        return False
    key = word_key(words[0])
    return key in GENERIC_WORDS or key in STOPWORDS or words[0].lower() in STOPWORDS or key in _NOT_ALONE


def _finish(words: list[str], capitalise: bool) -> str:
    text = " ".join(words).strip()
    if capitalise and text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


def _strip_speaker(text: str, speakers: set[str]) -> str:
    m = _SPEAKER_RE.match(text)
    return text[m.end():] if m and m.group(1) in speakers else text


def split_sentences(segments: Sequence[Segment]) -> list[Sentence]:
    """Group caption segments into timed sentences; unpunctuated captions become ~30-word windows."""
    cleaned = [(seg.start, clean_caption_text(seg.text)) for seg in segments]
    # A label that opens several lines is a speaker name, not speech ("Stage two:" would not repeat).
    labels = Counter(m.group(1) for _, text in cleaned if (m := _SPEAKER_RE.match(text)))
    speakers = {name for name, n in labels.items() if n >= 2}
    if speakers:
        cleaned = [(start, _strip_speaker(text, speakers)) for start, text in cleaned]
    cleaned = [(start, text) for start, text in cleaned if text]
    total_words = sum(text.count(" ") + 1 for _, text in cleaned)
    enders = sum(len(re.findall(r"[.!?](?:\s|$)", text)) for _, text in cleaned)
    # Auto captions carry almost no punctuation; one sentence end per 40 words
    # or fewer means the text cannot be trusted to be split by its dots.
    punctuated = total_words > 0 and enders * 40 >= total_words
    out: list[Sentence] = []
    buf: list[str] = []
    buf_start = 0.0

    def flush() -> None:
        nonlocal buf
        text = _finish(buf, capitalise=not punctuated)
        if len(tokenize(text)) >= 1:
            out.append(Sentence(len(out), text, buf_start))
        buf = []

    for start, text in cleaned:
        if not punctuated:
            if not buf:
                buf_start = start
            buf.extend(text.split())
            if len(buf) >= _WINDOW_WORDS:
                if len(buf) > _WINDOW_MAX_WORDS:
                    # One very long caption line: cut it into windows of its own.
                    words = buf
                    buf = []
                    for i in range(0, len(words), _WINDOW_WORDS):
                        buf_start = buf_start if i == 0 else start
                        buf = words[i:i + _WINDOW_WORDS]
                        if len(buf) >= _WINDOW_WORDS // 2 or i == 0:
                            flush()
                    continue
                flush()
            continue
        pieces = _SENTENCE_END_RE.split(text)
        for i, piece in enumerate(pieces):
            piece = piece.strip()
            if not piece:
                continue
            if not buf:
                buf_start = start
            buf.extend(piece.split())
            last = i == len(pieces) - 1
            if not last or _ENDS_SENTENCE_RE.search(piece):
                flush()
        if len(buf) >= _SENTENCE_MAX_WORDS:
            flush()
    if buf:
        flush()
    return out


def _clause_tokens(text: str) -> list[str]:
    """Return the tokens of text with an empty string at each clause break, which no phrase spans."""
    # "To summarise, tariff gives ..." must not yield the phrase "summarise tariff".
    out: list[str] = []
    for n, clause in enumerate(_CLAUSE_BREAK_RE.split(text)):
        if n and out and out[-1]:
            out.append("")
        out.extend(tokenize(clause))
    return out


def _candidate_phrases(tokens: list[str]) -> Iterable[tuple[int, int]]:
    """Yield (start, end) spans of 1-3 content words between stopwords."""
    run_start = None
    for i, tok in enumerate(tokens + [""]):
        content = bool(tok) and len(tok) > 2 and tok.lower() not in STOPWORDS and not tok.isdigit() \
            and not tok.lower().endswith("ly")
        if content and run_start is None:
            run_start = i
        elif not content and run_start is not None:
            for a in range(run_start, i):
                for b in range(a + 1, min(a + 3, i) + 1):
                    yield a, b
            run_start = None


def _inflected(word: str) -> bool:
    """True when a lowercase word ends like a third-person or past verb form ("connects", "changed")."""
    return word.endswith("ed") or (word.endswith("s") and not word.endswith(("ss", "us", "is")))


def _display_form(variants: Counter, key: tuple[str, ...]) -> str:
    """Pick how a term is shown: singular when spoken that way, lowercase unless mostly written otherwise (ATP)."""
    singular = Counter({v: c for v, c in variants.items() if tuple(w.lower() for w in v.split()) == key})
    pool = singular or variants
    lower_total = sum(c for v, c in pool.items() if v == v.lower())
    others = sorted(((c, v) for v, c in pool.items() if v != v.lower()), key=lambda cv: (-cv[0], cv[1]))
    if others and others[0][0] > lower_total:
        return others[0][1]
    lowers = sorted(((c, v) for v, c in pool.items() if v == v.lower()), key=lambda cv: (-cv[0], cv[1]))
    return lowers[0][1] if lowers else others[0][1]


def extract_terms(sentences: Sequence[Sentence], limit: int = 15, minimum: int = 5, title: str = "") -> list[Term]:
    """Return the key terms of the sentences, best first: repeated phrases beat words, title words count double."""
    counts: Counter[tuple[str, ...]] = Counter()
    variants: dict[tuple[str, ...], Counter] = {}
    where: dict[tuple[str, ...], list[int]] = {}
    # How often each word is spoken at all, and how often as a verb, to tell "it matters" from "matter".
    spoken: Counter[str] = Counter()
    as_verb: Counter[str] = Counter()
    ends_inflected: Counter[tuple[str, ...]] = Counter()
    as_noun: Counter[tuple[str, ...]] = Counter()
    for sent in sentences:
        tokens = _clause_tokens(sent.text)
        previous = ""
        for tok in tokens:
            if not tok:
                previous = ""
                continue
            low = tok.lower()
            key = word_key(low)
            spoken[key] += 1
            if previous in _VERB_AFTER_ANY or (previous in _VERB_AFTER_INFLECTED and _inflected(low)):
                as_verb[key] += 1
            previous = low
        seen_here: set[tuple[str, ...]] = set()
        for a, b in _candidate_phrases(tokens):
            words = tokens[a:b]
            # A capitalised first word of a sentence says nothing about how the term is written.
            shown = [w.lower() if (j + a == 0 and w[:1].isupper() and w[1:].islower()) else w
                     for j, w in enumerate(words)]
            key = tuple(word_key(w) for w in words)
            counts[key] += 1
            if _inflected(words[-1].lower()):
                # "orbit shifts" or "hydrogen ions"? A noun phrase can open a sentence or follow "the", "of" ...
                ends_inflected[key] += 1
                if a == 0 or tokens[a - 1].lower() in _NOUN_AFTER:
                    as_noun[key] += 1
            forms = variants.get(key)
            if forms is None:
                forms = variants[key] = Counter()
            forms[" ".join(shown)] += 1
            if key not in seen_here:
                seen_here.add(key)
                where.setdefault(key, []).append(sent.index)
    # Verbs and words that are never a term alone do not become terms; nor do phrases that open or close
    # with a verb ("confuse tariff", "orbit grows"): what is left is mostly noun phrases.
    verbs = {w for w, n in as_verb.items() if n >= 2 and 2 * n >= spoken[w]}
    for key in [k for k in counts if (len(k) == 1 and (k[0] in _NOT_ALONE or k[0] in GENERIC_WORDS)) or k[0] in verbs or k[-1] in verbs
                or (ends_inflected[k] == counts[k] and not as_noun[k])]:
        del counts[key]
    if not counts:
        return []

    def base_score(key: tuple[str, ...]) -> float:
        # Phrases are rarer than words, so a repeated phrase is worth more than its raw count.
        return counts[key] * (1.0 + 1.0 * (len(key) - 1))

    phrases = sorted((k for k in counts if len(k) > 1 and counts[k] >= 2),
                     key=lambda k: (-base_score(k), where[k][0], k))
    scored: dict[tuple[str, ...], float] = {}
    for key in phrases:
        if len(scored) >= limit:
            break
        # Skip a phrase that overlaps a stronger one ("stochastic gradient" next to "gradient descent").
        if any(_overlaps(key, other) for other in scored):
            continue
        scored[key] = base_score(key)
    absorbed: Counter[str] = Counter()
    for key in scored:
        for w in key:
            absorbed[w] += counts[key]
    # A word mostly spoken inside a chosen phrase ("descent" in "gradient descent") is not a term of its own;
    # what is left over must still repeat. Words count for less than phrases: they are vaguer.
    for min_word in (3, 2, 1):
        for key in counts:
            if len(key) == 1 and key not in scored:
                rest = counts[key] - absorbed[key[0]]
                if rest >= min_word:
                    penalty = 0.6 if key[0].endswith(("ing", "ed")) else 0.8
                    scored[key] = rest * penalty
        if len(scored) >= minimum:
            break
    if len(scored) < minimum:
        for key in counts:
            scored.setdefault(key, float(counts[key]))
    # The title names what the talk is about: a term it contains is a key term almost by definition.
    title_words = {word_key(w) for w in tokenize(title)}
    for key in scored:
        if title_words and all(w in title_words for w in key):
            scored[key] *= 2.0
    chosen = sorted(scored, key=lambda k: (-scored[k], where[k][0], k))[:limit]
    return [
        Term(key=k, display=_display_form(variants[k], k), count=counts[k], score=scored[k],
             first_sentence=where[k][0], sentences=where[k])
        for k in chosen
    ]


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when one phrase contains the other or they share all but one word in sequence."""
    if len(a) == 1 or len(b) == 1:
        return False
    sa, sb = " ".join(a), " ".join(b)
    if f" {sa} " in f" {sb} " or f" {sb} " in f" {sa} ":
        return True
    # "stochastic gradient" + "gradient descent": a's tail is b's head.
    return a[1:] == b[:-1] or b[1:] == a[:-1]


def term_pattern(term: Term) -> re.Pattern[str]:
    """Return a whole-word, case-insensitive pattern matching the term and its plural forms."""
    parts = []
    for w in term.key:
        stem = re.escape(w)
        if w.endswith("y") and len(w) > 3:
            parts.append(f"(?:{stem}|{re.escape(w[:-1])}ies)(?:['’]s)?")
        else:
            parts.append(f"{stem}(?:s|es)?(?:['’]s)?")
    return re.compile(r"\b" + r"[\s-]+".join(parts) + r"\b", re.IGNORECASE)
