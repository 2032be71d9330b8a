"""The offline note engine: real notes from a transcript, deterministic, fast, and safe on odd input."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from yt_study_buddy.sources.captions import load_caption_file
from yt_study_buddy.models import ASSESSMENT_CATEGORIES, Segment, Transcript, VideoMeta, format_timestamp
from yt_study_buddy.notes.offline import OfflineEngine
from yt_study_buddy.notes.text_analysis import split_sentences

VIDEO_ID = "abcDEF12345"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECTIONS = ["## Overview", "## Core concepts", "## Key points", "## Definitions", "## Examples",
            "## Questions for further study"]
LINK_RE = re.compile(r"\[(\d+:\d{2}(?::\d{2})?)\]\(https://youtu\.be/([A-Za-z0-9_-]+)\?t=(\d+)\)")

LECTURE = """\
Today we study gradient descent, the method that trains almost every model in machine learning.
Gradient descent is an optimization method that minimizes a loss function by taking small steps.
The loss function measures how far the predictions are from the true answers in the training data.
The gradient points in the direction in which the loss function grows fastest.
So gradient descent steps in the opposite direction of the gradient.
The learning rate controls the size of each step of gradient descent.
If the learning rate is too small, training takes a very long time.
If the learning rate is too large, the weights overshoot the minimum and the loss function can grow.
For example, a learning rate of one would make a simple bowl diverge.
Stochastic gradient descent estimates the gradient from a mini-batch of training data.
A mini-batch is a small random subset of the training data.
Imagine a ball rolling down a hill: momentum keeps it moving in one direction.
Momentum averages past gradients so gradient descent stops zigzagging.
The learning rate schedule lowers the learning rate as training goes on.
Backpropagation computes the gradient of the loss function for every weight in a neural network.
A neural network trained with gradient descent and backpropagation can learn from training data.
We call the repeated pass over all the training data an epoch.
To summarize, gradient descent uses the gradient, the learning rate and the loss function together.
"""


def make_transcript(text: str = LECTURE, video_id: str = VIDEO_ID, *, step: float = 4.5,
                    split_words: int = 0) -> Transcript:
    """Build a transcript: one segment per line, or caption-sized fragments of split_words words."""
    segments = []
    t = 3.0
    for line in text.strip().splitlines():
        words = line.split()
        chunks = [line] if not split_words else [" ".join(words[i:i + split_words])
                                                   for i in range(0, len(words), split_words)]
        for chunk in chunks:
            segments.append(Segment(round(t, 2), step - 0.5, chunk))
            t += step
    return Transcript(video_id=video_id, segments=segments)


def meta(title: str = "Gradient Descent Basics", video_id: str = VIDEO_ID, source: str = "youtube") -> VideoMeta:
    return VideoMeta(video_id=video_id, title=title, channel="Test Channel", source=source)


@pytest.fixture()
def engine() -> OfflineEngine:
    return OfflineEngine()


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading) + len(heading)
    nxt = markdown.find("\n## ", start)
    return markdown[start: nxt if nxt != -1 else len(markdown)]


def test_notes_have_every_section_and_no_title_or_front_matter(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    positions = [notes.markdown.index(h) for h in SECTIONS]
    assert positions == sorted(positions)
    assert not notes.markdown.startswith("---")
    assert not re.search(r"^# ", notes.markdown, re.MULTILINE)
    assert notes.engine == "offline" and notes.model is None and notes.usage == {}
    assert engine.name == "offline" and engine.model is None
    assert notes.summary and notes.summary in notes.markdown


def test_same_transcript_gives_byte_identical_output(engine):
    first = engine.generate_notes(meta(), make_transcript())
    first_assessment = engine.generate_assessment(meta(), make_transcript(), first)
    # Work on an unrelated video in between: nothing may leak from it.
    other = make_transcript("Photosynthesis makes glucose in the chloroplast of a plant cell.\n" * 5, "zzzzzzzzzzz")
    engine.generate_notes(meta("Plants", "zzzzzzzzzzz"), other)
    again = OfflineEngine().generate_notes(meta(), make_transcript())
    again_assessment = OfflineEngine().generate_assessment(meta(), make_transcript(), again)
    assert again.markdown == first.markdown
    assert again.concepts == first.concepts
    assert again.summary == first.summary and again.subject == first.subject
    assert again_assessment == first_assessment


def test_timestamp_links_point_at_real_moments_of_this_video(engine):
    transcript = make_transcript()
    starts = {int(s.start) for s in transcript.segments}
    notes = engine.generate_notes(meta(), transcript)
    links = LINK_RE.findall(notes.markdown)
    assert len(links) >= 10
    for label, video_id, seconds in links:
        assert video_id == VIDEO_ID
        assert int(seconds) in starts
        assert label == format_timestamp(int(seconds))
    assert LINK_RE.search(section(notes.markdown, "## Key points"))


def test_concepts_are_the_lecture_key_terms(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    assert 5 <= len(notes.concepts) <= 15
    for expected in ("gradient descent", "learning rate", "loss function", "training data"):
        assert expected in notes.concepts
    assert len({c.lower() for c in notes.concepts}) == len(notes.concepts)
    for noise in ("the", "so", "we", "today", "example"):
        assert noise not in notes.concepts
    assert notes.concepts[0] == "gradient descent"
    assert notes.subject == "Machine Learning"


def test_definitions_and_examples_come_from_the_transcript(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    definitions = section(notes.markdown, "## Definitions")
    assert "**gradient descent**" in definitions
    assert "Gradient descent is an optimization method" in definitions
    assert "If the learning rate is too small" not in definitions  # "X is too ..." is not a definition
    examples = section(notes.markdown, "## Examples")
    assert "For example, a learning rate of one" in examples
    assert "Imagine a ball rolling down a hill" in examples


def test_cloze_questions_have_their_answers_below(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    questions = section(notes.markdown, "## Questions for further study")
    body, _, answers = questions.partition("> [!success]- Answers")
    assert answers, "answers sit below a fold so the learner can test first"
    clozes = re.findall(r"^(\d+)\. (.*_____.*)$", body, re.MULTILINE)
    assert len(clozes) >= 3
    answer_map = dict(re.findall(r"^> (\d+)\. \*\*(.+?)\*\*", answers, re.MULTILINE))
    transcript_text = make_transcript().text.lower()
    for number, question in clozes:
        term = answer_map[number]
        sentence = re.sub(r"\s*\(\[.*$", "", question)
        filled = sentence.replace("_____", term, 1).lower()
        # The term is blanked everywhere, so filling the first blank gives back a prefix of the sentence.
        assert filled.split("_____")[0].strip() in transcript_text


def test_assessment_covers_four_categories_with_grounded_answers(engine):
    transcript = make_transcript()
    notes = engine.generate_notes(meta(), transcript)
    assessment = engine.generate_assessment(meta(), transcript, notes)
    categories = {q.category for q in assessment.questions}
    assert categories == set(ASSESSMENT_CATEGORIES)
    starts = {s.start for s in transcript.segments}
    for q in assessment.questions:
        assert q.question and q.answer and q.key_concepts
        assert set(q.key_concepts) <= set(notes.concepts)
        assert q.timestamp in starts
        assert format_timestamp(q.timestamp) in q.answer
        quoted = re.findall(r"“(.+?)”", q.answer)
        assert quoted and all(part in transcript.text for part in quoted)
    assert assessment.usage == {}


def test_gap_questions_are_about_what_the_notes_left_out(engine):
    transcript = make_transcript()
    notes = engine.generate_notes(meta(), transcript)
    gaps = [q for q in engine.generate_assessment(meta(), transcript, notes).questions
            if q.category == "gap_analysis"]
    assert gaps
    for q in gaps:
        for quoted in re.findall(r"“(.+?)”", q.answer):
            assert quoted not in notes.markdown


def test_unpunctuated_auto_captions(engine):
    raw = re.sub(r"[.,:!?]", "", LECTURE.lower())
    transcript = make_transcript(raw, split_words=6, step=2.5)
    notes = engine.generate_notes(meta(), transcript)
    for heading in SECTIONS:
        assert heading in notes.markdown
    assert "gradient descent" in notes.concepts and "learning rate" in notes.concepts
    key_points = section(notes.markdown, "## Key points")
    lines = [line for line in key_points.splitlines() if line.startswith("- ")]
    # Eight windows: three open the Overview, two more are key points, the rest are left for the gap questions.
    assert len(lines) >= 2
    for line in lines:
        assert len(line.split()) <= 50, "windows, not one endless sentence"
    assessment = engine.generate_assessment(meta(), transcript, notes)
    assert {q.category for q in assessment.questions} == set(ASSESSMENT_CATEGORIES)


def test_empty_transcript_gives_a_short_note(engine):
    empty = Transcript(video_id=VIDEO_ID, segments=[])
    notes = engine.generate_notes(meta(), empty)
    for heading in SECTIONS:
        assert heading in notes.markdown
    assert notes.concepts == []
    assert len(notes.markdown) < 1500
    assert engine.generate_assessment(meta(), empty, notes).questions == []


@pytest.mark.parametrize("text", ["Hello.", "[Music]", "um uh", "Neural networks learn."])
def test_tiny_transcripts_do_not_crash(engine, text):
    transcript = Transcript(video_id=VIDEO_ID, segments=[Segment(0.0, 2.0, text)])
    notes = engine.generate_notes(meta(), transcript)
    assert "## Overview" in notes.markdown
    engine.generate_assessment(meta(), transcript, notes)


def test_speaker_labels_and_sound_tags_are_not_concepts(engine):
    lines = [f"Dr. Ada Stone: {line}" if i % 3 else f"[Music] Dr. Ada Stone: {line}"
             for i, line in enumerate(LECTURE.strip().splitlines())]
    notes = engine.generate_notes(meta(), make_transcript("\n".join(lines)))
    assert not any("stone" in c.lower() or "music" in c.lower() for c in notes.concepts)
    assert "Dr. Ada Stone:" not in notes.markdown


def test_local_recordings_get_plain_stamps_not_broken_links(engine):
    transcript = make_transcript(video_id="local-0123456789ab")
    transcript.method = "local-file"
    notes = engine.generate_notes(meta(video_id="local-0123456789ab", source="local"), transcript)
    assert "youtu.be" not in notes.markdown
    assert re.search(r"\[\d+:\d{2}\] ", section(notes.markdown, "## Key points"))


def test_three_hour_transcript_is_fast(engine):
    words = ("gradient descent learning rate loss function neural network backpropagation overfitting "
             "regularization dropout weight decay training data validation set epoch momentum").split()
    segments = []
    for i in range(30_000):
        # A different mix of words per line so the text is not one repeated sentence.
        picked = [words[(i * 7 + k * 3) % len(words)] for k in range(6)]
        segments.append(Segment(i * 0.36, 0.36, f"so the {picked[0]} {picked[1]} and the {picked[2]} "
                                                 f"{picked[3]} with {picked[4]} {picked[5]}"
                                                 + ("." if i % 3 == 2 else "")))
    transcript = Transcript(video_id=VIDEO_ID, segments=segments)
    # CPU seconds, not wall-clock: other work on a busy machine stretched the wall
    # clock from 2 s to 17 s here, while the work itself stays the same.
    began = time.process_time()
    notes = engine.generate_notes(meta(), transcript)
    engine.generate_assessment(meta(), transcript, notes)
    elapsed = time.process_time() - began
    # The budget is a few seconds on a quiet machine; this bound only catches a quadratic blow-up.
    assert elapsed < 60, f"took {elapsed:.1f} s of CPU"
    assert 5 <= len(notes.concepts) <= 15
    assert len(section(notes.markdown, "## Key points").splitlines()) <= 20


# -- the bundled example lectures ----------------------------------------

def example_files() -> list[Path]:
    lines = (EXAMPLES / "lectures.txt").read_text(encoding="utf-8").splitlines()
    return [EXAMPLES / line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_lectures_list_names_existing_caption_files_of_each_kind():
    files = example_files()
    assert len(files) >= 5
    assert all(f.is_file() for f in files)
    assert {f.suffix for f in files} >= {".vtt", ".srt", ".txt"}
    for f in files:
        _, _, transcript = load_caption_file(f)
        assert 80 <= len(transcript.segments) <= 150
        assert 6 * 60 <= transcript.duration <= 10 * 60


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_lecture_notes(engine, path):
    source, video_meta, transcript = load_caption_file(path)
    notes = engine.generate_notes(video_meta, transcript)
    assert 5 <= len(notes.concepts) <= 15
    assert len(re.findall(r"\[\d+:\d{2}\]", notes.markdown)) >= 10
    biology = path.stem in ("photosynthesis", "cellular_respiration")
    assert notes.subject == ("Biology" if biology else "Machine Learning")
    assessment = engine.generate_assessment(video_meta, transcript, notes)
    assert {q.category for q in assessment.questions} == set(ASSESSMENT_CATEGORIES)


def test_example_lectures_share_concepts_within_a_subject(engine):
    concepts = {}
    for path in example_files():
        _, video_meta, transcript = load_caption_file(path)
        concepts[path.stem] = {c.lower() for c in engine.generate_notes(video_meta, transcript).concepts}
    ml = [concepts[s] for s in ("gradient_descent", "neural_networks_backprop", "overfitting_and_regularization")]
    bio = [concepts["photosynthesis"], concepts["cellular_respiration"]]
    assert "gradient descent" in set.intersection(*ml)
    assert {"atp", "atp synthase", "electron transport chain"} <= set.intersection(*bio)


# -- overview and concept quotes -------------------------------------------


def overview_sentences(notes) -> list[str]:
    text = section(notes.markdown, "## Overview").strip().split("\n")[0]
    return re.split(r"(?<=[.!?])\s+", text)


def core_quotes(notes) -> list[str]:
    return re.findall(r"^- \*\*.+?\*\* \(.*?\): “(.*)”$", section(notes.markdown, "## Core concepts"), re.MULTILINE)


def test_overview_opens_with_the_framing_and_keeps_spoken_order(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    sentences = overview_sentences(notes)
    assert sentences[0].startswith("Today we study gradient descent")
    lines = [line.strip() for line in LECTURE.strip().splitlines()]
    positions = [lines.index(s) for s in sentences]
    assert positions == sorted(positions) and len(positions) == 3


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_overviews_start_early_and_run_in_order(engine, path):
    _, video_meta, transcript = load_caption_file(path)
    notes = engine.generate_notes(video_meta, transcript)
    spoken = [s.text for s in split_sentences(transcript.segments)]
    sentences = overview_sentences(notes)
    assert all(s in spoken for s in sentences)
    places = [spoken.index(s) for s in sentences]
    assert places == sorted(places) and len(places) == len(set(places))
    assert places[0] < len(spoken) // 8, "the overview opens with how the lecture opens"
    # the example from the report: the gradient descent lecture once opened with a late aside on Adam
    if path.stem == "gradient_descent":
        assert sentences[0].startswith("Today we are going to look at gradient descent")


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_each_core_concept_gets_its_own_quote(engine, path):
    _, video_meta, transcript = load_caption_file(path)
    quotes = core_quotes(engine.generate_notes(video_meta, transcript))
    assert len(quotes) >= 5
    # a quote is shared only when a term has no unused sentence left (a rarely mentioned term)
    assert len(quotes) - len(set(quotes)) <= 1, [q for q in quotes if quotes.count(q) > 1]


def test_a_defined_term_keeps_its_definition_as_its_quote(engine):
    notes = engine.generate_notes(meta(), make_transcript())
    line = next(ln for ln in section(notes.markdown, "## Core concepts").splitlines() if "**learning rate**" in ln)
    assert "“The learning rate controls the size of each step of gradient descent.”" in line
    quotes = core_quotes(notes)
    assert len(set(quotes)) == len(quotes)


# -- repetitive transcripts: distinct sentences, noun-phrase concepts ------


def fake_lecture(frames: tuple[str, ...], n: int = 40, words: tuple[str, ...] = ("tariff", "orbit", "market")) \
        -> Transcript:
    """Build a lecture that cycles through a few sentence frames, as repetitive auto captions do."""
    segments = []
    for i in range(n):
        a, b = words[i % len(words)], words[(i * 3 + 1) % len(words)]
        segments.append(Segment(i * 4.0, 4.0, frames[i % len(frames)].format(a=a, b=b)))
    return Transcript(video_id=VIDEO_ID, segments=segments)


def folded(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]+", " ", text.lower()).split())


def key_point_texts(notes) -> list[str]:
    return re.findall(r"^- \[\d+:\d{2}\](?:\([^)]*\))? (.*)$", section(notes.markdown, "## Key points"), re.MULTILINE)


def assert_no_repeated_sentences(notes) -> None:
    overview = [folded(s) for s in overview_sentences(notes)]
    key_points = [folded(s) for s in key_point_texts(notes)]
    assert len(set(overview)) == len(overview), overview
    assert len(set(key_points)) == len(key_points), key_points
    assert not set(overview) & set(key_points), "a key point repeats the Overview"


def test_repetitive_fake_lecture_repeats_no_sentence(engine):
    from tests.fakes.youtube import make_segments

    segments = [Segment(s, d, t) for s, d, t in make_segments(["tariff", "orbit", "market"], 40)]
    notes = engine.generate_notes(meta("Trade Basics"), Transcript(video_id=VIDEO_ID, segments=segments))
    assert len(overview_sentences(notes)) >= 3
    assert key_point_texts(notes)
    assert_no_repeated_sentences(notes)
    quotes = core_quotes(notes)
    assert len({folded(q) for q in quotes}) == len(quotes)


def test_sentences_repeated_with_other_case_and_punctuation_count_once(engine):
    lines = LECTURE.strip().splitlines()
    # The same lecture said three times, the repeats in caption style: lower case, commas dropped, "!" for ".".
    text = "\n".join(lines + [ln.lower().replace(",", "") for ln in lines] + [ln.replace(".", "!") for ln in lines])
    notes = engine.generate_notes(meta(), make_transcript(text))
    assert len(key_point_texts(notes)) >= 3
    assert_no_repeated_sentences(notes)


JUNK_CONCEPTS = {"matters", "matter", "connects", "key", "confuse", "notice", "common", "common mistake",
                 "confuse tariff", "confuse market", "confuse orbit", "summarise tariff", "summarise market",
                 "summarise orbit", "orbit grows", "tariff grows", "market grows", "idea", "mistake"}


def test_repetitive_fake_lecture_has_noun_concepts_only(engine):
    from tests.fakes.youtube import make_segments

    segments = [Segment(s, d, t) for s, d, t in make_segments(["tariff", "orbit", "market"], 40)]
    notes = engine.generate_notes(meta("Trade Basics"), Transcript(video_id=VIDEO_ID, segments=segments))
    concepts = {c.lower() for c in notes.concepts}
    assert {"tariff", "orbit", "market"} <= concepts
    assert not concepts & JUNK_CONCEPTS, concepts & JUNK_CONCEPTS


def test_verbs_the_stoplist_does_not_know_are_not_concepts(engine):
    # None of these verbs is on a hand list: they are told apart by how they are used.
    frames = ("Today we look at {a} and why it persists.",
              "The central idea behind {a} is how it interacts with {b}.",
              "People often conflate {a} with {b}, and we conflate them too.",
              "For traders, {a} sets the price of {b}.",
              "Notice how {b} shifts when {a} expands, because it expands.",
              "The main lesson is that {a} gives us a way to reason about {b}.")
    notes = engine.generate_notes(meta("Trade Basics"), fake_lecture(frames))
    concepts = [c.lower() for c in notes.concepts]
    assert {"tariff", "orbit", "market"} <= set(concepts)
    verbs = ("persist", "interact", "conflate", "shift", "expand", "set", "central", "main", "lesson")
    bad = [c for c in concepts if c.split()[0].startswith(verbs) or c.split()[-1].startswith(verbs)]
    assert not bad, bad
    # "For traders, tariff sets ...": no phrase runs across the comma.
    assert not any(c.startswith("trader ") or c.startswith("traders ") for c in concepts), concepts


def test_nouns_used_as_verbs_now_and_then_stay_concepts(engine):
    # "we weight each sample" is one verb use among many noun uses: "weight" and "weight decay" stay.
    text = "\n".join([
        "Weight decay shrinks every weight a little at each step of training.",
        "A large weight makes the model sensitive to small changes in its input.",
        "We weight each sample by how often its class appears in the data.",
        "Weight decay adds the squared weight to the loss function.",
        "The loss function then pulls each weight toward zero.",
        "With weight decay, the weight of a useless feature fades away.",
        "Hydrogen ions flow through the membrane, and the hydrogen ions drive the pump.",
        "The hydrogen ions build a gradient across the membrane.",
    ] * 2)
    concepts = {c.lower() for c in engine.generate_notes(meta("Weight Decay"), make_transcript(text)).concepts}
    assert {"weight decay", "weight", "loss function", "hydrogen ions"} <= concepts, concepts


def test_example_lectures_keep_their_key_terms(engine):
    expected = {
        "gradient_descent": {"gradient descent", "learning rate", "loss function", "training data"},
        "neural_networks_backprop": {"neural network", "backpropagation", "activation function", "hidden layer"},
        "overfitting_and_regularization": {"overfitting", "regularization", "weight decay", "dropout"},
        "photosynthesis": {"photosynthesis", "calvin cycle", "atp synthase", "thylakoid membrane"},
        "cellular_respiration": {"cellular respiration", "atp synthase", "krebs cycle", "glycolysis"},
    }
    for path in example_files():
        _, video_meta, transcript = load_caption_file(path)
        concepts = {c.lower() for c in engine.generate_notes(video_meta, transcript).concepts}
        assert expected[path.stem] <= concepts, (path.stem, expected[path.stem] - concepts)
        assert not concepts & JUNK_CONCEPTS


def test_a_one_sentence_talk_is_not_repeated_as_a_key_point(engine):
    transcript = Transcript(video_id=VIDEO_ID, segments=[
        Segment(0.0, 3.0, "Neural networks learn from data by adjusting every weight a little.")])
    notes = engine.generate_notes(meta(), transcript)
    assert "Neural networks learn" in section(notes.markdown, "## Overview")
    assert section(notes.markdown, "## Key points").strip() == "The Overview above already quotes the whole transcript."
