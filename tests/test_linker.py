"""Cross-linking: resolvable, idempotent, order-independent, and never in the wrong place."""

from __future__ import annotations

import random
import re
import threading

from tests.test_vault import make_job, vault_files
from yt_study_buddy.knowledge_graph import KnowledgeGraph
from yt_study_buddy.linker import RELATED_HEADING, link_body, link_vault, unlink_body
from yt_study_buddy.render import split_front_matter
from yt_study_buddy.vault import Vault

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
    assert "It said nothing about [[Cells|ai]]." in body


def test_word_boundaries_and_case(tmp_path):
    build(tmp_path)
    body = body_of(tmp_path, "Biology/Cells.md")
    assert "[[Backprop|Gradient descent]] does not apply" in body or "[[Gradients (" in body
    notes = KnowledgeGraph(Vault(tmp_path)).notes()
    text, _ = link_body("# T\n\nSource: local lecture file\n\nIt said nothing. AI is here.\n", "aaaaaaaaaaa",
                        {**notes, "aaaaaaaaaaa": {**notes["aaaaaaaaaaa"], "concepts": []}})
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
    graph = KnowledgeGraph(vault)
    first = link_vault(vault, graph)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.md")} == before
    assert link_vault(vault, graph) == first > 0
    vault.finalize()
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
