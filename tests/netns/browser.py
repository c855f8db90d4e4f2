"""browser.py - the headless Chromium that tests/netns/*_browser.py drive (lib.sh: netns_browser_*).

One driver for every page test: Debian's chromium and chromium-driver through
python3-selenium, with nothing in the background (the namespaces have no
Internet, and a start is quicker without), the browser console kept for the
"no JavaScript errors" checks.

    import browser
    b = browser.Browser("1200,1400", outdir, "replay")  # Chromium starts here (slow on a loaded machine)
    base = b.go(gofile)             # "  Chromium up after N s", then waits for the test's go (lib.sh)
    with b:                         # an exception: one failed check naming it, OUTDIR/replay-failed.png
        b.drv.get(base + "/")
        b.check("the page ...", b.wait(lambda: ..., 5))
    b.done()                        # exits with the number of failed checks

Chromium is started before the test starts what the page is to watch: under
load its start alone has taken 37 s, longer than a scenario lasts.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication")


class Browser:
    """Chromium (headless, window WIDTH,HEIGHT), the checks' count and clock, screenshots to OUTDIR."""

    def __init__(self, window, outdir, name):
        self.outdir, self.name = outdir, name
        self.fails = 0
        self.t_start = time.monotonic()
        opts = Options()
        for a in ARGS + ("--window-size=" + window,):
            opts.add_argument(a)
        opts.binary_location = "/usr/bin/chromium"
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.drv.set_page_load_timeout(20)

    def elapsed(self):
        return time.monotonic() - self.t_start

    def go(self, path, timeout=120):
        """Says Chromium is up (the line lib.sh's netns_browser_start waits for), then waits, bounded,
        for the test to write PATH (netns_browser_go); returns what it holds, stripped."""
        print("  Chromium up after %.1f s" % self.elapsed(), flush=True)
        end = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > end:
                self.check("the test said go within %d s (%s)" % (timeout, path), False)
                self.drv.quit()
                self.done()
            time.sleep(0.05)
        with open(path) as f:
            return f.read().strip()

    def check(self, what, ok):
        """One check: prints "ok: WHAT" or "FAIL: WHAT" with the time since the start; counts failures."""
        print(("ok: " if ok else "FAIL: ") + what + " [%.1f s]" % self.elapsed(), flush=True)
        if not ok:
            self.fails += 1
        return ok

    def wait(self, cond, timeout):
        """cond() until true or timeout seconds; returns its last value."""
        end = time.monotonic() + timeout
        while True:
            v = cond()
            if v or time.monotonic() > end:
                return v
            time.sleep(0.1)

    def severe(self, *spare):
        """The console's SEVERE messages, but for those holding one of SPARE."""
        return [m["message"] for m in self.drv.get_log("browser")
                if m["level"] == "SEVERE" and not any(s in m["message"] for s in spare)]

    def shot(self, file):
        self.drv.save_screenshot(os.path.join(self.outdir, file))

    def __enter__(self):
        return self

    def __exit__(self, kind, ex, tb):
        """A missing element or a dead browser: one failure with the reason, a screenshot; Chromium ends."""
        if kind is not None and issubclass(kind, Exception):
            self.check("the browser run: %s: %s" % (kind.__name__, str(ex).splitlines()[0] if str(ex) else ""),
                       False)
            try:
                self.shot(self.name + "-failed.png")
            except Exception:
                pass
        self.drv.quit()
        return kind is not None and issubclass(kind, Exception)

    def done(self):
        print("  browser part took %.1f s" % self.elapsed())
        sys.exit(self.fails)
