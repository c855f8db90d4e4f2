-- stream-send: sends a file over UDP with a sliding window, SACK and an adaptive retransmission timeout; exits 0 once all is acknowledged
--
-- The sending end of the protocol stream-recv documents.  It plays a host at
-- `ip` (answering ARP for it; the kernel need not own the address), resolves
-- `target`'s MAC by ARP, reads `file` (under --allow-read, 16 MiB at most),
-- cuts it into `seg`-byte segments and keeps up to min(`window`, the
-- receiver's window) of them in flight.  Acknowledgements are cumulative
-- (the next segment the receiver expects) with up to 4 SACK blocks and the
-- segment that triggered them; a segment not delivered while one sent after
-- it was is lost and sent again at once (RACK, RFC 8985, with a reordering
-- window of SRTT/4 up to 5 ms).  The retransmission
-- timeout is RFC 6298's: SRTT and RTTVAR from samples of segments sent once
-- (Karn; the ack names the segment it answers, so a sample is that
-- segment's own round trip even when it filled a hole), RTO = SRTT + max(G, 4 RTTVAR) bounded by rto_min and rto_max,
-- doubled at each expiry, which sends again every segment not SACKed from the
-- oldest unacknowledged one on (as TCP does after a timeout).  The timer runs
-- from the later of the oldest unacknowledged segment's transmission and the
-- last acknowledgement that moved the cumulative point (RFC 6298 5.3:
-- restarted by each one), so a receiver that drains a full window slowly (a
-- loaded machine) does not time out segments that are merely queued.  A tick
-- that comes late (this process did not run for a while: CPU starvation)
-- expires nothing, once: the acknowledgements that arrived meanwhile are read
-- first, and the next tick decides.
-- A zero window is probed once per RTO.  There is no congestion control:
-- the windows are the only limits (a tool for test links, not the Internet).
--
-- The run stops with exit status 0 once every segment is acknowledged, and
-- fails (exit 1) when nothing progresses for `timeout` seconds (no ARP
-- answer, no new acknowledgement).
--
-- Parameters: ip, mac (default 02:00 + the address's bytes), target, port
-- (9000), sport (default port), file, seg (1400 bytes), window (512
-- segments), rto_init (1 s), rto_min (0.2 s), rto_max (4 s), timeout (30 s).
-- Counters: segments.sent (first transmissions), segments.retransmitted
-- (fast.retransmits + rto.expired + tail.probes + window.probes), acks.received,
-- acks.duplicated (no progress), bytes.acked, ticks.late (timer decisions put
-- off after a stall); rtt.srtt_us and rtt.rto_us
-- at the end.
--   umpa run stream-send -i veth0 --set ip=10.78.0.10 --set target=10.78.0.20 --set port=9000 --set file=/tmp/out/f --allow-read /tmp/out

params{
  ip = {type = "ipv4", default = "10.0.0.1", help = "address to send from (ARP answered for it)"},
  mac = {type = "mac", default = "", help = "MAC address (default: 02:00 and the address's bytes)"},
  target = {type = "ipv4", default = "", help = "the receiver's address (stream-recv's ip)"},
  port = {type = "int", default = 9000, help = "the receiver's UDP port"},
  sport = {type = "int", default = 0, help = "UDP source port (0: the same as port)"},
  file = {type = "string", default = "", help = "file to send (under --allow-read)"},
  seg = {type = "int", default = 1400, help = "payload bytes per segment"},
  window = {type = "int", default = 512, help = "segments in flight at most"},
  rto_init = {type = "number", default = 1, help = "first retransmission timeout, seconds (RFC 6298: 1)"},
  rto_min = {type = "number", default = 0.2, help = "lowest retransmission timeout, seconds"},
  rto_max = {type = "number", default = 4, help = "highest retransmission timeout, seconds"},
  timeout = {type = "number", default = 30, help = "give up after this many seconds without progress"},
}

local mac_of = include("lib/targets").mac_of

if mode() == "load" then return end -- umpa run stream-send --help: the parameters only

if not param.target then error("target: give the receiver's address (--set target=A)", 0) end
if param.file == "" then error("file: give the file to send (--set file=PATH and --allow-read DIR)", 0) end
if param.port < 1 or param.port > 65535 then error("port must be 1 to 65535", 0) end
if param.seg < 1 or param.seg > 8900 then error("seg must be 1 to 8900 bytes", 0) end
if param.window < 1 or param.window > 100000 then error("window must be 1 to 100000 segments", 0) end
if not (param.rto_min > 0 and param.rto_min <= param.rto_init and param.rto_init <= param.rto_max) then
  error("retransmission timeouts: give 0 < rto_min <= rto_init <= rto_max", 0)
end

local mac = param.mac or mac_of(param.ip)
local sport = param.sport ~= 0 and param.sport or param.port
local G = 0.005                       -- clock granularity: the tick below

local data, nseg, session
local peer_mac                        -- learnt by ARP
local cum = 0                         -- every segment below is acknowledged
local nxt = 0                         -- next new segment
local rwnd = math.min(param.window, 4) -- the first flight, until an ack gives the receiver's window
local sent_at = {}                    -- last transmission time of each outstanding segment
local retx = {}                       -- segments sent more than once (Karn: no RTT sample)
local sacked = {}                     -- held by the receiver beyond cum
local hisack = -1                     -- highest SACKed segment
local srtt, rttvar
local rto = param.rto_init
local last_progress = now()
local started, finished
local rack = 0                        -- send time of the latest-sent segment known delivered
local rack_seen = 0                   -- rack when the last loss scan ran
local probed = false                  -- a tail loss probe went out since the last progress
local last_tick                       -- when tick last ran
local deferred = false                -- the last tick was late and expired nothing
local cum_at                          -- when cum last moved (the RTO timer's restart)

local function send_seg(i)
  local off = i * param.seg
  send(ether{src = mac, dst = peer_mac}/ip{src = param.ip, dst = param.target}/
    udp{sport = sport, dport = param.port}/
    (string.pack(">c1I4I4I4", "D", session, i, nseg) .. data:sub(off + 1, off + param.seg)), 1)
  if sent_at[i] then
    retx[i] = true
    count("segments.retransmitted")
  else
    count("segments.sent")
  end
  sent_at[i] = now()
end

-- Send what the windows allow from nxt on, skipping what the receiver holds
-- (after a timeout nxt goes back to cum: segments sent before are sent again).
local function pump()
  local lim = math.min(nseg, cum + math.min(param.window, rwnd))
  while nxt < lim do
    if not sacked[nxt] then send_seg(nxt) end
    nxt = nxt + 1
  end
end

local function rtt_sample(r)
  if not srtt then
    srtt, rttvar = r, r / 2
  else
    rttvar = 0.75 * rttvar + 0.25 * math.abs(srtt - r)
    srtt = 0.875 * srtt + 0.125 * r
  end
  rto = math.min(param.rto_max, math.max(param.rto_min, srtt + math.max(G, 4 * rttvar)))
end

local function complete()
  finished = now()
  local secs = finished - started
  count("rtt.srtt_us", math.floor((srtt or 0) * 1e6))
  count("rtt.rto_us", math.floor(rto * 1e6))
  log(string.format("stream-send: %d bytes in %d segments acknowledged in %.3f s (%.2f Mbit/s)",
    #data, nseg, secs, #data * 8 / math.max(secs, 1e-6) / 1e6))
  stop()
end

local function on_ack(pl)
  local _, s, c, w, echo, nb = string.unpack(">c1I4I4I4I4I1", pl)
  if s ~= session or #pl < 18 + 8 * nb or c > nseg then
    count("acks.foreign")
    return
  end
  count("acks.received")
  rwnd = w
  local progress = false
  local t = now()
  if echo < nseg and sent_at[echo] then
    if not retx[echo] then rtt_sample(t - sent_at[echo]) end
    if sent_at[echo] > rack then rack = sent_at[echo] end
  end
  if c > cum then
    for i = cum, c - 1 do
      sent_at[i], retx[i], sacked[i] = nil, nil, nil
    end
    count("bytes.acked", math.min(#data, c * param.seg) - math.min(#data, cum * param.seg))
    cum = c
    cum_at = t
    progress = true
  end
  local off = 19
  for k = 1, nb do
    local a, b = string.unpack(">I4I4", pl, off)
    off = off + 8
    if b > nseg then b = nseg end
    for i = math.max(a, cum), b - 1 do
      if not sacked[i] and sent_at[i] then
        sacked[i] = true
        progress = true
      end
    end
    if b - 1 > hisack then hisack = b - 1 end
  end
  if progress then
    last_progress = t
    probed = false
    if srtt then rto = math.min(param.rto_max, math.max(param.rto_min, srtt + math.max(G, 4 * rttvar))) end
  else
    count("acks.duplicated")
  end
  if cum >= nseg then
    complete()
    return
  end
  -- loss detection as RACK (RFC 8985): a segment not delivered while one
  -- sent after it was is lost, once a quarter SRTT (5 ms at most) has
  -- passed to allow for reordering; sending it again makes it younger than
  -- what is known delivered; the scan stops at the first segment sent once
  -- that is younger: new segments go out in order, so all after it are too
  local reo = srtt and math.min(srtt / 4, 0.005) or 0
  if rack > rack_seen then
    rack_seen = rack
    for i = cum, nxt - 1 do
      local at = sent_at[i]
      if at and not sacked[i] then
        if at < rack - reo then
          send_seg(i)
          count("fast.retransmits")
        elseif not retx[i] then
          break
        end
      end
    end
  end
  pump()
end

on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
  send(reply(p, arp{hwsrc = mac}))
  count("arp.replies")
end)

on("arp", {["arp.opcode"] = "reply", ["arp.src.proto_ipv4"] = param.target}, function(p)
  if peer_mac then return end
  peer_mac = p.arp["src.hw_mac"]
  log("stream-send:", param.target, "is at", peer_mac)
  last_progress = now()
  started = now()
  pump()
end)

on("udp", {["ip.src"] = param.target, ["ip.dst"] = param.ip, ["udp.dstport"] = sport}, function(p)
  local pl = p.udp._payload
  if #pl < 18 or pl:sub(1, 1) ~= "A" or not peer_mac then return end
  on_ack(pl)
end)

local function arp_ask()
  send(ether{src = mac, dst = "ff:ff:ff:ff:ff:ff"}/arp{op = 1, hwsrc = mac, psrc = param.ip, pdst = param.target}, 1)
end

local last_arp = 0
local function tick()
  if finished then return end
  local t = now()
  local late = last_tick and t - last_tick > 4 * G and not deferred -- input may be waiting
  last_tick, deferred = t, late
  if late then count("ticks.late") end
  if t - last_progress > param.timeout then
    fail(string.format("stream-send: no progress for %g s (%d of %d segments acknowledged)",
      param.timeout, cum, nseg or 0))
    return
  end
  if not peer_mac then
    if t - last_arp >= 0.2 then
      last_arp = t
      arp_ask()
    end
    return
  end
  if nxt > cum and not late then
    if not probed and srtt and t - last_progress >= 2 * srtt + G then
      -- tail loss probe (RFC 8985's TLP): nothing delivered for 2 SRTT while
      -- segments are out (the last of a flight lost, or the window full):
      -- the last segment not SACKed again, so the ack repairs by RACK
      -- instead of waiting for the RTO
      probed = true
      for i = nxt - 1, cum, -1 do
        if not sacked[i] then
          count("tail.probes")
          send_seg(i)
          return
        end
      end
    end
    if sent_at[cum] and t - math.max(sent_at[cum], cum_at or 0) >= rto then -- RFC 6298 5.3-5.6
      -- as TCP after a timeout: everything not SACKed is presumed lost and
      -- sent again from cum on, as the windows allow
      count("rto.expired")
      rto = math.min(param.rto_max, rto * 2)
      nxt = cum
      pump()
      if nxt == cum then send_seg(cum) end -- a closed window: cum alone
    end
  elseif not late and nxt < nseg and rwnd == 0 and t - (sent_at[nxt - 1] or 0) >= rto then
    count("window.probes") -- zero window: one new segment per RTO
    send_seg(nxt)
    nxt = nxt + 1
  end
end

-- load time (also for --help): read the file only when the run can send
data = file.read(param.file)
nseg = math.max(1, (#data + param.seg - 1) // param.seg)
session = math.floor(now() * 1e6) % 4294967296
every(G, tick)
