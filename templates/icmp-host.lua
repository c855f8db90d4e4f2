-- icmp-host: a host that answers ARP and ping (IPv4), and ping and neighbour discovery (IPv6)
--
-- The addresses need not belong to the machine: umpa answers for them on the
-- wire.  IPv4: ARP who-has -> is-at, ICMP echo-request -> echo-reply (same
-- id, sequence and data).  IPv6: neighbour solicitation -> neighbour
-- advertisement (solicited, override, target link-layer address), ICMPv6
-- echo-request -> echo-reply.  With an IPv4 prefix (--set ip=10.99.0.0/16)
-- every address in it is a host of its own, with its own MAC; a host's state
-- (its MAC, a few bytes of Lua) is made when it is first contacted, so a /16
-- costs nothing until it is pinged.  Parameters:
--   ip   IPv4 address or prefix (default 10.0.0.1; empty: no IPv4)
--   ip6  IPv6 address (default none)
--   mac  MAC address (default 02:00 followed by the IPv4 address's four
--        bytes, per host in a prefix; given, every host uses it)
--   ttl  TTL / hop limit of the replies (default: 64, or the personality's
--        when a template including this one gives its host one)
-- Counters: arp.replies, echo.replies, echo6.replies, nd.adverts, hosts
-- (simulated hosts contacted so far).
--   umpa run icmp-host -i veth0 --set ip=10.77.0.50 --set ip6=fd00:77::50 -w out.pcapng
--   umpa run icmp-host -i veth0 --set ip=10.99.0.0/16

params{
  ip = {type = "ipv4net", default = "10.0.0.1", help = "IPv4 address or prefix (A.B.C.D/N) to answer for (empty: none)"},
  ip6 = {type = "ipv6", default = "", help = "IPv6 address to answer for (empty: none)"},
  mac = {type = "mac", default = "", help = "MAC address (default: 02:00 and the IPv4 address's bytes)"},
  ttl = {type = "int", default = "", min = 1, max = 255, help = "TTL and hop limit of the replies (empty: 64, or the host's personality's)"},
}

local function mac_of(addr)
  local a, b, c, d = (addr or "0.0.0.0"):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)")
  return string.format("02:00:%02x:%02x:%02x:%02x", a, b, c, d)
end

local prefix = param.ip and param.ip:find("/") ~= nil
local mac = param.mac or mac_of(param.ip) -- one address (and IPv6)

-- per simulated host: its MAC and the layers its answers carry, made on
-- first contact (built once, not per packet: reply() copies what it is given)
local hosts = {}
local function host(addr)
  local h = hosts[addr]
  if not h then
    local m = prefix and not param.mac and mac_of(addr) or mac
    h = {mac = m, arp = arp{hwsrc = m}, ether = ether{src = m}}
    hosts[addr] = h
    count("hosts")
  end
  return h
end
-- the TTL layers follow param.ttl (changeable while running: PATCH /params)
local ttl_now, ip_ttl, ipv6_hlim
local function ttl_layers()
  if not ip_ttl or param.ttl ~= ttl_now then
    ttl_now, ip_ttl, ipv6_hlim = param.ttl, ip{ttl = param.ttl}, ipv6{hlim = param.ttl}
  end
end
local echo_reply = icmp{type = "echo-reply"}

if param.ip then
  -- one address: its host needs no lookup by the packet's address
  local function host_of(p, field)
    if prefix then return host(p[field][field == "arp" and "pdst" or "dst"]) end
    return host(param.ip)
  end
  on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
    send(reply(p, host_of(p, "arp").arp))
    count("arp.replies")
  end)
  on("icmp", {["ip.dst"] = param.ip, ["icmp.type"] = "echo-request"}, function(p)
    ttl_layers()
    send(reply(p, host_of(p, "ip").ether, ip_ttl, echo_reply))
    count("echo.replies")
  end)
end

if param.ip6 then
  local ether6, echo6_reply = ether{src = mac}, icmpv6{type = "echo-reply"}
  -- neighbour solicitation for our address (to its solicited-node group or to us)
  on("icmp6", {["icmpv6.type"] = "ns", ["icmpv6.nd.ns.target_address"] = param.ip6}, function(p)
    local dst = p.ipv6.src
    if dst == "::" then dst = "ff02::1" end -- duplicate address detection: answer all nodes
    send(reply(p, ether{src = mac}, ipv6{src = param.ip6, dst = dst, hlim = 255},
      icmpv6{type = "na", ["nd.na.target_address"] = param.ip6, ["nd.na.flag.s"] = dst ~= "ff02::1" and 1 or 0,
        ["nd.na.flag.o"] = 1, options = "tlla=" .. mac}))
    count("nd.adverts")
  end)
  on("icmp6", {["ipv6.dst"] = param.ip6, ["icmpv6.type"] = "echo-request"}, function(p)
    ttl_layers()
    send(reply(p, ether6, ipv6_hlim, echo6_reply))
    count("echo6.replies")
  end)
end

-- what a template that includes this one (include("icmp-host"), as host does) may reuse
return {mac = mac}
