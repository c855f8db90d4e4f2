-- lib/dns: the DNS answering code of the templates (dns-server, host's dns actions), one path for both.
--
--   local dns = include("lib/dns")
--   local zone = dns.zone("www.test A 10.0.0.7; www.test AAAA fd00::7; alias.test CNAME www.test;" ..
--                         "www.test TXT hello world", {ttl = 300})
--   local answer = dns.answer(zone, query)      -- DNS message bytes in, bytes out (nil: not a query)
--
-- Records: "NAME TYPE VALUE" separated by ';' or new lines; TYPE is A, AAAA, PTR, CNAME or TXT (the rest
-- of the entry is the text, up to 255 bytes a string, longer text split).  Every A and AAAA record also
-- answers the PTR question for its address unless a PTR record for that name is given.  Names are
-- matched without case and without a trailing dot.  dns.answer reads the query with string.unpack (an
-- error is a malformed query: FORMERR when the header is whole, nothing when it is not), answers one
-- question: the records of its type (ANY: all), a CNAME first and its target's records when the target is
-- in the zone; a known name without such records is NOERROR with no answer; any other name NXDOMAIN.
-- Queries of another opcode get NOTIMP.  Answers are authoritative (AA), recursion is not available.

local M = {}
local TYPES = {A = 1, NS = 2, CNAME = 5, PTR = 12, TXT = 16, AAAA = 28, ANY = 255}

local function ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if not (a and a < 256 and b < 256 and c < 256 and d < 256) then return nil end
  return string.char(a, b, c, d)
end

local function ipv6(s)
  if s:find("[^%x:]") then return nil end
  local head, tail = s:match("^(.-)::(.*)$")
  local function groups(t)
    local g = {}
    if t == "" then return g end
    for x in (t .. ":"):gmatch("([^:]*):") do
      if #x == 0 or #x > 4 then return nil end
      g[#g + 1] = tonumber(x, 16)
    end
    return g
  end
  local g
  if head then
    local h, t = groups(head), groups(tail)
    if not h or not t or #h + #t > 7 then return nil end
    g = h
    for _ = 1, 8 - #h - #t do g[#g + 1] = 0 end
    for _, v in ipairs(t) do g[#g + 1] = v end
  else
    g = groups(s)
    if not g or #g ~= 8 then return nil end
  end
  local out = {}
  for i = 1, 8 do out[i] = string.pack(">I2", g[i]) end
  return table.concat(out)
end

local function norm(n)
  return (n:lower():gsub("%.$", ""))
end

-- the wire form of a name
local function wire(n)
  local out = {}
  for label in n:gmatch("[^.]+") do
    if #label > 63 then error("dns: label '" .. label .. "' is longer than 63 bytes", 0) end
    out[#out + 1] = string.char(#label) .. label
  end
  out[#out + 1] = "\0"
  return table.concat(out)
end

local function reverse(addr)
  if #addr == 4 then
    local a, b, c, d = addr:byte(1, 4)
    return string.format("%d.%d.%d.%d.in-addr.arpa", d, c, b, a)
  end
  local nib = {}
  for i = 16, 1, -1 do
    local x = addr:byte(i)
    nib[#nib + 1] = string.format("%x.%x", x & 15, x >> 4)
  end
  return table.concat(nib, ".") .. ".ip6.arpa"
end

-- zone(text [, {ttl=}]) -> zone
function M.zone(text, opts)
  local z = {names = {}, ttl = (opts and opts.ttl) or 300}
  local function add(name, rtype, rdata)
    local k = norm(name)
    z.names[k] = z.names[k] or {}
    table.insert(z.names[k], {type = rtype, data = rdata})
  end
  local ptrs, explicit = {}, {}
  for entry in (text or ""):gmatch("[^;\n]+") do
    local name, t, value = entry:match("^%s*(%S+)%s+(%S+)%s+(.-)%s*$")
    if name then
      t = t:upper()
      if t == "A" then
        local a = ipv4(value) or error("dns: '" .. entry .. "': not an IPv4 address", 0)
        add(name, 1, a)
        ptrs[#ptrs + 1] = {reverse(a), name}
      elseif t == "AAAA" then
        local a = ipv6(value) or error("dns: '" .. entry .. "': not an IPv6 address", 0)
        add(name, 28, a)
        ptrs[#ptrs + 1] = {reverse(a), name}
      elseif t == "CNAME" or t == "PTR" then
        add(name, TYPES[t], wire(norm(value)))
        if t == "CNAME" then z.names[norm(name)].cname = norm(value) end
        if t == "PTR" then explicit[norm(name)] = true end
      elseif t == "TXT" then
        local parts = {}
        for i = 1, math.max(#value, 1), 255 do
          local s = value:sub(i, i + 254)
          parts[#parts + 1] = string.char(#s) .. s
        end
        add(name, 16, table.concat(parts))
      else
        error("dns: '" .. entry .. "': type " .. t .. " (give A, AAAA, PTR, CNAME or TXT)", 0)
      end
    elseif entry:find("%S") then
      error("dns: '" .. entry .. "': give NAME TYPE VALUE", 0)
    end
  end
  for _, p in ipairs(ptrs) do
    if not explicit[p[1]] then add(p[1], 12, wire(norm(p[2]))) end
  end
  return z
end

-- read the question's name at offset pos (1-based); labels only, no compression
local function qname(msg, pos)
  local labels = {}
  for _ = 1, 128 do
    local len = msg:byte(pos) or error("short")
    if len == 0 then return table.concat(labels, "."), pos + 1 end
    if len > 63 then error("compressed or bad label") end
    labels[#labels + 1] = msg:sub(pos + 1, pos + len)
    if #labels[#labels] ~= len then error("short") end
    pos = pos + 1 + len
  end
  error("too many labels")
end

-- answer(zone, query) -> response bytes, or nil when query is not a DNS query
function M.answer(z, msg)
  if #msg < 12 then return nil end
  local id, flags, qd = string.unpack(">I2I2I2", msg)
  if flags & 0x8000 ~= 0 then return nil end -- a response: not ours to answer
  local opcode, rd = (flags >> 11) & 15, flags & 0x0100
  local function head(rcode, nq, nan)
    return string.pack(">I2I2I2I2I2I2", id, 0x8000 | (opcode << 11) | 0x0400 | rd | rcode, nq, nan, 0, 0)
  end
  if opcode ~= 0 then return head(4, 0, 0) end
  if qd ~= 1 then return head(1, 0, 0) end
  local ok, name, pos = pcall(qname, msg, 13)
  if not ok or #msg < pos + 3 then return head(1, 0, 0) end
  local qtype, qclass = string.unpack(">I2I2", msg, pos)
  local question = msg:sub(13, pos + 3)
  local answers, n = {}, 0
  local key = norm(name)
  if not z.names[key] then return head(3, 1, 0) .. question end
  local owner = "\192\12" -- the question's name
  for _ = 1, 8 do
    local node = z.names[key]
    if not node then break end
    local follow
    for _, rr in ipairs(node) do
      if rr.type == qtype or qtype == 255 or (rr.type == 5 and qtype ~= 5) then
        answers[#answers + 1] = owner .. string.pack(">I2I2I4s2", rr.type, qclass, z.ttl, rr.data)
        n = n + 1
        if rr.type == 5 and qtype ~= 5 and qtype ~= 255 then follow = node.cname end
      end
    end
    if not follow then break end
    key, owner = follow, wire(follow)
  end
  return head(0, 1, n) .. question .. table.concat(answers)
end

return M
