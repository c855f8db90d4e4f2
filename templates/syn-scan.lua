-- syn-scan: TCP SYN scan of ports on the hosts of a prefix, as a table (open, closed, filtered)
--
-- For every address of `targets` the scan asks ARP who-has (on the link;
-- `via` skips ARP and sends to that MAC, a router), then sends one SYN per
-- port through `expect` with a timeout and retries.  The answer names the
-- port's state as nmap -sS does: SYN/ACK -> open (the scan answers it with
-- RST), RST -> closed, ICMP unreachable (types 3, codes 1-3, 9, 10, 13) or
-- no answer after the retries -> filtered.  Probes start at `rate` per
-- second.  When every probe has settled the template prints the table
-- (report(), standard output) and stops:
--   HOST             PORT   STATE     RTT_MS  REASON
--   10.77.0.2        22     open      0.061   syn-ack
--   10.77.0.2        23     closed    0.044   reset
--   10.77.0.2        25     filtered  -       no response
--   10.77.0.3        -      down      -       no ARP reply
-- Parameters:
--   targets  IPv4 prefix or address (required; at most 65536 addresses)
--   ports    ports and ranges, comma-separated (default 22,80,443)
--   rate     probes started per second (default 500)
--   timeout  seconds per try (default 1), retries: extra tries (default 1)
--   src, mac the source address and MAC (default: the interface's)
--   sport    the source port (default 47001)
--   via      MAC to send every SYN to, without ARP (default: ARP each target)
--   closed   list closed ports too (default true)
-- Counters: open, closed, filtered, down, probes.arp, probes.syn.
--   umpa run syn-scan -i veth0 --set targets=10.77.0.2 --set ports=22-25,80

params{
  targets = {type = "ipv4net", default = "", help = "IPv4 prefix (A.B.C.D/N) or address to scan"},
  ports = {type = "string", default = "22,80,443", help = "ports and ranges: 22,80,8000-8010"},
  rate = {type = "number", default = 500, help = "probes started per second"},
  timeout = {type = "number", default = 1, help = "seconds to wait for an answer, per try"},
  retries = {type = "int", default = 1, help = "extra tries after a timeout"},
  src = {type = "ipv4", default = "", help = "source address (default: the interface's)"},
  mac = {type = "mac", default = "", help = "source MAC (default: the interface's)"},
  sport = {type = "int", default = 47001, help = "source port of the SYNs"},
  via = {type = "mac", default = "", help = "send every SYN to this MAC, no ARP (a router)"},
  closed = {type = "bool", default = true, help = "list closed ports too"},
}

local targets = include("lib/targets")
local ip2n, n2ip = targets.ip2n, targets.n2ip

-- ---- targets and ports ----

if not param.targets then error("targets: give the prefix or address to scan (--set targets=10.0.0.2)") end
local first, last = targets.range(param.targets)

local ports = {}
for item in param.ports:gmatch("[^,]+") do
  local a, b = item:match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
  if not a then a = item:match("^%s*(%d+)%s*$"); b = a end
  a, b = tonumber(a), tonumber(b)
  if not a or a < 1 or b > 65535 or a > b then
    error("ports: '" .. item .. "' is not a port (1-65535) or a range A-B")
  end
  for p = a, b do ports[#ports + 1] = p end
end
if #ports == 0 then error("ports: give at least one port") end
if #ports * (last - first + 1) > 1000000 then error("targets x ports: more than 1000000 probes") end
if not (param.rate > 0 and param.rate <= 1e6) then error("rate: give more than 0, up to 1000000") end
if not (param.timeout > 0 and param.timeout <= 3600) then error("timeout: give more than 0, up to 3600 s") end
if param.retries < 0 or param.retries > 10 then error("retries: give 0 to 10") end
if param.sport < 1 or param.sport > 65535 then error("sport: give 1 to 65535") end

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

-- ---- probing: a work list of hosts to resolve, then of (host, port) ----

local rows = {}   -- {n=, port=, state=, rtt=, why=}, sorted at the end
local pending = 0 -- exchanges in flight
local work = {}   -- functions to run, paced
local wi, wn = 1, 0
local isn = 0x5ca90000

local function push(fn)
  wn = wn + 1
  work[wn] = fn
end

local function row(n, port, state, rtt, why)
  rows[#rows + 1] = {n = n, port = port, state = state, rtt = rtt, why = why}
  count(state)
end

local UNREACH = {[1] = true, [2] = true, [3] = true, [9] = true, [10] = true, [13] = true}

local function syn(n, dmac, port)
  pending = pending + 1
  count("probes.syn")
  local function done(...)
    pending = pending - 1
    row(n, port, ...)
  end
  expect{
    send = ether{src = mac, dst = dmac}/ip{src = src, dst = n2ip(n)}/
      tcp{sport = param.sport, dport = port, flags = "S", seq = isn, window = 1024, options = "mss=1460"},
    timeout = param.timeout, retries = param.retries,
    on = {
      {"tcp.flags.syn == 1 and tcp.flags.ack == 1", function(a, rtt)
        -- as nmap: tear the half-open connection down
        send(ether{src = mac, dst = dmac}/ip{src = src, dst = n2ip(n)}/
          tcp{sport = param.sport, dport = port, flags = "R", seq = (isn + 1) % 4294967296})
        done("open", rtt, "syn-ack")
      end},
      {"tcp.flags.reset == 1", function(a, rtt) done("closed", rtt, "reset") end},
      {"icmp.type == 3", function(a, rtt)
        done(UNREACH[a.icmp.code] and "filtered" or "closed", rtt, "icmp unreachable code " .. a.icmp.code)
      end},
    },
    on_reply = function(a, rtt) done("filtered", rtt, "unexpected answer") end,
    on_timeout = function() done("filtered", nil, "no response") end,
  }
end

local function host(n)
  local function scan(dmac)
    for _, port in ipairs(ports) do push(function() syn(n, dmac, port) end) end
  end
  if param.via then return scan(param.via) end
  pending = pending + 1
  count("probes.arp")
  expect{
    send = ether{src = mac, dst = "ff:ff:ff:ff:ff:ff"}/arp{op = "request", hwsrc = mac, psrc = src, pdst = n2ip(n)},
    timeout = param.timeout, retries = param.retries,
    on_reply = function(a)
      pending = pending - 1
      scan(a.arp.hwsrc)
    end,
    on_timeout = function()
      pending = pending - 1
      row(n, nil, "down", nil, "no ARP reply")
    end,
  }
end

for n = first, last do
  if not (me.ip and n == ip2n(me.ip)) then push(function() host(n) end) end
end

local function finish()
  table.sort(rows, function(a, b)
    if a.n ~= b.n then return a.n < b.n end
    return (a.port or 0) < (b.port or 0)
  end)
  report(string.format("%-16s %-6s %-9s %-7s %s", "HOST", "PORT", "STATE", "RTT_MS", "REASON"))
  for _, r in ipairs(rows) do
    if r.state ~= "closed" or param.closed then
      report(string.format("%-16s %-6s %-9s %-7s %s", n2ip(r.n), r.port or "-", r.state,
        r.rtt and string.format("%.3f", r.rtt * 1000) or "-", r.why))
    end
  end
  report(string.format("%d open, %d closed, %d filtered; %d hosts down", counter("open"), counter("closed"),
    counter("filtered"), counter("down")))
  stop()
end

-- pacing: a tick every 1/rate s (at least 1 ms), as many probes per tick as the rate asks
local tick = math.max(0.001, 1 / param.rate)
local per_tick = math.max(1, math.floor(param.rate * tick + 0.5))
local timer
timer = every(tick, function()
  for _ = 1, per_tick do
    if wi > wn then break end
    local fn = work[wi]
    work[wi] = nil
    wi = wi + 1
    fn()
  end
  if wi > wn and pending == 0 then
    cancel(timer)
    finish()
  end
end)
