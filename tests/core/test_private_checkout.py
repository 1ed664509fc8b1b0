"""The suite does not need a world-readable checkout (issue 18): a copy of this tree in a 0700
directory (as a clone under /root or in a `mktemp -d` is), with its .venv inside it, passes the tests
that run something as another user than root."""
import os
import shutil
import subprocess
import sys

from tests.support import paths

# every test that starts a process as another user (setpriv & co.) belongs here
AS_OTHER_USER = ["tests/failover/test_runtime.py::test_probe_once_without_root_reports_clear_error"]

NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".pytest_cache", ".hypothesis",
                                    "*.egg-info")


def test_tests_run_as_other_users_pass_in_a_checkout_under_a_0700_directory(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    os.chmod(private, 0o700)
    clone = private / "wanwatch"
    shutil.copytree(paths.ROOT, clone, symlinks=True, ignore=NOT_COPIED)  # the working tree, edits included
    python = sys.executable
    if sys.prefix != sys.base_prefix:  # a venv (make test: .venv): reach it through the private directory
        os.symlink(sys.prefix, clone / ".venv")
        python = str(clone / ".venv" / "bin" / os.path.basename(sys.executable))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    r = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + AS_OTHER_USER, cwd=clone,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "%d passed" % len(AS_OTHER_USER) in r.stdout, r.stdout + r.stderr
