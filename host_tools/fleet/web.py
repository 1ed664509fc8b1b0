"""`fleet serve`'s web application on aiohttp: pages, JSON API, live rows over server-sent events
(/events), Prometheus /metrics, operator-token access.

The Fleet model is written by paho's network thread; every read here holds the Ingestor's lock.
Sites that changed are marked from that thread and re-rendered on the event loop at most every
`Hub.interval` seconds, so a burst of thousands of reports costs one push per interval.
"""
import asyncio
import json
import math
import os
import threading
import time
import urllib.parse

from aiohttp import web

from . import metrics, sitedata, webpages
from .webauth import COOKIE

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
HOURS_DEFAULT, HOURS_MAX = 24, 24 * 62
SAMPLES_MAX, EVENTS_MAX = 2000, 500
SECURITY_HEADERS = {
    # the pages run only our own script: a site-supplied string that slipped through esc() still can't
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= URL must not leak through a link's Referer
    "Cache-Control": "no-store",
}


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def to_json(obj):
    """JSON a browser can parse: Python's json reads NaN/Infinity from a site but must not write them."""
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_finite(obj), allow_nan=False, separators=(",", ":"))


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, to_json(data))).encode()


class Hub:
    """Rows of the sites list pushed to every /events client when they change."""

    def __init__(self, ing, loop, interval=0.25, refresh_s=30.0, queue_max=32, clock=time.time):
        self.ing = ing
        self.loop = loop
        self.interval = interval      # coalescing: at most one push per interval
        self.refresh_s = refresh_s    # full re-render now and then: `stale` appears without a report
        self.queue_max = queue_max    # a client that falls this far behind is dropped (it reconnects)
        self.clock = clock
        self.dirty = set()
        self.dirty_lock = threading.Lock()
        self.wake = asyncio.Event()
        self.wake_pending = False
        self.html = {}
        self.order = []
        self.counts = {}
        self.clients = set()

    def mark(self, site_id):
        """Called from any thread when a site's data changed."""
        with self.dirty_lock:
            self.dirty.add(site_id)
            if self.wake_pending:
                return
            self.wake_pending = True
        self.loop.call_soon_threadsafe(self.wake.set)

    def _take_dirty(self):
        with self.dirty_lock:
            dirty, self.dirty = self.dirty, set()
            self.wake_pending = False
        return dirty

    def compute(self, ids=None):
        """Re-render the rows of `ids` (None: every site); the update message, or None if nothing changed."""
        now = self.clock()
        fleet = self.ing.fleet
        with self.ing.lock:
            ranked = fleet.ranked(now)
            flags = [fleet.attention(s, now) for s in ranked]
            fresh = {s.device_id: webpages.site_row(sitedata.row(fleet, s, now), now)
                     for s in ranked if ids is None or s.device_id in ids}
        changed = {k: v for k, v in fresh.items() if self.html.get(k) != v}
        self.html.update(changed)
        order = [s.device_id for s in ranked]
        counts = sitedata.counts(flags)
        msg = {"rows": changed, "order": order if order != self.order else None, "counts": counts}
        if not changed and msg["order"] is None and counts == self.counts:
            return None
        self.order, self.counts = order, counts
        return msg

    def snapshot(self):
        msg = self.compute()
        if msg:
            self.publish(msg)
        return {"rows": dict(self.html), "order": self.order, "counts": self.counts}

    def subscribe(self):
        q = asyncio.Queue(self.queue_max)
        self.clients.add(q)
        return q

    def unsubscribe(self, q):
        self.clients.discard(q)

    def _close(self, q):
        while not q.empty():
            q.get_nowait()
        q.put_nowait(None)  # tells the handler to end the stream
        self.clients.discard(q)

    def close_all(self):
        for q in list(self.clients):
            self._close(q)

    def publish(self, msg):
        data = sse("sites", msg)
        for q in list(self.clients):
            if q.full():
                self._close(q)  # too far behind: the browser reconnects and gets a fresh snapshot
            else:
                q.put_nowait(data)

    async def run(self):
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.refresh_s)
                full = False
            except asyncio.TimeoutError:
                full = True
            self.wake.clear()
            dirty = self._take_dirty()
            msg = self.compute(None if full else dirty)
            if msg and self.clients:
                self.publish(msg)
            await asyncio.sleep(self.interval)


def _page_path(path):
    return path == "/" or path.startswith("/site/")


class Dashboard:
    def __init__(self, ing, history, auth, clock=time.time, hub_interval=0.25):
        self.ing = ing
        self.history = history
        self.auth = auth
        self.clock = clock
        self.hub_interval = hub_interval
        self.hub = None

    # -- access ---------------------------------------------------------------------------------
    def _set_session(self, resp):
        resp.set_cookie(COOKIE, self.auth.session.decode(), httponly=True, samesite="Strict", path="/")

    @web.middleware
    async def access(self, request, handler):
        path = request.path
        if not self.auth.enabled or path == "/login" or path.startswith("/static/"):
            return await handler(request)
        query_token = request.query.get("token")
        if not self.auth.allowed(request.headers.get("Authorization"), request.cookies.get(COOKIE), query_token):
            if _page_path(path):
                resp = web.Response(status=401, text=webpages.login_page(request.path_qs if not query_token else path,
                                                                         "wrong token" if query_token else None),
                                    content_type="text/html")
            else:
                resp = web.json_response({"error": "operator token required"}, status=401)
            resp.headers["WWW-Authenticate"] = 'Bearer realm="wanwatch"'
            return resp
        if query_token is not None and _page_path(path) and request.method == "GET":
            # first load with ?token=: keep a session cookie and take the token out of the address bar
            rest = urllib.parse.urlencode([(k, v) for k, v in request.query.items() if k != "token"])
            resp = _redirect(path + ("?" + rest if rest else ""))
            self._set_session(resp)
            return resp
        return await handler(request)

    async def login_form(self, request):
        return web.Response(text=webpages.login_page(_safe_next(request.query.get("next"))), content_type="text/html")

    async def login(self, request):
        form = await request.post()
        nxt = _safe_next(form.get("next"))
        if not self.auth.enabled:
            return _redirect(nxt)
        if not self.auth.token_ok(form.get("token") or ""):
            return web.Response(status=401, text=webpages.login_page(nxt, "wrong token"), content_type="text/html")
        resp = _redirect(nxt)
        self._set_session(resp)
        return resp

    # -- pages and API ----------------------------------------------------------------------------
    def _sites(self, request):
        with self.ing.lock:
            return sitedata.sites(self.ing.fleet, self.clock(), request.query.get("q"), request.query.get("condition"))

    async def index(self, request):
        return web.Response(text=webpages.sites_page(self._sites(request)), content_type="text/html")

    async def api_sites(self, request):
        return web.Response(text=to_json(self._sites(request)), content_type="application/json")

    def _detail(self, request):
        site_id = request.match_info["id"]
        try:
            hours = min(max(float(request.query.get("hours", HOURS_DEFAULT)), 0.1), HOURS_MAX)
        except ValueError:
            hours = HOURS_DEFAULT
        now = self.clock()
        with self.ing.lock:
            site = self.ing.fleet.sites.get(site_id)
            if site is None:
                return None, now
            since = int(now - hours * 3600)
            samples = self.history.status_series(site_id, since, SAMPLES_MAX)
            events = self.history.events_for(site_id, since, EVENTS_MAX)
            return sitedata.detail(self.ing.fleet, site, samples, events, now), now

    async def site(self, request):
        det, now = self._detail(request)
        if det is None:
            return web.Response(status=404, text=webpages.not_found("no such site"), content_type="text/html")
        return web.Response(text=webpages.site_page(det, now), content_type="text/html")

    async def api_site(self, request):
        det, _ = self._detail(request)
        if det is None:
            return web.json_response({"error": "no such site"}, status=404)
        return web.Response(text=to_json(det), content_type="application/json")

    async def metrics(self, request):
        with self.ing.lock:
            text = metrics.render(self.ing.fleet, self.clock())
        return web.Response(text=text, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def events(self, request):
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        q = self.hub.subscribe()
        try:
            await resp.write(sse("sites", self.hub.snapshot()))
            while True:
                try:
                    data = await asyncio.wait_for(q.get(), 15)
                except asyncio.TimeoutError:
                    data = b": keepalive\n\n"  # proxies close idle connections; the browser ignores comments
                if data is None:
                    break
                await resp.write(data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(q)
        return resp

    # -- wiring ---------------------------------------------------------------------------------
    async def _start(self, app):
        self.hub = Hub(self.ing, asyncio.get_running_loop(), interval=self.hub_interval, clock=self.clock)
        self.ing.on_change = self.hub.mark
        app["tasks"] = [asyncio.create_task(self.hub.run()), asyncio.create_task(self._flush())]

    async def _shutdown(self, app):
        self.hub.close_all()  # open /events streams would otherwise hold the shutdown

    async def _stop(self, app):
        self.ing.on_change = None
        for t in app["tasks"]:
            t.cancel()

    async def _flush(self):
        while True:
            await asyncio.sleep(1.0)  # batches history writes: one transaction per second
            with self.ing.lock:
                self.history.flush()

    @staticmethod
    async def _headers(request, resp):
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)

    def app(self):
        app = web.Application(middlewares=[self.access])
        app.router.add_get("/", self.index)
        app.router.add_get("/site/{id}", self.site)
        app.router.add_get("/api/sites", self.api_sites)
        app.router.add_get("/api/site/{id}", self.api_site)
        app.router.add_get("/events", self.events)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login)
        app.router.add_static("/static/", STATIC)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._shutdown)
        app.on_cleanup.append(self._stop)
        app.on_response_prepare.append(self._headers)
        return app


def _redirect(location):
    return web.Response(status=303, headers={"Location": location})


def _safe_next(nxt):
    """Only a local path: the login form must not redirect to another site."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    return nxt


async def serve(dashboard, host, port, ready=None, stop=None):
    """Run until `stop` (an asyncio.Event) is set; calls ready(bound_host, bound_port) once listening."""
    runner = web.AppRunner(dashboard.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        if ready:
            bound = runner.addresses[0]
            ready(bound[0], bound[1])
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
