-- ping-sweep: which hosts of a prefix are up (ARP, then ICMP echo), as a table with round-trip times
--
-- For every address of `targets` (a prefix; its network and broadcast
-- addresses are left out from /0 to /30) the sweep asks ARP who-has (on the
-- link) and, when the host answers, sends an ICMP echo request to the MAC it
-- gave; both through `expect`, with a timeout and retries.  `via` skips ARP
-- and sends every echo to that MAC (a router, for targets off the link).
-- Probes start at `rate` per second.  When every probe has settled the
-- template prints one line per address (report(), standard output) and stops:
--   HOST             STATE  RTT_MS  NOTE
--   10.77.0.2        up     0.213   echo reply
--   10.77.0.3        up     -       ARP only (no echo reply)
--   10.77.0.4        down   -       no ARP reply
-- Parameters:
--   targets  IPv4 prefix or address to sweep (required; at most 65536 addresses)
--   rate     probes started per second (default 200)
--   timeout  seconds per try (default 1), retries: extra tries (default 1)
--   src, mac the source address and MAC (default: the interface's; a source
--            no kernel owns gets its ARP answered)
--   via      MAC to send every echo to, without ARP (default: ARP each target)
--   down     list the hosts that are down too (default true)
-- Counters: up, down, probes.arp, probes.echo.
--   umpa run ping-sweep -i veth0 --set targets=10.77.0.0/28 --set rate=500

params{
  targets = {type = "ipv4net", default = "", help = "IPv4 prefix (A.B.C.D/N) or address to sweep"},
  rate = {type = "number", default = 200, help = "probes started per second"},
  timeout = {type = "number", default = 1, help = "seconds to wait for an answer, per try"},
  retries = {type = "int", default = 1, help = "extra tries after a timeout"},
  src = {type = "ipv4", default = "", help = "source address (default: the interface's)"},
  mac = {type = "mac", default = "", help = "source MAC (default: the interface's)"},
  via = {type = "mac", default = "", help = "send every echo to this MAC, no ARP (a router)"},
  down = {type = "bool", default = true, help = "list the hosts that are down too"},
}

-- ---- the targets ----

local targets = include("lib/targets")
local ip2n, n2ip = targets.ip2n, targets.n2ip

if not param.targets then error("targets: give the prefix to sweep (--set targets=10.0.0.0/24)") end
local first, last = targets.range(param.targets)
if not (param.rate > 0 and param.rate <= 1e6) then error("rate: give more than 0, up to 1000000") end
if not (param.timeout > 0 and param.timeout <= 3600) then error("timeout: give more than 0, up to 3600 s") end
if param.retries < 0 or param.retries > 10 then error("retries: give 0 to 10") end

local me = iface() or {}
local src = param.src or me.ip
local mac = param.mac or me.mac
if not src or not mac then error("src and mac: the interface has none; give --set src=A.B.C.D --set mac=M") end
-- a source no kernel here owns: answer ARP for it, so the targets can reach it
if src ~= me.ip then
  on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = src}, function(p)
    send(reply(p, arp{hwsrc = mac}))
  end)
end

-- ---- probing ----

local result = {} -- address number -> {state=, rtt=, note=}
local pending = 0 -- probes not settled yet
local next_n = first
local ICMP_ID = 0x7573

local function settle(n, state, rtt, note)
  result[n] = {state = state, rtt = rtt, note = note}
  count(state)
end

-- every exchange counts in pending from its send to its outcome
local function echo(n, dmac)
  pending = pending + 1
  count("probes.echo")
  local function done(...)
    pending = pending - 1
    settle(n, ...)
  end
  expect{
    send = ether{src = mac, dst = dmac}/ip{src = src, dst = n2ip(n)}/icmp{id = ICMP_ID, seq = n & 0xffff},
    timeout = param.timeout, retries = param.retries,
    on = {
      {"icmp.type == 0", function(a, rtt) done("up", rtt, "echo reply") end},
      {"icmp.type == 3", function(a) done("down", nil, "ICMP unreachable (code " .. a.icmp.code .. ")") end},
    },
    on_reply = function() done("up", nil, "answered") end,
    on_timeout = function()
      if param.via then done("down", nil, "no echo reply") else done("up", nil, "ARP only (no echo reply)") end
    end,
  }
end

local function probe(n)
  if me.ip and n == ip2n(me.ip) then
    settle(n, "up", 0, "this interface")
    return
  end
  if param.via then return echo(n, param.via) end
  pending = pending + 1
  count("probes.arp")
  expect{
    send = ether{src = mac, dst = "ff:ff:ff:ff:ff:ff"}/arp{op = "request", hwsrc = mac, psrc = src, pdst = n2ip(n)},
    timeout = param.timeout, retries = param.retries,
    on_reply = function(a)
      pending = pending - 1
      echo(n, a.arp.hwsrc)
    end,
    on_timeout = function()
      pending = pending - 1
      settle(n, "down", nil, "no ARP reply")
    end,
  }
end

local function finish()
  report(string.format("%-16s %-5s %-8s %s", "HOST", "STATE", "RTT_MS", "NOTE"))
  local up = 0
  for n = first, last do
    local r = result[n]
    if r.state == "up" then up = up + 1 end
    if r.state == "up" or param.down then
      report(string.format("%-16s %-5s %-8s %s", n2ip(n), r.state, r.rtt and string.format("%.3f", r.rtt * 1000) or "-",
        r.note))
    end
  end
  report(string.format("%d of %d hosts up", up, last - first + 1))
  stop()
end

-- pacing: a tick every 1/rate s (at least 1 ms), as many probes per tick as the rate asks
local tick = math.max(0.001, 1 / param.rate)
local per_tick = math.max(1, math.floor(param.rate * tick + 0.5))
local timer
timer = every(tick, function()
  for _ = 1, per_tick do
    if next_n > last then break end
    probe(next_n)
    next_n = next_n + 1
  end
  if next_n > last and pending == 0 then
    cancel(timer)
    finish()
  end
end)
