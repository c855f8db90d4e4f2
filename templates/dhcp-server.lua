-- dhcp-server: a DHCP server (RFC 2131, options RFC 2132) leasing addresses from a pool
--
-- Answers DHCPDISCOVER with an OFFER from the pool, REQUEST with ACK (or NAK
-- when the client asks for an address that is not, or no longer, its own),
-- renews a lease on a unicast REQUEST (RENEWING) or a broadcast one
-- (REBINDING), frees it on RELEASE, sets an address aside on DECLINE, and
-- answers INFORM with the configuration only.  Leases are kept per client MAC
-- in the template's Lua state (they live as long as the run).  The server is a
-- simulated host: it answers ARP and ping for its own address, so clients can
-- reach it by unicast when they renew and release.
--
-- The BOOTP message is built and read here, as a UDP payload (string.pack /
-- string.unpack): 236 fixed bytes, the magic cookie, options, padded to 300
-- bytes.  Replies go where RFC 2131 section 4.1 says: to the relay (giaddr),
-- to ciaddr when the client has one, broadcast when the client asks for it
-- (flags) or for a NAK, else to the offered address at the client's MAC.
-- Parameters:
--   pool    FIRST-LAST or a prefix A.B.C.D/N (network, broadcast, server and
--           router addresses left out) (default 10.0.0.100-10.0.0.199)
--   server  the server's address, the server identifier (default 10.0.0.1)
--   mac     the server's MAC (default 02:00 and the server address's bytes)
--   mask    subnet mask (default the prefix's, else 255.255.255.0)
--   router  default gateway (option 3; default none)
--   dns     DNS servers, comma-separated (option 6; default none)
--   domain  domain name (option 15; default none)
--   lease   lease time in seconds (default 3600; T1 = 1/2, T2 = 7/8 of it)
-- Counters: dhcp.discover, dhcp.request, dhcp.release, dhcp.decline,
-- dhcp.inform (received); dhcp.offer, dhcp.ack, dhcp.nak (sent); dhcp.bad
-- (not a DHCP request we can read); pool.exhausted; arp.replies, echo.replies.
--   umpa run dhcp-server -i veth0 --set pool=10.77.0.100-10.77.0.150 --set server=10.77.0.53 \
--     --set router=10.77.0.1 --set dns=10.77.0.53 --set lease=600 -w dhcp.pcapng

params{
  pool = {type = "string", default = "10.0.0.100-10.0.0.199", help = "addresses to lease: FIRST-LAST or A.B.C.D/N"},
  server = {type = "ipv4", default = "10.0.0.1", help = "the server's address (server identifier, option 54)"},
  mac = {type = "mac", default = "", help = "the server's MAC (default: 02:00 and the server address's bytes)"},
  mask = {type = "ipv4", default = "", help = "subnet mask, option 1 (default: the pool prefix's, else 255.255.255.0)"},
  router = {type = "ipv4", default = "", help = "default gateway, option 3 (empty: none)"},
  dns = {type = "list", default = "", help = "DNS servers, option 6 (comma-separated)"},
  domain = {type = "string", default = "", help = "domain name, option 15 (empty: none)"},
  lease = {type = "int", default = 3600, help = "lease time in seconds, option 51"},
}

local pack, unpack, char = string.pack, string.unpack, string.char

-- ---- addresses as 32-bit numbers ----

local function ip2n(s)
  local a, b, c, d = tostring(s):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if not a or a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function n2ip(n)
  return string.format("%d.%d.%d.%d", n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)
end

-- ---- configuration, checked once ----

local server = ip2n(param.server)
local smac = param.mac or string.format("02:00:%02x:%02x:%02x:%02x", server >> 24 & 255, server >> 16 & 255,
  server >> 8 & 255, server & 255)
local router = param.router and ip2n(param.router)
local first, last, mask
do
  local a, b = param.pool:match("^%s*([%d.]+)%s*%-%s*([%d.]+)%s*$")
  if a then
    first, last = ip2n(a), ip2n(b)
    if not first or not last or first > last then
      error("pool '" .. param.pool .. "': give FIRST-LAST with FIRST <= LAST (10.0.0.100-10.0.0.199)")
    end
  else
    local net, bits = param.pool:match("^%s*([%d.]+)/(%d+)%s*$")
    bits = tonumber(bits)
    if not net or not ip2n(net) or bits > 30 then
      error("pool '" .. param.pool .. "': give FIRST-LAST or a prefix A.B.C.D/N with N at most 30")
    end
    mask = (0xffffffff << (32 - bits)) & 0xffffffff
    first = (ip2n(net) & mask) + 1
    last = (ip2n(net) | ~mask & 0xffffffff) - 1
  end
end
if last - first >= 1 << 20 then error("pool '" .. param.pool .. "': more than 1048576 addresses") end
mask = param.mask and ip2n(param.mask) or mask or 0xffffff00
local dns = {}
for _, d in ipairs(param.dns or {}) do
  local n = ip2n(d)
  if not n then error("dns: '" .. d .. "' is not an IPv4 address") end
  dns[#dns + 1] = n
end
if #dns > 63 then error("dns: at most 63 servers") end
if #(param.domain or "") > 255 then error("domain: at most 255 bytes") end
if param.lease < 60 or param.lease > 0x7fffffff then error("lease: give 60 to 2147483647 seconds") end

local OFFER_HOLD = 60 -- seconds an offered address waits for its REQUEST
local MSG = {"discover", "offer", "request", "decline", "ack", "nak", "release", "inform"}

-- ---- leases: per client MAC {ip=, expires=, state="offered"|"bound"}; byip: ip -> MAC ----

local leases, byip, declined = {}, {}, {}
local hint = first

local function in_pool(n)
  return n and n >= first and n <= last and n ~= server and n ~= router
end

local function alive(l)
  return l and l.expires > now()
end

-- Is address n free for client mac (its own, unleased, or its lease ran out)?
local function free_for(n, mac)
  if not in_pool(n) then return false end
  if declined[n] and declined[n] > now() then return false end
  local owner = byip[n]
  if not owner or owner == mac then return true end
  local l = leases[owner]
  if l and l.ip == n and alive(l) then return false end
  byip[n] = nil -- its lease ran out
  if l and l.ip == n then leases[owner] = nil end
  return true
end

-- Forget mac's lease; its address is the first the next search tries when it is lower.
local function drop(mac)
  local l = leases[mac]
  if l then
    if byip[l.ip] == mac then byip[l.ip] = nil end
    leases[mac] = nil
    if l.ip < hint then hint = l.ip end
  end
end

local function take(mac, n, state, secs)
  local old = leases[mac]
  if old and old.ip ~= n and byip[old.ip] == mac then byip[old.ip] = nil end
  local l = {ip = n, expires = now() + secs, state = state}
  leases[mac] = l
  byip[n] = mac
  return l
end

-- An address for a DISCOVER: the client's lease, the one it asks for, else the
-- lowest free one (the search starts at hint, below which every address was
-- taken when it was last moved).
local function choose(mac, want)
  local l = leases[mac]
  if l and alive(l) and free_for(l.ip, mac) then return l.ip end
  if want and free_for(want, mac) then return want end
  local size = last - first + 1
  for i = 0, size - 1 do
    local n = first + (hint - first + i) % size
    if free_for(n, mac) then
      hint = n + 1 > last and first or n + 1
      return n
    end
  end
  return nil
end

-- ---- the BOOTP message ----

-- Read a request: nil and the reason when it is not one we can answer.
local function parse(b)
  if #b < 240 then return nil, "shorter than 240 bytes" end
  local m = {}
  m.op, m.htype, m.hlen, m.hops, m.xid, m.secs, m.flags, m.ciaddr, m.yiaddr, m.siaddr, m.giaddr =
    unpack(">BBBBI4I2I2I4I4I4I4", b)
  if m.op ~= 1 then return nil, "not a BOOTREQUEST" end
  if m.htype ~= 1 or m.hlen ~= 6 then return nil, "not an Ethernet client" end
  m.chaddr = b:sub(29, 44)
  m.mac = string.format("%02x:%02x:%02x:%02x:%02x:%02x", b:byte(29, 34))
  if unpack(">I4", b, 237) ~= 0x63825363 then return nil, "no DHCP magic cookie" end
  m.opt = {}
  local i = 241
  while i <= #b do
    local code = b:byte(i)
    if code == 255 then break end
    if code == 0 then
      i = i + 1
    else
      local len = b:byte(i + 1)
      if not len or i + 1 + len > #b then return nil, "option " .. code .. " runs past the end" end
      m.opt[code] = b:sub(i + 2, i + 1 + len)
      i = i + 2 + len
    end
  end
  local t = m.opt[53]
  m.type = t and #t == 1 and t:byte() or nil
  if not m.type or not MSG[m.type] then return nil, "no DHCP message type" end
  local function addr(code)
    local v = m.opt[code]
    return v and #v == 4 and unpack(">I4", v) or nil
  end
  m.reqip, m.sid = addr(50), addr(54)
  return m
end

local function opt(code, data)
  return char(code, #data) .. data
end

local function u32(n) return pack(">I4", n) end

-- The reply of type t to request m: yiaddr, ciaddr, and whether to give the lease and configuration.
local function message(m, t, yiaddr, ciaddr, leased, why)
  local o = {opt(53, char(t)), opt(54, u32(server))}
  if leased then
    local secs = param.lease
    o[#o + 1] = opt(51, u32(secs))
    o[#o + 1] = opt(58, u32(secs // 2))
    o[#o + 1] = opt(59, u32(secs * 7 // 8))
  end
  if t ~= 6 then -- configuration (not in a NAK)
    o[#o + 1] = opt(1, u32(mask))
    if router then o[#o + 1] = opt(3, u32(router)) end
    if #dns > 0 then
      local d = {}
      for k, n in ipairs(dns) do d[k] = u32(n) end
      o[#o + 1] = opt(6, table.concat(d))
    end
    if param.domain and #param.domain > 0 then o[#o + 1] = opt(15, param.domain) end
  elseif why then
    o[#o + 1] = opt(56, why:sub(1, 255))
  end
  o[#o + 1] = char(255)
  local body = pack(">BBBBI4I2I2I4I4I4I4", 2, 1, 6, 0, m.xid, 0, m.flags, ciaddr, yiaddr, 0, m.giaddr) ..
    m.chaddr .. string.rep("\0", 64 + 128) .. u32(0x63825363) .. table.concat(o)
  if #body < 300 then body = body .. string.rep("\0", 300 - #body) end -- BOOTP's minimum
  return body
end

-- Send reply type t to request m (received in packet p), addressed as RFC 2131 4.1 says.
local function answer(p, m, t, yiaddr, ciaddr, leased, why)
  local body = message(m, t, yiaddr, ciaddr, leased, why)
  local dst, edst, dport = "255.255.255.255", "ff:ff:ff:ff:ff:ff", 68
  if m.giaddr ~= 0 then
    dst, edst, dport = n2ip(m.giaddr), p.eth.src, 67
  elseif t == 6 then
    -- a NAK is broadcast
  elseif m.ciaddr ~= 0 then
    dst, edst = n2ip(m.ciaddr), p.eth.src
  elseif m.flags & 0x8000 == 0 and yiaddr ~= 0 then
    dst, edst = n2ip(yiaddr), m.mac
  end
  send(ether{src = smac, dst = edst}/ip{src = param.server, dst = dst, ttl = 64}/udp{sport = 67, dport = dport}/body)
  count("dhcp." .. MSG[t])
end

local function ack(p, m, n, ciaddr)
  take(m.mac, n, "bound", param.lease)
  answer(p, m, 5, n, ciaddr, true)
  log("lease", n2ip(n), "to", m.mac, "for", param.lease, "s")
end

local function nak(p, m, why)
  answer(p, m, 6, 0, 0, false, why)
  log("nak", m.mac, why)
end

local handle = {}

handle[1] = function(p, m) -- DISCOVER
  local n = choose(m.mac, m.reqip)
  if not n then
    count("pool.exhausted")
    log("discover from", m.mac, ": the pool is exhausted")
    return
  end
  local l = leases[m.mac]
  if not (l and l.state == "bound" and l.ip == n and alive(l)) then -- (a bound lease keeps its time)
    take(m.mac, n, "offered", OFFER_HOLD)
  end
  answer(p, m, 2, n, 0, true)
end

handle[3] = function(p, m) -- REQUEST
  local l = leases[m.mac]
  if m.sid then -- SELECTING: answering an offer
    if m.sid ~= server then -- the client took another server's offer
      if l and l.state == "offered" then drop(m.mac) end
      return
    end
    if l and alive(l) and m.reqip == l.ip then
      ack(p, m, l.ip, 0)
    else
      nak(p, m, "address " .. n2ip(m.reqip or 0) .. " was not offered to " .. m.mac)
    end
  elseif m.reqip then -- INIT-REBOOT: confirming an address it had
    if l and l.ip == m.reqip and alive(l) then
      ack(p, m, l.ip, 0)
    elseif free_for(m.reqip, m.mac) then
      ack(p, m, m.reqip, 0)
    else
      nak(p, m, "address " .. n2ip(m.reqip) .. " is not yours on this network")
    end
  elseif m.ciaddr ~= 0 then -- RENEWING (unicast) or REBINDING (broadcast)
    if l and l.ip == m.ciaddr and alive(l) then
      ack(p, m, l.ip, m.ciaddr)
    elseif free_for(m.ciaddr, m.mac) then
      ack(p, m, m.ciaddr, m.ciaddr)
    elseif in_pool(m.ciaddr) then
      nak(p, m, "address " .. n2ip(m.ciaddr) .. " is leased to another client")
    end -- not ours: another server's client, stay silent
  else
    count("dhcp.bad")
  end
end

handle[4] = function(p, m) -- DECLINE: the address is in use by someone else
  if m.sid and m.sid ~= server then return end
  if m.reqip and in_pool(m.reqip) then
    declined[m.reqip] = now() + param.lease
    drop(m.mac)
    log("declined", n2ip(m.reqip), "by", m.mac)
  end
end

handle[7] = function(p, m) -- RELEASE
  local l = leases[m.mac]
  if (not m.sid or m.sid == server) and l and l.ip == m.ciaddr then
    drop(m.mac)
    log("released", n2ip(m.ciaddr), "by", m.mac)
  end
end

handle[8] = function(p, m) -- INFORM: configuration only, to the address it has
  if m.ciaddr == 0 then return end
  answer(p, m, 5, 0, m.ciaddr, false)
end

on("udp", {["udp.dstport"] = 67}, function(p)
  local m = parse(p.udp._payload)
  if not m then
    count("dhcp.bad")
    return
  end
  if not handle[m.type] then -- a server's message type in a request
    count("dhcp.bad")
    return
  end
  count("dhcp." .. MSG[m.type])
  handle[m.type](p, m)
end)

-- the server is a host: ARP and ping for its address
on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.server}, function(p)
  send(reply(p, arp{hwsrc = smac}))
  count("arp.replies")
end)
on("icmp", {["ip.dst"] = param.server, ["icmp.type"] = "echo-request"}, function(p)
  send(reply(p, ether{src = smac}, icmp{type = "echo-reply"}))
  count("echo.replies")
end)
