-- peek_sni: the server name of a TLS ClientHello becomes the connection's hostname
local function sni(d)
	-- record header: 22, version, length; handshake: 1 (ClientHello)
	if #d < 43 or d:byte(1) ~= 22 or d:byte(6) ~= 1 then return nil end
	local p = 6 + 4 + 2 + 32 -- handshake header, client_version, random
	local function u8() local v = d:byte(p + 1); p = p + 1; return v end
	local function u16() local a, b = d:byte(p + 1, p + 2); p = p + 2; if not b then return nil end; return a * 256 + b end
	local n = u8(); if not n then return nil end; p = p + n -- session id
	n = u16(); if not n then return nil end; p = p + n -- cipher suites
	n = u8(); if not n then return nil end; p = p + n -- compression
	local extend = u16(); if not extend then return nil end
	extend = p + extend
	while p + 4 <= extend and p + 4 <= #d do
		local typ, len = u16(), u16()
		if typ == 0 then
			local q = p + 2 -- list length
			if d:byte(q + 1) == 0 then
				local a, b = d:byte(q + 2, q + 3)
				if b then return d:sub(q + 4, q + 3 + a * 256 + b) end
			end
			return nil
		end
		p = p + len
	end
	return nil
end
return {
	help = "Read the SNI of a TLS ClientHello in the first bytes: it becomes the connection's hostname.",
	sni = sni,
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			peek = function(data)
				local h = not incoming and sni(data)
				if h then conn:add_tag("tls") return {hostname = h} end
			end,
			execute = function(data) return data end,
		}
	end,
}
