"""A throwaway PostgreSQL server (initdb into a temp dir, a free loopback port, its unix socket in
that dir) for tests and benchmarks of the fleet history; never the Debian cluster on 5432."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from .localbroker import free_port

INSTALL_HINT = "install it with 'apt-get install -y postgresql' (make test/.ci/run do this as root)"


def pg_bindir():
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin."""
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if cands:
        return os.path.dirname(cands[-1])
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found: " + INSTALL_HINT)


class PgServer:
    """start() -> self with .url (postgresql://wanwatch@127.0.0.1:<port>/wanwatch); stop() removes it.
    PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the
    Debian package creates (runuser), otherwise to whoever runs the tests."""

    USER = "wanwatch"
    DB = "wanwatch"

    def __init__(self, port=None, fsync=False):
        self.port = port or free_port()
        self.fsync = fsync  # off for tests (a crash loses nothing we need); on for honest benches
        self.bindir = pg_bindir()
        # not pytest's tmp_path: that is 0700 under root's tree, out of reach of the postgres user
        self.dir = tempfile.mkdtemp(prefix="ww-pg-")
        self.data = os.path.join(self.dir, "data")
        self.run_as = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and no 'postgres' user to run the server as: " + INSTALL_HINT)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.url = "postgresql://%s@127.0.0.1:%d/%s" % (self.USER, self.port, self.DB)
        self.socket_url = "postgresql://%s@/%s?host=%s&port=%d" % (self.USER, self.DB, self.dir, self.port)

    def _run(self, tool, *args, timeout=60):
        r = subprocess.run(self.run_as + [os.path.join(self.bindir, tool)] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (tool, r.returncode, r.stdout, r.stderr))
        return r.stdout

    def start(self):
        # trust auth is fine: loopback and a socket in a private dir, for a server that lives one run
        self._run("initdb", "-D", self.data, "-U", self.USER, "-A", "trust", "-E", "UTF8", "--no-sync")
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s -c max_connections=50" % (
            self.port, self.dir, "on" if self.fsync else "off")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-o", opts, "-w",
                  "-t", "60", "start", timeout=90)
        self._run("createdb", "-h", self.dir, "-p", str(self.port), "-U", self.USER, self.DB)
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

