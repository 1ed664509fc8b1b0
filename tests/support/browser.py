"""Real headless Debian chromium driven by Playwright (never a Playwright-downloaded browser)."""
import contextlib
import os

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium(profile_dir, viewport=(1280, 800)):
    """A browser context on a fresh user-data-dir; yields the Playwright BrowserContext."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("chromium not found: install it with 'apt-get install -y chromium' "
                           "(make test/.ci/run do this as root)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": viewport[0], "height": viewport[1]})
        try:
            yield ctx
        finally:
            ctx.close()
