-- dns-server: answers DNS over UDP and TCP from a table of records (A, AAAA, PTR, CNAME, TXT); NXDOMAIN otherwise
--
-- The server's address need not belong to the machine: ARP, neighbour
-- discovery and ping come from icmp-host (included); the answers from
-- lib/dns (the same code as host's dns actions).  Parameters:
--   ip, ip6, mac, ttl   as icmp-host (ttl: of the IP packets)
--   records   "NAME TYPE VALUE; NAME TYPE VALUE; ..." (TYPE: A, AAAA, PTR, CNAME, TXT; a TXT value is
--             the rest of the entry); every A and AAAA also answers its PTR question
--   zone      a file of such records, one per line (read with file.read: give --allow-read DIR)
--   port      UDP and TCP port (default 53)
--   rr_ttl    TTL of the answers (default 300)
-- Counters: dns.answers, dns.nxdomain.
--   umpa run dns-server -i veth0 --set ip=10.99.0.53 \
--     --set records='www.test A 10.99.0.7; alias.test CNAME www.test; www.test TXT hello'

params{
  records = {type = "string", default = "", help = "NAME TYPE VALUE; ... (A AAAA PTR CNAME TXT)"},
  zone = {type = "string", default = "", help = "a file of records, one per line (needs --allow-read)"},
  port = {type = "int", default = 53, help = "UDP and TCP port"},
  rr_ttl = {type = "int", default = 300, help = "TTL of the answers, seconds"},
}

local base = include("icmp-host")
local dns = include("lib/dns")
local mac = base.mac

if param.port < 1 or param.port > 65535 then error("--set port=" .. param.port .. ": give 1 to 65535", 0) end
local ok, why = pcall(dns.zone, param.records)
if not ok then error("--set records=" .. param.records .. ": " .. why, 0) end
local text = param.records
if param.zone ~= "" then text = text .. "\n" .. file.read(param.zone) end
local zone = dns.zone(text, {ttl = param.rr_ttl})

local function answered(a)
  count("dns.answers")
  if a:byte(4) & 15 == 3 then count("dns.nxdomain") end
end

local function l3(p)
  if p.ip then return ip{ttl = param.ttl} end
  return ipv6{hlim = param.ttl}
end

local function udp_in(p)
  local a = dns.answer(zone, p.udp._payload)
  if a then
    send(reply(p, ether{src = mac}, l3(p), udp{}, a))
    answered(a)
  end
end

local addrs = {}
if param.ip then
  addrs[#addrs + 1] = param.ip
  on("udp", {["ip.dst"] = param.ip, ["udp.dstport"] = param.port}, udp_in)
end
if param.ip6 then
  addrs[#addrs + 1] = param.ip6
  on("udp", {["ipv6.dst"] = param.ip6, ["udp.dstport"] = param.port}, udp_in)
end

-- DNS over TCP (RFC 7766): messages with a two-byte length
tcp.listen(param.port, function(c)
  local buf = ""
  c:on_data(function(c, d)
    buf = buf .. d
    if #buf > 70000 then c:reset() return end
    while #buf >= 2 do
      local n = string.unpack(">I2", buf)
      if #buf < 2 + n then break end
      local a = dns.answer(zone, buf:sub(3, 2 + n))
      buf = buf:sub(3 + n)
      if a then
        c:write(string.pack(">s2", a))
        answered(a)
      end
    end
  end)
end, {addr = addrs, mac = mac})
