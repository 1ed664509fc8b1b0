"""Helper processes of the bed: started inside one of its namespaces with this checkout on their
PYTHONPATH, they print "ready ..." once set up and then answer one JSON line on stdout for each
JSON line on stdin (the LAN client, the bulk download). Closing stdin ends them."""
import json
import os
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env(extra=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.update(extra or {})
    return env


class Child:
    """Handle of a helper process `python -m MODULE ARGS` in namespace ns (killed on bed.close()).
    self.ready is its ready line."""
    what = "helper"

    def __init__(self, bed, ns, module, args):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", module] + [str(a) for a in args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
            cwd=ROOT)
        bed.procs.append(self.proc)
        self._lock = threading.Lock()
        self.ready = self.proc.stdout.readline()
        if not self.ready.startswith("ready"):
            err = self.proc.stderr.read()[-600:] if self.proc.poll() is not None else ""
            raise RuntimeError("%s failed to start: %r %s" % (self.what, self.ready, err))

    def _ask(self, **req):
        with self._lock:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited %s: %s" % (self.what, self.proc.returncode, self.proc.stderr.read()[-600:]))
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s gone: %s" % (self.what, self.proc.stderr.read()[-600:]))
        return json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
