"""Loopback guard for Python subprocesses of the test suite (see loopback.py).

Python imports ``sitecustomize`` at start-up from the first folder on
sys.path that has one; the tests put this folder on PYTHONPATH. When
YT_STUDY_BUDDY_LOOPBACK_GUARD names a file, every attempt to leave loopback
is appended to it and fails. Any other sitecustomize (one this file shadows)
still runs.
"""

import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _install_guard():
    target = os.environ.get("YT_STUDY_BUDDY_LOOPBACK_GUARD")
    if not target:
        return
    # A private module name: the guarded program's own imports never collide with it.
    loopback = _load("_yt_study_buddy_loopback_guard", os.path.join(_here, "loopback.py"))
    loopback.install(loopback.file_recorder(target))


def _chain():
    for folder in sys.path:
        if os.path.abspath(folder or os.curdir) == _here:
            continue
        candidate = os.path.join(folder or os.curdir, "sitecustomize.py")
        if os.path.isfile(candidate):
            _load("_shadowed_sitecustomize", candidate)
            return


_install_guard()
_chain()
