-- stream-recv: receives a file over UDP with a sliding window (cumulative and selective acks, a receive window) and writes it out
--
-- The receiving end of stream-send's protocol.  It plays a host at `ip`
-- (answering ARP for it with `mac`; the kernel need not own the address) and
-- takes the data segments sent to `ip`:`port`.  Each segment is acknowledged
-- at once with the cumulative ack (the next segment expected), the receive
-- window (segments it can still take) and up to 4 SACK blocks of what it
-- holds beyond (RFC 2018: the block of the newest arrival first).  Segments
-- in order go to the application; with `delay` > 0 it takes each one that
-- many seconds to process them, so the buffer fills and the window shrinks
-- (a window update is sent when it opens again).  Once every segment is
-- processed the file is written to `out` (under --allow-write; created
-- empty at start, so a path that cannot be written fails at once).  The run
-- ends `linger` seconds after the last segment once the file is complete
-- (0: it runs on until --duration or a signal), so a sender whose last ack
-- was lost still gets it again.
--
-- Wire format (UDP payload, big-endian; shared with stream-send):
--   data  "D" session:u32 seq:u32 nseg:u32 payload    (seq from 0, nseg segments)
--   ack   "A" session:u32 cum:u32 rwnd:u32 echo:u32 n:u8 n * (start:u32 end:u32)
--         (echo: the segment this ack answers, 0xffffffff for a window
--         update or a segment outside the window, so the sender's RTT samples are not held up by holes;
--         SACK block ends are exclusive)
--
-- Parameters: ip, mac (default 02:00 + the address's bytes), port (9000),
-- out (file to write), window (1024 segments), delay (0 s per segment),
-- linger (2 s).  Counters: segments.received, segments.duplicated (already
-- held), segments.out_of_window, segments.delivered (processed in order),
-- acks.sent, window.updates, bytes.written.
--   umpa run stream-recv -i veth0 --set ip=10.78.0.20 --set port=9000 --set out=/tmp/in/f --allow-write /tmp/in

params{
  ip = {type = "ipv4", default = "10.0.0.2", help = "address to receive on (ARP answered for it)"},
  mac = {type = "mac", default = "", help = "MAC address (default: 02:00 and the address's bytes)"},
  port = {type = "int", default = 9000, help = "UDP port"},
  out = {type = "string", default = "", help = "file to write (under --allow-write; empty: receive only)"},
  window = {type = "int", default = 1024, help = "receive buffer in segments"},
  delay = {type = "number", default = 0, help = "processing time per segment, seconds"},
  linger = {type = "number", default = 2, help = "seconds of silence after the transfer before exiting (0: run on)"},
}

local mac_of = include("lib/targets").mac_of

local mac = param.mac or mac_of(param.ip)
if param.port < 1 or param.port > 65535 then error("port must be 1 to 65535", 0) end
if param.window < 1 or param.window > 1000000 then error("window must be 1 to 1000000 segments", 0) end
if param.delay < 0 then error("delay must be >= 0", 0) end

-- the output must be writable before anything is received: it is created empty now
if mode() == "live" and param.out ~= "" then file.write(param.out, "") end

local session, nseg          -- of the transfer in progress (the first one seen)
local cum = 0                -- next segment expected in order
local have = {}              -- segments held beyond cum
local maxseen = -1           -- highest segment held
local parts = {}             -- payloads in order, for the file
local unprocessed = 0        -- in order but not processed yet (delay > 0)
local consumer               -- the processing timer while it runs
local last_rwnd              -- window in the last ack
local done = false           -- file complete and written
local last_rx = now()

local function rwnd()
  return param.window - unprocessed
end

-- SACK blocks above cum: the one holding @newest first, then in order, 4 at most.
local function sack_blocks(newest)
  local blocks, first = {}, nil
  local s = nil
  local hi = math.min(maxseen, cum + param.window)
  for i = cum + 1, hi + 1 do
    if have[i] and i <= hi then
      if not s then s = i end
    elseif s then
      if newest and newest >= s and newest < i then first = {s, i} else blocks[#blocks + 1] = {s, i} end
      s = nil
    end
  end
  if first then table.insert(blocks, 1, first) end
  while #blocks > 4 do table.remove(blocks) end
  return blocks
end

local function send_ack(dst_mac, dst_ip, dst_port, newest)
  local blocks = sack_blocks(newest)
  local w = rwnd()
  local parts_ = {string.pack(">c1I4I4I4I4I1", "A", session or 0, cum, w, newest or 0xffffffff, #blocks)}
  for _, b in ipairs(blocks) do parts_[#parts_ + 1] = string.pack(">I4I4", b[1], b[2]) end
  send(ether{src = mac, dst = dst_mac}/ip{src = param.ip, dst = dst_ip}/
    udp{sport = param.port, dport = dst_port}/table.concat(parts_))
  last_rwnd = w
  count("acks.sent")
end

local peer -- where acks go: {mac, ip, port}

local function finish()
  if done or not nseg or cum < nseg or unprocessed > 0 then return end
  done = true
  local data = table.concat(parts)
  parts = {}
  if param.out ~= "" then
    local ok, err = pcall(file.write, param.out, data)
    if not ok then
      fail("stream-recv: " .. tostring(err))
      return
    end
    count("bytes.written", #data)
  end
  log(string.format("stream-recv: %d bytes in %d segments complete", #data, nseg))
end

local function process()
  consumer = nil
  if unprocessed == 0 then return end
  unprocessed = unprocessed - 1
  count("segments.delivered")
  -- the window opens again: tell the sender when it was (nearly) closed
  if peer and last_rwnd and last_rwnd < math.max(1, param.window // 4) and rwnd() >= param.window // 4 then
    send_ack(peer[1], peer[2], peer[3])
    count("window.updates")
  end
  if unprocessed > 0 then consumer = after(param.delay, process) end
  finish()
end

on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
  send(reply(p, arp{hwsrc = mac}))
  count("arp.replies")
end)

on("udp", {["ip.dst"] = param.ip, ["udp.dstport"] = param.port}, function(p)
  local pl = p.udp._payload
  if #pl < 13 or pl:sub(1, 1) ~= "D" then count("segments.malformed") return end
  local _, s, seq, n = string.unpack(">c1I4I4I4", pl)
  last_rx = now()
  count("segments.received")
  if not session then
    session, nseg = s, n
    log(string.format("stream-recv: transfer %08x of %d segments from %s", s, n, p.ip.src))
  elseif s ~= session or n ~= nseg then
    count("segments.foreign")
    return
  end
  peer = {p.eth.src, p.ip.src, p.udp.srcport}
  if seq >= nseg then
    count("segments.malformed")
    return
  end
  if seq < cum or have[seq] then
    count("segments.duplicated")
  elseif seq >= cum + rwnd() then
    count("segments.out_of_window")
    seq = nil -- not taken: the ack names no segment
  else
    have[seq] = pl:sub(14)
    if seq > maxseen then maxseen = seq end
    while have[cum] do
      parts[#parts + 1] = have[cum]
      have[cum] = nil
      cum = cum + 1
      if param.delay > 0 then
        unprocessed = unprocessed + 1
      else
        count("segments.delivered")
      end
    end
    if unprocessed > 0 and not consumer then consumer = after(param.delay, process) end
  end
  send_ack(peer[1], peer[2], peer[3], seq)
  finish()
end)

if param.linger > 0 then
  every(0.1, function()
    if done and now() - last_rx >= param.linger then stop() end
  end)
end
