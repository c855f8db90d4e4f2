-- host: a simulated host: ARP, neighbour discovery, ping, and per-port TCP and UDP services
--
-- The addresses need not belong to the machine: umpa answers for them on the
-- wire, with its own userland TCP (tcp.listen) and TLS (tls.serve).
-- IPv4 and IPv6 alike: ARP / neighbour discovery and echo come from
-- icmp-host (included), then per port:
--   tcp=PORT:ACTION,...   open      accept, read and discard, close when the peer closes
--                         closed    RST to the SYN (what a kernel does; also every unlisted port)
--                         filtered  no answer at all
--                         reset     accept, then reset the connection at once
--                         tarpit    accept with a 10-byte window, never answer, never close first
--                         banner:TEXT  accept, send TEXT and CR LF, read and discard
--                         echo      send back what arrives
--                         http      HTTP/1.1: GET and HEAD answer a small page, then close
--                         https     TLS (tls.serve: certificate from cert/key, else a
--                                   generated self-signed one named `name`), then http
--                         dns       DNS over TCP (the records of `name` and `dns`)
--   udp=PORT:ACTION,...   dns, echo, open (read, no answer), closed (ICMP port unreachable:
--                         also every unlisted port), filtered (no answer)
-- Parameters: ip (an address, or a prefix: every address in it a host of its own, as
--   icmp-host), ip6, mac (default 02:00 + the IPv4 address), ttl (icmp-host's: given, the
--   TTL / hop limit of everything the host sends, its TCP services' segments too; else 64,
--   or the personality's);
--   tcp, udp (above); name (the host's DNS name and certificate name); dns (more records,
--   "NAME TYPE VALUE; ...", as dns-server's); cert, key (PEM files under --allow-read);
--   personality (linux, linux6, windows, freebsd, embedded, or an nmap OS name) and uptime (seconds).
-- Counters: tcp.rst, icmp.unreachable, http.requests, dns.answers, udp.echo, tls.handshakes, ...
--   umpa run host -i IF --set ip=10.99.0.50 --set ip6=fd99::50 \
--     --set tcp=22:open,23:closed,25:filtered,80:http,443:https --set udp=53:dns,7:echo -w out.pcapng

params{
  tcp = {type = "list", default = "22:open,80:http", help = "PORT:ACTION,... (open closed filtered reset tarpit banner:TEXT echo http https dns)"},
  udp = {type = "list", default = "", help = "PORT:ACTION,... (dns echo open closed filtered)"},
  name = {type = "string", default = "host.umpa.test", help = "the host's DNS name (its A, AAAA and PTR records) and certificate name"},
  dns = {type = "string", default = "", help = "more DNS records: NAME TYPE VALUE; ... (A AAAA PTR CNAME TXT)"},
  cert = {type = "string", default = "", help = "PEM certificate for https (under --allow-read; empty: generated)"},
  key = {type = "string", default = "", help = "PEM private key for https (empty: in cert)"},
  personality = {type = "string", default = "", help = "OS personality of every packet sent (linux, linux6, windows, freebsd, embedded, nmap OS name)"},
  uptime = {type = "number", default = 0, help = "seconds the host has been up (TCP timestamps tick from it; 0: the personality's default)"},
}

local base = include("icmp-host") -- ip, ip6, mac, ttl; ARP, neighbour discovery, echo
local dns = include("lib/dns")
local mac = base.mac
-- ip a prefix (--set ip=10.99.0.0/16): every address in it is a host, each with its own MAC
-- (icmp-host's, made on first contact): answers leave from the MAC the peer sent to
local prefix = param.ip and param.ip:find("/") ~= nil
local function src_mac(p) if prefix then return p.eth and p.eth.dst end return mac end

-- the send path's host personalities (templates/umpa_persona.h): every packet from ip and ip6
local persona = param.personality ~= ""
if persona then
  local opts = param.uptime > 0 and {uptime = param.uptime} or nil -- else persona's default (a day)
  if param.ip then personality(param.ip, param.personality, opts) end
  if param.ip6 then personality(param.ip6, param.personality, opts) end
end

-- ---- the port tables ----

local TCP_ACTIONS = {open = true, closed = true, filtered = true, reset = true, tarpit = true, banner = true,
  echo = true, http = true, https = true, dns = true}
local UDP_ACTIONS = {dns = true, echo = true, open = true, closed = true, filtered = true}

local function ports(list, actions, what)
  local t = {}
  for _, entry in ipairs(list or {}) do
    local port, action, arg = entry:match("^(%d+):(%a+):?(.*)$")
    port = tonumber(port)
    if not port or port < 1 or port > 65535 or not actions[action] then
      -- "--set ..." : a usage error (exit 2), as a value of the wrong type
      error("--set " .. what .. "=" .. table.concat(list, ",") .. ": '" .. entry .. "': give PORT:ACTION, ACTION one of " ..
        (what == "tcp" and "open closed filtered reset tarpit banner:TEXT echo http https dns" or
          "dns echo open closed filtered"), 0)
    end
    if action == "banner" and arg == "" then
      error("--set " .. what .. "=" .. table.concat(list, ",") .. ": '" .. entry .. "': banner:TEXT needs the text", 0)
    end
    t[port] = {action = action, arg = arg}
  end
  return t
end

local tcp_ports = ports(param.tcp, TCP_ACTIONS, "tcp")
local udp_ports = ports(param.udp, UDP_ACTIONS, "udp")

local records = {}
if param.ip and not prefix then records[#records + 1] = param.name .. " A " .. param.ip end
if param.ip6 then records[#records + 1] = param.name .. " AAAA " .. param.ip6 end
local ok, why = pcall(dns.zone, param.dns)
if not ok then error("--set dns=" .. param.dns .. ": " .. why, 0) end
records[#records + 1] = param.dns
local zone = dns.zone(table.concat(records, ";"))

local addrs = {}
if param.ip then addrs[#addrs + 1] = param.ip end
if param.ip6 then addrs[#addrs + 1] = param.ip6 end

-- ---- answers of a closed host ----

local function l3(p)
  if p.ip then return ip{ttl = param.ttl} end
  return ipv6{hlim = param.ttl}
end

-- what the personality answers at a closed port (or nil: silence), with the ttl parameter's TTL when given
local function closed_answer(p)
  local q = personality_closed(p)
  if q and param.ttl then
    if q.ip then q.ip.ttl = param.ttl else q.ipv6.hlim = param.ttl end
  end
  return q
end

-- RST for a segment to a closed port (RFC 9293 3.10.7.1; reply() puts seq = its ack, ack = its seq + len)
local function rst(p)
  local f = p.tcp.flags
  if f & 4 ~= 0 then return end
  if persona then -- the personality says how its closed ports answer (or stay silent)
    local q = closed_answer(p)
    if q then send(q); count("tcp.rst") end
    return
  end
  if f & 16 ~= 0 then
    send(reply(p, ether{src = src_mac(p)}, l3(p), tcp{flags = "R", ack = 0, window = 0}))
  else
    send(reply(p, ether{src = src_mac(p)}, l3(p), tcp{flags = "RA", seq = 0, window = 0}))
  end
  count("tcp.rst")
end

-- ICMP / ICMPv6 port unreachable quoting the datagram (as much as fits 576 / 1280 bytes)
local function unreachable(p)
  if persona then
    local q = closed_answer(p)
    if q then send(q); count("icmp.unreachable") end
    return
  end
  if p.ip then
    local quote = p.eth._payload:sub(1, math.min(p.ip.len, 548))
    send(ether{src = src_mac(p), dst = p.eth.src}/ip{src = p.ip.dst, dst = p.ip.src, ttl = param.ttl}/
      icmp{type = 3, code = 3}/quote)
  else
    local quote = p.eth._payload:sub(1, math.min(p.ipv6.plen + 40, 1232))
    send(ether{src = src_mac(p), dst = p.eth.src}/ipv6{src = p.ipv6.dst, dst = p.ipv6.src, hlim = param.ttl}/
      icmpv6{type = 1, code = 4}/quote)
  end
  count("icmp.unreachable")
end

-- ---- TCP services ----

local page = "<html><head><title>" .. param.name .. "</title></head><body><h1>" .. param.name ..
  "</h1><p>umpa host template</p></body></html>\n"

local function http(c)
  local buf = ""
  c:on_data(function(c, d)
    buf = buf .. d
    if #buf > 65536 then c:reset() return end
    local head = buf:match("^(.-)\r\n\r\n")
    if not head then return end
    buf = ""
    local method, path = head:match("^(%u+) (%S+) HTTP/1%.[01]")
    local status, body = "200 OK", page
    if not method then
      status, body = "400 Bad Request", "bad request\n"
    elseif method ~= "GET" and method ~= "HEAD" then
      status, body = "405 Method Not Allowed", "GET or HEAD\n"
    elseif path ~= "/" and path ~= "/index.html" then
      status, body = "404 Not Found", "not found\n"
    end
    c:write("HTTP/1.1 " .. status .. "\r\nServer: umpa\r\nContent-Type: text/html\r\nContent-Length: " ..
      #body .. "\r\nConnection: close\r\n\r\n" .. (method == "HEAD" and "" or body))
    c:close()
    count("http.requests")
  end)
end

local tls_opts = {alpn = "http/1.1", sni = param.name, key_type = "ec:P-256"}
if param.cert ~= "" then
  tls_opts = {alpn = "http/1.1", cert = param.cert}
  if param.key ~= "" then tls_opts.key = param.key end
end

local function dns_tcp(c)
  local buf = ""
  c:on_data(function(c, d)
    buf = buf .. d
    while #buf >= 2 do
      local n = string.unpack(">I2", buf)
      if #buf < 2 + n then break end
      local answer = dns.answer(zone, buf:sub(3, 2 + n))
      buf = buf:sub(3 + n)
      if answer then
        c:write(string.pack(">s2", answer))
        count("dns.answers")
      end
    end
  end)
end

local SERVICES = {
  open = function(c) end,
  reset = function(c) c:reset() end,
  tarpit = function(c) c:on_eof(function() end) end, -- held open: the peer gives up first
  echo = function(c) c:on_data(function(c, d) c:write(d) end) end,
  http = http,
  https = function(c) http(tls.serve(c, tls_opts)) end,
  dns = dns_tcp,
}

for port, t in pairs(tcp_ports) do
  local a = t.action
  if a == "banner" then
    local text = t.arg .. "\r\n"
    tcp.listen(port, function(c) c:write(text) end, {addr = addrs, mac = not prefix and mac or nil, ttl = param.ttl})
  elseif SERVICES[a] then
    tcp.listen(port, SERVICES[a], {addr = addrs, mac = not prefix and mac or nil, rwnd = a == "tarpit" and 10 or nil,
      wscale = a == "tarpit" and -1 or nil, ttl = param.ttl})
  end
end

-- what no listener takes: closed and unlisted ports reset, filtered ones stay silent
local function tcp_in(p)
  local t = tcp_ports[p.tcp.dport]
  if not t or t.action == "closed" then rst(p) end
end

-- ---- UDP ----

local function udp_in(p)
  local t = udp_ports[p.udp.dport]
  local a = t and t.action or "closed"
  if a == "closed" then
    unreachable(p)
  elseif a == "echo" then
    send(reply(p, ether{src = src_mac(p)}, l3(p), udp{}, p.udp._payload))
    count("udp.echo")
  elseif a == "dns" then
    local answer = dns.answer(zone, p.udp._payload)
    if answer then
      send(reply(p, ether{src = src_mac(p)}, l3(p), udp{}, answer))
      count("dns.answers")
    end
  end
end

if param.ip then
  on("tcp", {["ip.dst"] = param.ip}, tcp_in)
  on("udp", {["ip.dst"] = param.ip}, udp_in)
end
if param.ip6 then
  on("tcp", {["ipv6.dst"] = param.ip6}, tcp_in)
  on("udp", {["ipv6.dst"] = param.ip6}, udp_in)
end
