"""Subject choice: keyword taxonomy, folder-safe names, fuzzy reuse of existing folders."""

from __future__ import annotations

import pytest

from yt_study_buddy.notes.categorize import (
    choose_subject,
    keyword_subject,
    match_existing_subject,
    normalize_subject_name,
)

ML_TEXT = ("We train the neural network with gradient descent. Backpropagation computes the gradient of the "
           "loss function, and regularization such as dropout reduces overfitting on the training data.")
BIO_TEXT = ("Photosynthesis happens in the chloroplast. Cellular respiration in the mitochondria turns glucose "
            "into ATP, and the Krebs cycle feeds the electron transport chain.")


def test_said_and_paid_never_mean_ai():
    text = ("She said she paid the rent. He said he paid it too, and they said the landlord was paid in full. "
            "Said, paid, said again: nothing about computers here.") * 5
    assert keyword_subject(text) != "Artificial Intelligence"
    assert keyword_subject(text) is None


def test_ai_as_a_word_is_recognised():
    text = "AI systems and large language models: how an LLM chatbot works, and what AI alignment means."
    assert keyword_subject(text) == "Artificial Intelligence"


def test_keyword_subject_picks_the_right_field():
    assert keyword_subject(ML_TEXT) == "Machine Learning"
    assert keyword_subject(BIO_TEXT) == "Biology"


def test_keyword_subject_returns_none_when_nothing_fits():
    assert keyword_subject("") is None
    assert keyword_subject("hello and welcome, thanks for watching, see you next time") is None


@pytest.mark.parametrize("raw, expected", [
    ("machine   learning!", "Machine Learning"),
    ("  history of art ", "History of Art"),
    ("AI", "AI"),
    ("", "General"),
    ("!!!", "General"),
    ("🧠 neuroscience 🧪", "Neuroscience"),
])
def test_normalize_subject_name(raw, expected):
    assert normalize_subject_name(raw) == expected


@pytest.mark.parametrize("hostile", [
    "../../etc/passwd", "..\\..\\windows", "CON", "con", "nul", "LPT1", "a/b\\c:d*e?f\"g<h>i|j",
    "tab\tand\nnewline\x00nul", "...dots...", " ." * 40, "x" * 500, "word " * 40,
])
def test_hostile_names_become_safe_folder_names(hostile):
    name = normalize_subject_name(hostile)
    assert name and len(name) <= 60
    assert not any(ch in name for ch in '/\\:*?"<>|')
    assert not any(ord(ch) < 32 for ch in name)
    assert not name.startswith((".", " ")) and not name.endswith((".", " "))
    assert name != ".." and ".." not in name
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}


def test_fuzzy_reuse_of_an_existing_folder():
    assert match_existing_subject("machine learning", ["Biology", "Machine-Learning"]) == "Machine-Learning"
    assert match_existing_subject("Machine Learnin", ["Machine Learning"]) == "Machine Learning"
    assert match_existing_subject("BIOLOGY", ["Biology"]) == "Biology"
    assert match_existing_subject("Neural Networks", ["Neural Network"]) == "Neural Network"
    assert match_existing_subject("ML", ["Biology", "Machine Learning"]) == "Machine Learning"


def test_different_subjects_are_not_merged():
    assert match_existing_subject("Chemistry", ["Biochemistry"]) is None
    assert match_existing_subject("Physics", ["Astrophysics"]) is None
    assert match_existing_subject("Biology", ["Machine Learning", "History"]) is None
    assert match_existing_subject("Biology", []) is None


def test_match_does_not_depend_on_folder_order():
    folders = ["Machine-Learning", "machine learning", "Machine Learning"]
    picks = {match_existing_subject("MACHINE learning!", order) for order in
             (folders, folders[::-1], sorted(folders))}
    assert len(picks) == 1


def test_explicit_subject_wins_and_is_normalised():
    got = choose_subject(explicit="  quantum   physics! ", auto_categorize=True, suggestion="Biology",
                         text=BIO_TEXT, existing_subjects=["Biology"])
    assert got == "Quantum Physics"


def test_explicit_subject_reuses_the_existing_spelling():
    got = choose_subject(explicit="biology", auto_categorize=True, suggestion=None, text="",
                         existing_subjects=["Biology"])
    assert got == "Biology"


def test_no_auto_categorize_means_general():
    assert choose_subject(explicit=None, auto_categorize=False, suggestion="Biology", text=BIO_TEXT,
                          existing_subjects=["Biology"]) == "General"


def test_suggestion_is_matched_to_an_existing_folder():
    got = choose_subject(explicit=None, auto_categorize=True, suggestion="machine learning", text="",
                         existing_subjects=["Machine-Learning", "Biology"])
    assert got == "Machine-Learning"


def test_new_suggestion_becomes_a_normalised_folder():
    got = choose_subject(explicit=None, auto_categorize=True, suggestion="organic chemistry!!", text="",
                         existing_subjects=["Biology"])
    assert got == "Organic Chemistry"


def test_keywords_are_used_without_a_suggestion():
    got = choose_subject(explicit=None, auto_categorize=True, suggestion=None, text=ML_TEXT,
                         existing_subjects=[])
    assert got == "Machine Learning"
    assert choose_subject(explicit=None, auto_categorize=True, suggestion=None, text="nothing to see",
                          existing_subjects=[]) == "General"
