-- peek_ssl: tell TLS from plaintext by the first bytes a client sends (a TLS record header)
local names = {[0x0300] = "SSLv3", [0x0301] = "TLSv1", [0x0302] = "TLSv1.1", [0x0303] = "TLSv1.2", [0x0304] = "TLSv1.3"}
local function ssl(d)
	-- record: type 22 (handshake), version 3.x, length; handshake type 1 (ClientHello); then its version
	if #d < 11 or d:byte(1) ~= 22 or d:byte(2) ~= 3 or d:byte(6) ~= 1 then return nil end
	local v = d:byte(10) * 256 + d:byte(11)
	-- the ClientHello's legacy version: a TLS 1.3 client says TLSv1.2 here (1.3 is in supported_versions)
	return names[v] or string.format("0x%04x", v)
end
return {
	help = "Tell TLS from plaintext by the client's first bytes (a ClientHello): tag 'ssl', set conn.ssl_version.",
	ssl = ssl,
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			peek = function(data)
				local v = not incoming and ssl(data)
				if v then conn:add_tag("ssl") return {ssl = true, ssl_version = v} end
			end,
			execute = function(data) return data end,
		}
	end,
}
