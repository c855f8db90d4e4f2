-- arp-responder: answers ARP requests for one IPv4 address, or for every address of a prefix
--
-- A host that exists only as far as ARP goes: every "who-has IP" on the
-- interface gets "IP is-at MAC".  With a prefix (--set ip=10.99.0.0/16) every
-- address in it is a host of its own, with its own MAC, created (a few bytes
-- of Lua state) when it is first asked for.  Parameters:
--   ip   the IPv4 address or prefix to answer for (default 10.0.0.1)
--   mac  the MAC address to answer with (default 02:00:00:00:00:01 for one
--        address; for a prefix, 02:00 followed by each address's four bytes)
-- Counters: arp.replies, hosts (hosts created) (and rule.1.in / rule.1.out).
--   umpa run arp-responder -i veth0 --set ip=10.77.0.50 --set mac=02:00:00:77:00:50
--   umpa run arp-responder -i veth0 --set ip=10.99.0.0/16

params{
  ip = {type = "ipv4net", default = "10.0.0.1", help = "IPv4 address or prefix (A.B.C.D/N) to answer for"},
  mac = {type = "mac", default = "", help = "MAC address (default: 02:00:00:00:00:01; per host in a prefix: 02:00 and its bytes)"},
}

local prefix = param.ip:find("/") ~= nil

local mac_of = include("lib/targets").mac_of

-- per simulated host: its MAC, made on first contact
local hosts = {}
local function host(addr)
  local h = hosts[addr]
  if not h then
    h = {mac = param.mac or (prefix and mac_of(addr)) or "02:00:00:00:00:01"}
    hosts[addr] = h
    count("hosts")
  end
  return h
end

on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
  send(reply(p, arp{hwsrc = host(p.arp.pdst).mac}))
  count("arp.replies")
end)
