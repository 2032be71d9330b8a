"""The sidebar's Message Batches toggle and budget reach the library app."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webui.test_streamlit_app import start_app
from yt_study_buddy.webui.page import Options, make_app


def test_sidebar_offers_batches_and_a_budget_for_claude_only():
    at = start_app()
    side = at.sidebar
    assert side.checkbox(key="batch_api").value is False
    assert side.number_input(key="budget").value == 0.0
    side.selectbox(key="engine").select("offline").run()
    assert at.sidebar.checkbox(key="batch_api").disabled and at.sidebar.number_input(key="budget").disabled


def test_options_become_the_apps_batch_mode_and_budget(tmp_path):
    options = Options(parallel=True, workers=3, subject=None, assessments=True, auto_categorize=True,
                      engine="claude", model=None, output=Path(tmp_path / "v"), batch_api=True, budget=2.5)
    app = make_app(options)
    assert app.batch_api and app.spending.budget == 2.5 and app.spending.batch_api
    plain = make_app(Options(parallel=False, workers=1, subject=None, assessments=True,
                             auto_categorize=True, engine="offline", model=None, output=Path(tmp_path / "w")))
    assert not plain.batch_api and plain.spending.budget is None


def test_a_negative_budget_is_refused(tmp_path):
    from yt_study_buddy.errors import InputError

    with pytest.raises(InputError, match="--budget must be a positive"):
        make_app(Options(parallel=False, workers=1, subject=None, assessments=True, auto_categorize=True,
                         engine="claude", model=None, output=Path(tmp_path / "v"), budget=-1.0))
