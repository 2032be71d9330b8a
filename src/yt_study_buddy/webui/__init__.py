"""Stage webui: helpers behind ``streamlit_app.py``: batch runner, vault browsing, the page itself.

``jobs`` and ``library`` never import Streamlit; ``page`` does and is imported
only by ``streamlit_app.py``.
"""

__all__: list[str] = []
