-- arp-responder: answers ARP requests for one IPv4 address with one MAC address
--
-- A host that exists only as far as ARP goes: every "who-has IP" on the
-- interface gets "IP is-at MAC".  Parameters:
--   ip   the IPv4 address to answer for (default 10.0.0.1)
--   mac  the MAC address to answer with (default 02:00:00:00:00:01)
-- Counters: arp.replies (and rule.1.in / rule.1.out).
--   umpa run arp-responder -i veth0 --set ip=10.77.0.50 --set mac=02:00:00:77:00:50

params{
  ip = {type = "ipv4", default = "10.0.0.1", help = "IPv4 address to answer for"},
  mac = {type = "mac", default = "02:00:00:00:00:01", help = "MAC address to answer with"},
}

on("arp", {["arp.opcode"] = "request", ["arp.dst.proto_ipv4"] = param.ip}, function(p)
  send(reply(p, arp{hwsrc = param.mac}))
  count("arp.replies")
end)
