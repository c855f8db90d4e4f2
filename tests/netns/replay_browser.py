#!/usr/bin/env python3
"""replay_browser.py - headless Chromium on the live page of `umpa replay --http` (tests/netns/replay_browser.sh).

usage: replay_browser.py GOFILE OUTDIR

Chromium starts first (browser.py); then the test starts the replay and writes its control
plane's BASE (http://127.0.0.1:PORT) into GOFILE; the page is BASE/.
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

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browser

gofile, outdir = sys.argv[1:3]
br = browser.Browser("1200,1400", outdir, "replay")
drv, check, wait = br.drv, br.check, br.wait
base = br.go(gofile)  # the test starts the replay once Chromium is up and writes its base URL


def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)


def sec():
    return drv.find_element(By.CSS_SELECTOR, "section[data-ep]")


def tile(name):
    try:
        return int(sec().find_element(By.CSS_SELECTOR, '[data-tile="%s"] b' % name).text.replace(",", "") or 0)
    except Exception:
        return -1


def msg():
    return sec().find_element(By.CSS_SELECTOR, ".ep-msg").text


with br:
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
    br.shot("replay.png")
    errs = br.severe("/events")
    check("no JavaScript errors in the console %s" % errs[:3], not errs)
    box = sec().find_element(By.CSS_SELECTOR, '.param[data-param="multiplier"] input[type=number]')
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("50", Keys.TAB)
    ok = wait(lambda: msg() == "set multiplier = 50", 5)
    check("typing 50 into the multiplier box is taken at once (%s)" % msg(), ok)
br.done()
