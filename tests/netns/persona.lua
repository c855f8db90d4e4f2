-- persona: a host with a personality: SYN/ACK on one port, closed-port answers elsewhere (tests/netns/persona.sh)
--
-- ARP for ip; ICMP echo -> echo reply; a SYN to `port` -> SYN/ACK (reply(),
-- so TTL, DF, IP ID, window and options are the personality's; a random
-- ISN); an ACK to `port` and TCP to any other port and UDP to any port ->
-- personality_closed() (RST / ICMP port unreachable, or silence); other
-- flag combinations to `port` (nmap's T2, T3) go unanswered.
params{
  ip = {type = "ipv4", default = "10.0.0.1", help = "the simulated host"},
  port = {type = "int", default = 80, help = "the open TCP port"},
  personality = {type = "string", default = "linux", help = "linux, windows, freebsd, embedded, nmap:NAME"},
  uptime = {type = "number", default = 86400, help = "seconds since the simulated boot"},
}
local a, b, c, d = param.ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
local mac = string.format("02:00:%02x:%02x:%02x:%02x", a, b, c, d)

if personality then personality(param.ip, param.personality, {uptime = param.uptime}) end

on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
  send(reply(p, arp{hwsrc = mac}))
end)
on("icmp", {["ip.dst"] = param.ip, ["icmp.type"] = "echo-request"}, function(p)
  send(reply(p, icmp{type = "echo-reply"}))
end)
on("tcp", {["ip.dst"] = param.ip}, function(p)
  local f = p.tcp.flags & 0x3f -- without ECE and CWR
  if p.tcp.dport == param.port and f == 2 then
    send(reply(p, tcp{flags = "SA", seq = math.random(0, 0xffffffff)}))
    return
  end
  if p.tcp.dport == param.port and f ~= 0x10 then return end
  local ans = personality_closed(p)
  if ans then send(ans) else count("silent") end
end)
on("udp", {["ip.dst"] = param.ip}, function(p)
  local ans = personality_closed(p)
  if ans then send(ans) else count("silent") end
end)
