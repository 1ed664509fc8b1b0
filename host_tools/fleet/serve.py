"""`wanwatch-host fleet serve`: the web dashboard, JSON API and Prometheus /metrics (options, checks,
wiring; the application itself is web.py).

Refuses to listen on a non-loopback address without an operator token: the dashboard shows every
site's addresses, SIM identities and contacts.
"""
import asyncio
import ipaddress
import os
import signal
import sys

from .cli import Ingestor, _connect
from .history import History
from .memhistory import PER_SITE_DEFAULT, MemoryHistory
from .webauth import TOKEN_MIN_LEN, TokenAuth

TOKEN_ENV = "WANWATCH_TOKEN"


class LiveIngestor(Ingestor):
    """The Ingestor, plus a callback naming the site each message changed (the dashboard's live rows)."""
    on_change = None

    def on_message(self, client, userdata, msg):
        super().on_message(client, userdata, msg)
        notify = self.on_change
        parts = msg.topic.split("/")
        if notify is not None and len(parts) >= 3 and parts[1] in self.fleet.sites:
            notify(parts[1])


def add_arguments(p):
    p.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT to serve on ([::1]:PORT for IPv6)")
    p.add_argument("--token", help="operator token (visible in ps: prefer --token-file or $%s)" % TOKEN_ENV)
    p.add_argument("--token-file", help="file holding the operator token")
    p.add_argument("--history", help="SQLite history file (default: a bounded in-memory ring per site)")
    p.add_argument("--ring", type=int, default=PER_SITE_DEFAULT, help="status samples kept per site without --history")
    p.set_defaults(fn=cmd_serve)


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError("--listen %r: expected HOST:PORT" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name could resolve to anything: treat it as public


def load_token(args):
    if args.token and args.token_file:
        raise ValueError("give --token or --token-file, not both")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.token_file:
        try:
            with open(args.token_file) as f:
                token = f.read().strip()
        except OSError as e:
            raise ValueError("--token-file: %s" % e)
    if token is not None and len(token) < TOKEN_MIN_LEN:
        raise ValueError("the operator token must be at least %d characters (try: openssl rand -hex 16)"
                         % TOKEN_MIN_LEN)
    return token


def cmd_serve(args):
    try:
        host, port = parse_listen(args.listen)
        token = load_token(args)
    except ValueError as e:
        print("fleet serve: %s" % e, file=sys.stderr)
        return 2
    if token is None and not is_loopback(host):
        print("fleet serve: refusing to listen on %s without an operator token (--token-file FILE or $%s)"
              % (host or "all addresses", TOKEN_ENV), file=sys.stderr)
        return 2
    from . import web  # aiohttp only for this command
    history = History(args.history) if args.history else MemoryHistory(per_site=max(args.ring, 1))
    ing = LiveIngestor(args.prefix, history)
    try:
        client = _connect(args, ing, "serve")
    except OSError as e:
        print("fleet serve: cannot reach the broker at %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    dashboard = web.Dashboard(ing, history, TokenAuth(token))

    def ready(bound_host, bound_port):
        shown = "[%s]" % bound_host if ":" in bound_host else bound_host
        print("fleet serve: listening on http://%s:%d/%s" % (shown, bound_port, "" if token else " (no token)"),
              flush=True)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await web.serve(dashboard, host, port, ready, stop)

    try:
        asyncio.run(main())
    finally:
        client.loop_stop()
        with ing.lock:
            history.close()
    return 0
