#!/usr/bin/env python3
"""replay_browser.py - headless Chromium on the live page of `umpa replay --http` (tests/netns/replay_browser.sh).

usage: replay_browser.py BASE OUTDIR

BASE is the replay's control plane (http://127.0.0.1:PORT); the page is BASE/.
Checks, each printed "ok: ..." or "FAIL: ...": the page follows the replay
(its title), the "out" tile (packets sent) rises, the flows are listed as its
connections, its parameters are a multiplier slider and a paused checkbox;
ticking paused stops the sending (GET /stats: tx still), unticking resumes it,
typing 50 into the multiplier box is taken at once.  Screenshot: OUTDIR/replay.png.
Exit status: the number of failed checks.
"""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

base, outdir = sys.argv[1:3]
fails = 0
t_start = time.monotonic()


def check(what, ok):
    global fails
    print(("ok: " if ok else "FAIL: ") + what + " [%.1f s]" % (time.monotonic() - t_start), flush=True)
    if not ok:
        fails += 1
    return ok


def wait(cond, timeout):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.1)


def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


opts = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
          "--disable-extensions", "--window-size=1200,1400", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--disable-default-apps", "--no-default-browser-check",
          "--mute-audio", "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
drv.set_page_load_timeout(20)


def sec():
    return drv.find_element(By.CSS_SELECTOR, "section[data-ep]")


def tile(name):
    try:
        return int(sec().find_element(By.CSS_SELECTOR, '[data-tile="%s"] b' % name).text.replace(",", "") or 0)
    except Exception:
        return -1


def msg():
    return sec().find_element(By.CSS_SELECTOR, ".ep-msg").text


try:
    drv.get(base + "/")
    live = wait(lambda: sec().find_element(By.CSS_SELECTOR, ".ep-state").get_attribute("data-state") == "live", 15)
    title = sec().find_element(By.CSS_SELECTOR, ".ep-title").text
    check("the page follows the replay (live, title '%s')" % title, live and title.startswith("replay "))
    a = tile("out")
    b = wait(lambda: (lambda x: x if x > a else None)(tile("out")), 6)
    check("packets sent rise on the page: out %s -> %s" % (a, b), b is not None)
    flows = wait(lambda: [t for t in drv.execute_script(
        "return [...document.querySelectorAll('.conns tr[data-conn]')].map(e => e.innerText)") if "icmp" in t], 5)
    check("the flows are listed as connections (%s)" % (flows[:1],), bool(flows))
    boxes = wait(lambda: sec().find_elements(By.CSS_SELECTOR, 'input[type=checkbox][data-param="paused"]'), 5)
    mult = sec().find_elements(By.CSS_SELECTOR, '.param[data-param="multiplier"] input[type=range]')
    check("parameters: a multiplier slider and a paused checkbox", bool(boxes) and bool(mult))
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", boxes[0])
    boxes[0].click()
    ok = wait(lambda: msg() == "set paused = true", 5)
    s1 = get("/stats")["tx"]
    time.sleep(0.5)
    s2 = get("/stats")["tx"]
    check("ticking paused stops the sending (%s; tx %s, 0.5 s later %s)" % (msg(), s1, s2), ok and s1 == s2)
    boxes[0].click()
    s3 = wait(lambda: (lambda x: x if x > s2 else None)(get("/stats")["tx"]), 5)
    check("unticking resumes it (tx %s -> %s)" % (s2, s3), s3 is not None and get("/params")["paused"]["value"] == "false")
    drv.save_screenshot(outdir + "/replay.png")
    errs = [m["message"] for m in drv.get_log("browser") if m["level"] == "SEVERE" and "/events" not in m["message"]]
    check("no JavaScript errors in the console %s" % errs[:3], not errs)
    box = sec().find_element(By.CSS_SELECTOR, '.param[data-param="multiplier"] input[type=number]')
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("50", Keys.TAB)
    ok = wait(lambda: msg() == "set multiplier = 50", 5)
    check("typing 50 into the multiplier box is taken at once (%s)" % msg(), ok)
except Exception as ex:
    check("the browser run: %s: %s" % (type(ex).__name__, str(ex).splitlines()[0] if str(ex) else ""), False)
    try:
        drv.save_screenshot(outdir + "/replay-failed.png")
    except Exception:
        pass
finally:
    drv.quit()
print("  browser part took %.1f s" % (time.monotonic() - t_start))
sys.exit(fails)
