#!/usr/bin/env python3
"""page_browser.py - headless Chromium drives umpa's live page (tests/netns/page_browser.sh).

usage: page_browser.py GOFILE URL SENDER LINK RECEIVER PROXY TOKEN OUTDIR

Chromium starts first (browser.py); the page is loaded once the test writes GOFILE.

URL is the page (served by one umpa process) following the base URLs
SENDER, LINK and RECEIVER, and PROXY: an umpa proxy --http that relays the
page's connections to LINK, whose open connections the page lists.  Checks, each printed "ok: ..." or
"FAIL: ...": the three are live; their counters rise; the page has charts;
moving the link's loss slider (keyboard: Home, then 20 x Right) without the
token shows the 401, with the token (typed into the page) sets 20 % and the
sender's retransmission count rises within seconds; typing 0 into the
link's delay box and Reset (every parameter back to its default: no loss)
let the transfer finish, and the sender's panel shows it ended; Clear zeroes
a panel's tiles.  Screenshots of the page (wide and
phone-sized) go to OUTDIR.  Exit status: the number of failed checks.
"""
import json
import sys
import time
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browser

gofile, url, snd, link, rcv, proxy, token, outdir = sys.argv[1:9]
br = browser.Browser("1500,1900", outdir, "page")
drv, check, wait = br.drv, br.check, br.wait
br.go(gofile)  # the test starts the scenario once Chromium is up


def section(ep):
    return drv.find_element(By.CSS_SELECTOR, 'section[data-ep="%s"]' % ep)


def tile(ep, name):
    try:
        t = section(ep).find_element(By.CSS_SELECTOR, '[data-tile="%s"] b' % name).text
        return int(t.replace(",", "") or 0)
    except Exception:
        return -1


def params(ep):
    """The process's parameters, asked over HTTP as a client would (not through the page)."""
    with urllib.request.urlopen(ep + "/params", timeout=5) as r:
        return {k: v["value"] for k, v in json.load(r).items()}


def msg(ep):
    return section(ep).find_element(By.CSS_SELECTOR, ".ep-msg").text


def state(ep):
    try:
        return section(ep).find_element(By.CSS_SELECTOR, ".ep-state").get_attribute("data-state")
    except Exception:
        return None


with br:
    drv.get(url)
    print("  the page loaded after %.1f s" % br.elapsed(), flush=True)
    live = wait(lambda: all(state(e) == "live" for e in (snd, link, rcv, proxy)), 15)
    check("the page follows the sender, the link, the receiver and the proxy (all 'live')", live)
    check("Chart.js loaded from umpa (window.Chart)", drv.execute_script("return typeof window.Chart") == "function")
    titles = [section(e).find_element(By.CSS_SELECTOR, ".ep-title").text for e in (snd, link, rcv)]
    check("titles from the hello events: %s" % titles,
          [t.split()[-1] for t in titles] == ["stream-send", "flaky-link", "stream-recv"])

    # counters rising
    a = (tile(snd, "out"), tile(link, "forwarded"), tile(rcv, "in"))
    b = wait(lambda: (lambda x: x if all(x[i] > a[i] for i in range(3)) else None)(
        (tile(snd, "out"), tile(link, "forwarded"), tile(rcv, "in"))), 10)
    check("counters rise on the page: sender out %s -> %s, link forwarded %s -> %s, receiver in %s -> %s"
          % (a[0], b and b[0], a[1], b and b[1], a[2], b and b[2]), b is not None)
    charts = wait(lambda: all(len(section(e).find_elements(By.CSS_SELECTOR, ".chart canvas")) > 0
                              for e in (snd, link, rcv)), 5)
    check("each process has charts (%s)" % ", ".join(
        str([c.get_attribute("data-group") for c in section(e).find_elements(By.CSS_SELECTOR, ".chart")])
        for e in (snd, link, rcv)), charts)

    # (rows are rebuilt at every event: read them in one script, not element by element)
    conns = wait(lambda: [t for t in drv.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)",
        'section[data-ep="%s"] .conns tr[data-conn]' % proxy) if "10.79.2.1:8080" in t and " kB" in t], 5)
    check("the proxy's panel lists the page's connections through it to the link, bytes rising (%s)"
          % (conns[:1] if conns else section(proxy).find_element(By.CSS_SELECTOR, ".conns").text[:200]), bool(conns))
    hosts = [h.get_attribute("data-host") for h in section(snd).find_elements(By.CSS_SELECTOR, ".hosts tr[data-host]")]
    check("the sender's simulated host is listed (%s)" % hosts, "10.78.0.10" in hosts)

    # Clear: the page's view of the sender starts again from 0, the sender counts on
    before = tile(snd, "out")
    section(snd).find_element(By.CSS_SELECTOR, ".ep-clear").click()
    after = tile(snd, "out")
    check("Clear zeroes the sender's tiles on the page (out %s -> %s)" % (before, after), 0 <= after < before)

    # the loss slider of the link; first without the token
    sl = wait(lambda: section(link).find_elements(By.CSS_SELECTOR, 'input[type=range][data-param="loss"]'), 5)
    check("the link's loss is a slider", bool(sl))
    sl = sl[0]
    opts = [o.text for o in section(link).find_elements(By.CSS_SELECTOR, 'select[data-param="distribution"] option')]
    check("the link's distribution is a choice of its help's list (%s)" % opts,
          opts == ["uniform", "normal", "pareto", "paretonormal"])
    sl.send_keys(Keys.ARROW_RIGHT)
    m = wait(lambda: msg(link), 5)
    check("a change without the token is refused on the page (%s)" % m, m.startswith("401"))
    if not drv.execute_script("return arguments[0].open", section(link).find_element(By.CSS_SELECTOR, ".ep-access")):
        section(link).find_element(By.CSS_SELECTOR, ".ep-access summary").click()
    tok = section(link).find_element(By.CSS_SELECTOR, ".ep-token")
    tok.send_keys(token, Keys.TAB)
    r0 = tile(snd, "retransmitted")
    check("the transfer is still under way (the sender is 'live')", state(snd) == "live")
    sl.send_keys(Keys.HOME, *([Keys.ARROW_RIGHT] * 20))
    t0 = time.monotonic()
    shown = wait(lambda: section(link).find_element(
        By.CSS_SELECTOR, '.param[data-param="loss"] output').text == "20 %" and
        section(link).find_element(By.CSS_SELECTOR, ".ep-msg").text == "set loss = 0.2", 5)
    check("the slider reads 20 %% and the link took it (%s; GET /params: loss %s)"
          % (msg(link), params(link)["loss"]), shown and params(link)["loss"] == "0.2")
    # the loss on the page: the link drops (its next stats event), then the sender retransmits
    # (a loaded machine makes a few spurious retransmissions of its own: counted from the first drop)
    drops = wait(lambda: (lambda d: d if d > 0 else None)(tile(link, "dropped")), 6)
    check("the link's dropped count shows the loss (%s, %.1f s after the slider)"
          % (drops, time.monotonic() - t0), drops is not None)
    rb = tile(snd, "retransmitted")
    r1 = wait(lambda: (lambda r: r if r >= rb + 10 else None)(tile(snd, "retransmitted")), 10)
    check("the sender's retransmissions rise with the loss: %s before the slider, %s at the first drop, "
          "%s %.1f s after the slider" % (r0, rb, r1 if r1 else tile(snd, "retransmitted"), time.monotonic() - t0),
          r1 is not None)
    br.shot("page.png")
    drv.set_window_size(412, 915)
    time.sleep(0.3)
    wide = drv.execute_script("return document.documentElement.scrollWidth")
    if wide > 412:
        wide = wait(lambda: (lambda w: w if w <= 412 else None)(
            drv.execute_script("return document.documentElement.scrollWidth")), 2) or wide
    over = drv.execute_script("""return [...document.querySelectorAll('body *')].filter(e =>
        e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 4).map(e =>
        e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    check("phone-sized window (412 px): no sideways scrolling (%s px; %s)" % (wide, over), wide <= 412)
    br.shot("page-phone.png")
    drv.set_window_size(1500, 1900)

    # the link's delay (a slider with a number box): 0, the transfer runs free
    box = section(link).find_element(By.CSS_SELECTOR, '.param[data-param="delay"] input[type=number]')
    drv.execute_script("arguments[0].scrollIntoView()", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0", Keys.TAB)
    ok = wait(lambda: section(link).find_element(By.CSS_SELECTOR, ".ep-msg").text == "set delay = 0", 5)
    check("typing 0 into the link's delay box takes effect (%s)"
          % section(link).find_element(By.CSS_SELECTOR, ".ep-msg").text, ok)
    btn = section(link).find_element(By.CSS_SELECTOR, ".ep-reset")
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", btn)  # not under the sticky header
    btn.click()
    reset = wait(lambda: msg(link).startswith("set ") and section(link).find_element(
        By.CSS_SELECTOR, '.param[data-param="loss"] output').text == "0 %", 5)
    p = params(link)
    check("Reset sets the link's parameters back to their defaults, the loss off (%s; loss %s, delay %s, seed %s)"
          % (msg(link), p["loss"], p["delay"], p["seed"]), reset and (p["loss"], p["delay"], p["seed"]) == ("0", "0", "0"))
    gone = wait(lambda: state(snd) in ("reconnecting", "gone"), 20)
    check("the sender's panel shows it ended (%s)" % state(snd), gone)
    # a process that ends closes its stream; the change refused on purpose
    errs = br.severe("/events", "401 (Unauthorized)")
    check("no JavaScript errors in the console %s" % errs[:3], not errs)
br.done()
