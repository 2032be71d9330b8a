"""The loopback guard reaches into Python subprocesses, not just the pytest process."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.guard import loopback

RESOLVE_EXAMPLE = """
import socket
try:
    socket.getaddrinfo("example.com", 443)
except OSError as exc:
    print(type(exc).__name__)
else:
    print("resolved")
# Loopback stays usable.
print(len(socket.getaddrinfo("127.0.0.1", 80)) > 0)
"""


def test_subprocess_resolving_a_public_name_records_a_violation(tmp_path):
    record = tmp_path / "violations.txt"
    proc = subprocess.run([sys.executable, "-c", RESOLVE_EXAMPLE], capture_output=True, text=True,
                          timeout=60, env=loopback.subprocess_env(record))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["LoopbackViolation", "True"]
    assert loopback.read_violations(record) == ["example.com"]


def test_subprocesses_inherit_the_current_tests_guard(loopback_violations):
    # conftest puts the guard in os.environ: a subprocess given the plain
    # environment (or guarded_env()) records into this test's file.
    for env in (None, loopback.guarded_env()):
        subprocess.run([sys.executable, "-c", RESOLVE_EXAMPLE], capture_output=True, text=True,
                       timeout=60, env=env, check=True)
    assert loopback.read_violations(loopback_violations) == ["example.com", "example.com"]
    loopback_violations.write_text("")  # expected here: don't fail this test at teardown


def test_existing_pythonpath_is_kept():
    env = loopback.subprocess_env("/tmp/x", {"PYTHONPATH": os.pathsep.join(["/a", "/b"])})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(loopback.GUARD_DIR), "/a", "/b"]
    assert env[loopback.ENV] == "/tmp/x"
