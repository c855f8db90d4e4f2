-- lib/targets: IPv4 target ranges of the probing templates (ping-sweep, syn-scan), one path for both, and
-- the MAC address a simulated host makes of its IPv4 address (arp-responder, stream-send, stream-recv).
--
--   local targets = include("lib/targets")
--   local first, last = targets.range(param.targets)   -- numbers; a /30 or wider loses network and broadcast
--   targets.n2ip(first), targets.ip2n("10.0.0.1")
--   targets.mac_of("10.78.0.10")                      -- "02:00:0a:4e:00:0a": 02:00 and the address's bytes
--
-- range raises "targets: PREFIX has more than 65536 addresses" for a wider prefix.
local M = {}

function M.ip2n(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)")
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

function M.n2ip(n)
  return string.format("%d.%d.%d.%d", n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)
end

function M.mac_of(ip)
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return string.format("02:00:%02x:%02x:%02x:%02x", a, b, c, d)
end

function M.range(prefix)
  local bits = tonumber(prefix:match("/(%d+)$") or 32)
  local mask = (0xffffffff << (32 - bits)) & 0xffffffff
  local first = M.ip2n(prefix) & mask
  local last = first | (~mask & 0xffffffff)
  if bits <= 30 then first, last = first + 1, last - 1 end
  if last - first >= 65536 then error("targets: " .. prefix .. " has more than 65536 addresses", 2) end
  return first, last
end

return M
