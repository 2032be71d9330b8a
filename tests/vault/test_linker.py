"""Cross-linking: resolvable, idempotent, order-independent, and never in the wrong place."""

from __future__ import annotations

import random
import re
import threading

from tests.vault.test_store import make_job, vault_files
from yt_study_buddy.vault.linker import RELATED_HEADING, link_body, unlink_body
from yt_study_buddy.vault.render import split_front_matter
from yt_study_buddy.vault.store import KnowledgeGraph, Vault

WIKI = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")

GRADIENTS = """## Overview

Training uses Gradient Descent on a loss.

### Backpropagation in headings is never linked

```python
# backpropagation inside code
```

Inline `backpropagation` code, a [link about backpropagation](https://example.org/backpropagation),
a URL https://example.org/momentum-and-backpropagation and finally backpropagation in prose.
It said nothing about ai. Momentum matters; momentum matters twice.

| backpropagation | table |
|---|---|
"""

BACKPROP = """## Overview

Backpropagation computes the gradient; gradient descent then updates weights with a learning rate.
"""

OPTIMISERS = """## Overview

Momentum and the learning rate; plain gradient descent is slower. See [[My own page]].
"""

CELLS = """## Overview

Mitochondria make energy. Gradient descent does not apply here, nor does AI.
"""


def jobs():
    return [
        make_job("aaaaaaaaaaa", "Gradients", concepts=["Gradient descent", "Loss"], markdown=GRADIENTS),
        make_job("bbbbbbbbbbb", "Backprop", concepts=["Backpropagation", "Gradient descent"], markdown=BACKPROP),
        make_job("ccccccccccc", "Optimisers", concepts=["Momentum", "Learning rate", "gradient descent"],
                 markdown=OPTIMISERS),
        make_job("ddddddddddd", "Cells", subject="Biology", concepts=["Mitochondria", "AI"], markdown=CELLS),
        make_job("eeeeeeeeeee", "Gradients", concepts=["Gradient descent"], markdown="Same title, other video.\n"),
    ]


def build(root, order=None, threaded=False) -> Vault:
    vault = Vault(root)
    todo = jobs() if order is None else [jobs()[i] for i in order]
    if threaded:
        threads = [threading.Thread(target=vault.write_note, kwargs=job) for job in todo]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for job in todo:
            vault.write_note(**job)
    vault.finalize()
    return vault


def body_of(root, rel):
    return split_front_matter((root / rel).read_text(encoding="utf-8"))[1]


def test_links_resolve_to_real_files(tmp_path):
    build(tmp_path)
    stems = {p.stem for p in tmp_path.rglob("*.md")}
    found = 0
    for path in tmp_path.rglob("*.md"):
        for target, _ in WIKI.findall(path.read_text(encoding="utf-8")):
            if target == "My own page":
                continue  # the author's own link, left as it was
            assert target in stems, (path.name, target)
            found += 1
    assert found > 10


def test_links_go_only_where_they_belong(tmp_path):
    build(tmp_path)
    body = body_of(tmp_path, "Machine Learning/Gradients (aaaaaaaaaaa).md")
    # prose mention, keeping the original phrase and case; the note's own concept stays plain
    assert "Training uses Gradient Descent on a loss." in body
    assert "[[Backprop|backpropagation]] in prose" in body
    assert "### Backpropagation in headings is never linked" in body
    assert "# backpropagation inside code" in body and "Inline `backpropagation` code" in body
    assert "[link about backpropagation](https://example.org/backpropagation)" in body
    assert "https://example.org/momentum-and-backpropagation " in body
    assert "| backpropagation | table |" in body
    # first mention only
    assert body.count("[[Optimisers|Momentum]]") == 1 and "momentum matters twice" in body
    # its own concept never links to itself, and a word inside another word never matches
    assert "[[Gradients (aaaaaaaaaaa)|" not in body
    # "AI" is a single word from a Biology note: never linked from another subject
    assert "It said nothing about ai." in body and "[[Cells|" not in body


def test_word_boundaries_and_case(tmp_path):
    build(tmp_path)
    body = body_of(tmp_path, "Biology/Cells.md")
    assert "[[Backprop|Gradient descent]] does not apply" in body or "[[Gradients (" in body
    notes = KnowledgeGraph(Vault(tmp_path)).notes()
    # (as a Biology note: a single word links only within its subject)
    text, _ = link_body("# T\n\nSource: local lecture file\n\nIt said nothing. AI is here.\n", "aaaaaaaaaaa",
                        {**notes, "aaaaaaaaaaa": {**notes["aaaaaaaaaaa"], "concepts": [], "subject": "Biology"}})
    assert "[[Cells|AI]] is here" in text and "s[[" not in text
    assert text.startswith("# T\n\nSource: local lecture file\n\n")  # the header is never linked


def test_related_section_lists_shared_concepts(tmp_path):
    build(tmp_path)
    body = body_of(tmp_path, "Machine Learning/Backprop.md")
    related = body.split(RELATED_HEADING, 1)[1]
    lines = [ln for ln in related.splitlines() if ln.startswith("- ")]
    assert lines[0].startswith("- [[") and all(": " in ln for ln in lines)
    assert any("[[Optimisers]]: Gradient descent" in ln for ln in lines)
    assert body.rstrip().endswith(lines[-1])


def test_idempotent(tmp_path):
    vault = build(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.md")}
    first = vault.finalize(relink=True)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.md")} == before
    assert first.relinked == 0
    assert vault.finalize(relink=True).links == first.links > 0
    assert vault.finalize().links == first.links
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.md")} == before


def test_unlink_restores_the_original_text(tmp_path):
    plain = Vault(tmp_path / "plain")
    for job in jobs():
        plain.write_note(**job)
    build(tmp_path / "linked")
    for rel in ("Biology/Cells.md", "Machine Learning/Optimisers.md", "Machine Learning/Backprop.md"):
        linked = body_of(tmp_path / "linked", rel)
        assert linked != body_of(tmp_path / "plain", rel)
        assert unlink_body(linked) == body_of(tmp_path / "plain", rel)
    assert "[[My own page]]" in body_of(tmp_path / "linked", "Machine Learning/Optimisers.md")


def test_order_independent_sequential_and_threaded(tmp_path):
    reference = vault_files(build(tmp_path / "ref").root)
    rng = random.Random(7)
    for n in range(3):
        order = list(range(5))
        rng.shuffle(order)
        other = build(tmp_path / f"v{n}", order=order, threaded=bool(n % 2))
        assert vault_files(other.root) == reference, order
    assert len(reference) == 10


def test_subject_only_keeps_links_inside_the_subject(tmp_path):
    vault = build(tmp_path)
    assert "[[" in body_of(tmp_path, "Biology/Cells.md").replace("[[Cells - Assessment]]", "")
    vault.finalize(subject_only=True)
    cells = body_of(tmp_path, "Biology/Cells.md")
    assert RELATED_HEADING not in cells
    assert WIKI.findall(cells) == [("Cells - Assessment", "")]
    ml = body_of(tmp_path, "Machine Learning/Backprop.md")
    assert "[[Cells" not in ml and "[[Optimisers" in ml


def test_deleted_note_leaves_no_dangling_links(tmp_path):
    vault = build(tmp_path)
    assert "[[Backprop|" in body_of(tmp_path, "Machine Learning/Gradients (aaaaaaaaaaa).md")
    (tmp_path / "Machine Learning" / "Backprop.md").unlink()
    vault.finalize()
    notes = [p for p in tmp_path.rglob("*.md") if not p.stem.endswith(" - Assessment")]
    assert len(notes) == 4
    for path in notes:
        assert "[[Backprop" not in path.read_text(encoding="utf-8")


def test_renamed_same_title_notes_are_linked_by_their_settled_names(tmp_path):
    build(tmp_path)
    text = body_of(tmp_path, "Machine Learning/Backprop.md")
    assert "[[Gradients (aaaaaaaaaaa)]]" in text or "[[Gradients (eeeeeeeeeee)]]" in text
    assert "[[Gradients]]" not in text


# -- what a link may point at ---------------------------------------------------------------


def index(*entries):
    """Return an index snapshot from (video_id, stem, subject, concepts) tuples."""
    return {vid: {"title": stem, "path": f"{subject}/{stem}.md", "subject": subject, "concepts": list(concepts),
                  "assessment": None} for vid, stem, subject, concepts in entries}


PHOTO = ("photo", "Photosynthesis", "Biology", ["hydrogen ion", "electron transport chain", "thylakoid membrane"])
RESP = ("resp", "Respiration", "Biology", ["electron", "glucose", "ATP synthase", "hydrogen ion"])
GRAD = ("grad", "Gradient Descent", "Machine Learning", ["gradient", "gradient descent", "loss", "model",
                                                         "training data", "weight"])
OVER = ("over", "Overfitting", "Machine Learning", ["data", "training", "overfitting", "regularization", "weight"])
NEURAL = ("nn", "Neural Networks", "Machine Learning", ["network", "backpropagation", "weight decay"])


def linked(text, video_id, *entries):
    return link_body(f"# T\n\nSource: local lecture file\n\n{text}\n", video_id, index(*entries))[0]


def test_single_words_do_not_link_across_subjects():
    body = linked("Pumping builds a hydrogen ion gradient. Glucose is made.", "photo", PHOTO, RESP, GRAD)
    assert "[[Gradient Descent|" not in body and "hydrogen ion gradient." in body
    assert "[[Respiration|Glucose]] is made." in body  # same subject: still linked
    # multi-word concepts still cross subjects; Related notes still lists shared concepts
    body = linked("Momentum speeds up gradient descent. Glucose too.", "photo", PHOTO, RESP, GRAD,
                  ("gd2", "Energy", "Biology", ["gradient descent"]))
    assert "[[Energy|gradient descent]]" in body or "[[Gradient Descent|gradient descent]]" in body
    cross = link_body("# T\n\nx\n", "grad", index(GRAD, OVER, ("bio", "Cells", "Biology", ["loss", "weight"])))[0]
    assert "- [[Cells]]: loss, weight" in cross


def test_a_word_inside_a_longer_concept_is_not_linked_alone():
    # the note's own phrase claims its words: no "[[Respiration|electron]] transport chain"
    body = linked("Electrons move along the electron transport chain. One electron is lost.", "photo",
                  PHOTO, RESP)
    assert "along the electron transport chain." in body
    assert "One [[Respiration|electron]] is lost." in body
    # another note's phrase, even where it is not the linked (first) mention
    body = linked("Use gradient descent here and gradient descent there; the gradient points uphill.", "nn",
                  NEURAL, GRAD)
    assert body.count("[[Gradient Descent|gradient descent]]") == 1
    assert "and gradient descent there; the [[Gradient Descent|gradient]] points uphill." in body
    # a phrase of the note's own never has its words linked elsewhere
    body = linked("A neural network is a network of neurons.", "over", OVER, NEURAL,
                  ("nn2", "Neural Nets", "Machine Learning", ["neural network"]))
    assert "[[Neural Nets|neural network]] is a [[Neural Networks|network]] of neurons." in body


def test_quoted_speech_and_generic_words_are_not_linked():
    body = linked("- **loss** (3 mentions): “The loss measures errors on the training data and backpropagation.”\n"
                  'She said "backpropagation is slow" twice.\n'
                  "Later, backpropagation again; the data and the model and the training.", "over", OVER, GRAD, NEURAL)
    assert "“The loss measures errors on the training data and backpropagation.”" in body
    assert '"backpropagation is slow"' in body
    assert "Later, [[Neural Networks|backpropagation]] again; the data and the model and the training." in body
    # generic words never link, not even within the subject; a phrase containing one does
    body = linked("The model needs data; the training data is small.", "nn", NEURAL, GRAD, OVER)
    assert "The model needs data; the [[Gradient Descent|training data]] is small." in body


def test_demo_lectures_link_only_what_they_mean(tmp_path):
    """The bundled example batch: no generic, split-phrase, quoted or cross-subject single-word links."""
    from pathlib import Path

    from yt_study_buddy.app import YouTubeStudyNotes

    examples = Path(__file__).resolve().parents[2] / "examples"
    app = YouTubeStudyNotes(base_dir=tmp_path / "v", engine="offline")
    report = app.process_urls([], file=examples / "lectures.txt")
    assert report.ok and len(report.results) == 5
    vault = Vault(tmp_path / "v")
    notes = vault.graph.notes()
    links = 0
    for entry in notes.values():
        body = body_of(tmp_path / "v", entry["path"])
        for line in body.split("\n"):
            if line.startswith("- [[") and "]]: " in line:
                continue  # the Related notes list
            for quoted in re.findall(r"“[^”]*”", line):
                assert "[[" not in quoted, (entry["path"], quoted)
            for m in re.finditer(r"\[\[([^\]|]+)\|([^\]]+)\]\]", line):
                target = next(e for e in notes.values() if Path(e["path"]).stem == m.group(1))
                phrase = m.group(2)
                links += 1
                assert phrase.casefold() not in ("data", "model", "training", "gradient"), line
                if " " not in phrase:
                    assert target["subject"] == entry["subject"], (entry["path"], line)
                # never the first or last word of a longer concept phrase spoken right there
                after = line[m.end():].split(" ", 2)[1:2]
                before = line[:m.start()].rstrip().rsplit(" ", 1)[-1:]
                for concept in (c for e in notes.values() for c in e["concepts"] if " " in c):
                    low = concept.casefold()
                    assert f"{phrase} {after[0] if after else ''}".casefold().strip() != low, line
                    assert f"{before[0] if before else ''} {phrase}".casefold().strip() != low, line
    assert links > 0


def test_flashcards_are_never_linked_but_the_section_after_them_is():
    # "glucose" and "ATP synthase" are first mentioned inside cards: without the rule they get linked there.
    text = ("Light is captured in prose.\n\n## Flashcards\n\n#flashcards/biology\n\n"
            "What is made from glucose?::Energy, through respiration. [0:10]\n\n"
            "The ==ATP synthase== turns a gradient into ATP. [0:20]\n\n## Afterword\n\nGlucose again.\n")
    body = linked(text, "photo", PHOTO, RESP)
    cards = body[body.index("## Flashcards"):body.index("## Afterword")]
    assert "[[" not in cards, cards
    assert "[[Respiration|Glucose]] again." in body
