"""Web app for YouTube Study Buddy: ``streamlit run streamlit_app.py``.

A thin shell: the page lives in ``yt_study_buddy.webui.page`` and calls the
same library API as the command line.
"""

import sys
from pathlib import Path

try:
    from yt_study_buddy.webui.page import main
except ModuleNotFoundError as exc:
    if exc.name != "yt_study_buddy":
        raise
    # Running from a checkout without `pip install -e .`: use the src/ layout directly.
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    from yt_study_buddy.webui.page import main

main()
