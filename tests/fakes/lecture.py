"""What the fake model servers "understand" of a lecture: deterministic notes, study data and questions.

Shared by the fake Anthropic API and the fake OpenAI-compatible server, so
both answer the same transcript with the same content.
"""

from __future__ import annotations

import collections
import math
import re
from typing import Any

__all__ = ["Lecture", "LINE", "TRANSCRIPT", "tokens", "seconds", "from_schema", "existing_subjects"]

# A transcript line, or a timestamped bullet of the part notes a long lecture's overview reads.
LINE = re.compile(r"^(?:[-*]\s+)?\[(\d{1,2}:\d{2}(?::\d{2})?)\]\s*(.*)$")
#: Groups: 2 the video id, 3 the body.
TRANSCRIPT = re.compile(r'<(transcript|lecture_notes) video_id="([^"]*)">(.*?)</\1>', re.DOTALL)
WORD = re.compile(r"[A-Za-z][A-Za-z\-']+")
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each even every few
for from further get gets got had has have having he her here hers him his how however i if
in into is it its itself just know let like look lot make makes many may me might more most
much must my no nor not now of off often on once one only or other our out over own put
really right same say says see she should so some something such take than that the their
them then there these they thing things think this those through to today too two under
until up us very want was way we well were what when where which while who why will with
would you your going gonna okay yeah actually basically called call first next second
""".split())


def tokens(text: str) -> int:
    """A rough token count: four characters each."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def seconds(stamp: str) -> int:
    """Seconds of an M:SS or H:MM:SS stamp."""
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


class Lecture:
    """What the fake 'understands' of the transcript in a request."""

    def __init__(self, video_id: str, body: str):
        self.video_id = video_id
        self.lines: list[tuple[int, str, str]] = []
        for raw in body.splitlines():
            m = LINE.match(raw.strip())
            if m:
                self.lines.append((seconds(m.group(1)), m.group(1), m.group(2).strip()))
        self.concepts = self._concepts()

    def _concepts(self, limit: int = 8) -> list[str]:
        words_per_line = [[w.lower() for w in WORD.findall(text)] for _, _, text in self.lines]
        unigrams: collections.Counter[str] = collections.Counter()
        bigrams: collections.Counter[str] = collections.Counter()
        for words in words_per_line:
            keep = [w for w in words if w not in STOPWORDS and len(w) > 3]
            unigrams.update(keep)
            for a, b in zip(words, words[1:]):
                if a not in STOPWORDS and b not in STOPWORDS and len(a) > 2 and len(b) > 2:
                    bigrams[f"{a} {b}"] += 1
        chosen = [p for p, n in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2]
        chosen = chosen[: limit // 2]
        covered = {w for p in chosen for w in p.split()}
        for word, _n in sorted(unigrams.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(chosen) >= limit:
                break
            if word not in covered:
                chosen.append(word)
        return chosen or ["lecture"]

    def stamp(self, seconds: int, label: str, link: bool) -> str:
        if not link:
            return f"[{label}]"
        return f"[{label}](https://youtu.be/{self.video_id}?t={seconds})"

    def line_with(self, concept: str) -> tuple[int, str, str] | None:
        for line in self.lines:
            if concept.lower() in line[2].lower():
                return line
        return None

    def notes(self, link: bool) -> str:
        c = self.concepts
        first = self.lines[0][2] if self.lines else ""
        out = ["## Overview", "",
               f"This lecture covers {', '.join(c[:3])}. It opens with: \"{first}\"", "",
               "## Core concepts", ""]
        for concept in c:
            hit = self.line_with(concept)
            said = hit[2] if hit else "discussed throughout"
            out.append(f"- **{concept.title()}**: {said}")
        out += ["", "## Key points", ""]
        step = max(1, len(self.lines) // 10)
        for seconds, label, text in self.lines[::step][:12]:
            out.append(f"- {self.stamp(seconds, label, link)} {text}")
        out += ["", "## Definitions", ""]
        for concept in c[:4]:
            out.append(f"- **{concept.title()}**: a central idea of this lecture.")
        out += ["", "## Examples", ""]
        examples = [ln for ln in self.lines if re.search(r"\b(example|instance|imagine)\b", ln[2], re.I)]
        for seconds, label, text in (examples or self.lines[:2])[:4]:
            out.append(f"- {self.stamp(seconds, label, link)} {text}")
        out += ["", "## Questions for further study", ""]
        for a, b in zip(c, c[1:4]):
            out.append(f"- How does {a} relate to {b}?")
        return "\n".join(out) + "\n"

    def part_notes(self, link: bool) -> str:
        """What a model writes for one part of a long lecture: a summary and ### sections."""
        full = self.notes(link)
        summary = full.split("## Core concepts")[0].replace("## Overview", "").strip()
        body = full.split("## Key points", 1)[1].split("## Questions for further study")[0]
        return summary.replace("This lecture", "This part", 1) + "\n\n### Key points" \
            + body.replace("\n## ", "\n### ")

    def overview_notes(self, link: bool) -> str:
        """What a model writes across a long lecture's parts: the sections that speak for the whole."""
        full = self.notes(link)
        head = full.split("## Key points")[0]
        return head + "## Questions for further study" + full.split("## Questions for further study", 1)[1]

    def notes_for(self, request: str, link: bool) -> str:
        """The notes a request asks for: a whole lecture, one part, or the overview across parts."""
        # Follow the long-lecture requests' shape, as a model would (see notes/part_prompts.py).
        if "one part of a long lecture" in request:
            return self.part_notes(link)
        if "opening and closing sections" in request:
            return self.overview_notes(link)
        return self.notes(link)

    def study_data(self, existing: list[str]) -> dict[str, Any]:
        words = {w for p in self.concepts for w in p.split()}
        subject = None
        for name in existing:
            if {w.lower() for w in WORD.findall(name)} & words:
                subject = name
                break
        return {
            "concepts": list(self.concepts),
            "summary": f"The lecture explains {', '.join(self.concepts[:3])} "
                       f"over {len(self.lines)} transcript lines.",
            "subject": subject or self.concepts[0].title(),
            "flashcards": self.flashcards(),
        }

    def flashcards(self) -> list[dict[str, Any]]:
        """A card per concept the transcript says something about, with a cloze of that line."""
        cards = []
        for concept in self.concepts:
            hit = self.line_with(concept)
            if hit is None:
                continue
            seconds, _, text = hit
            card: dict[str, Any] = {"front": f"What does the lecture say about {concept}?",
                                    "back": text, "timestamp_seconds": seconds}
            marked = re.sub(re.escape(concept), lambda m: f"=={m.group(0)}==", text, count=1, flags=re.I)
            if marked != text:
                card["cloze"] = marked
            cards.append(card)
        return cards

    def assessment(self) -> dict[str, Any]:
        from yt_study_buddy.models import ASSESSMENT_CATEGORIES

        questions = []
        c = self.concepts
        for i, category in enumerate(ASSESSMENT_CATEGORIES):
            for j in range(2):
                concept = c[(2 * i + j) % len(c)]
                hit = self.line_with(concept)
                item: dict[str, Any] = {
                    "category": category,
                    "question": f"[{category}] What does the lecture say about {concept}?",
                    "answer": f"It says: {(hit[2] if hit else concept).rstrip('.')}.",
                    "key_concepts": [concept],
                }
                if hit:
                    item["timestamp_seconds"] = hit[0]
                questions.append(item)
        return {"questions": questions}


def from_schema(schema: dict[str, Any]) -> Any:
    """Produce a value that satisfies a simple JSON schema."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [from_schema(schema.get("items", {"type": "string"}))]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    return "fake"


def existing_subjects(request_text: str) -> list[str]:
    """The vault subjects a study-data request lists."""
    if "Existing subjects" not in request_text:
        return []
    block = request_text.split("Existing subjects", 1)[1]
    return [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ")]
