-- sslupgrade: STARTTLS for SMTP, IMAP, POP3 and FTP: when the client asks and the server says yes, the
-- proxy upgrades both legs to TLS (with --tls-mitm: the client gets a leaf from the CA, modules see plaintext)
local asks = { -- command (upper case) -> the server's yes
	{"^STARTTLS\r?\n$", "^220"},       -- SMTP (RFC 3207)
	{"^STLS\r?\n$", "^%+OK"},          -- POP3 (RFC 2595)
	{"^AUTH TLS\r?\n$", "^234"},       -- FTP (RFC 4217)
	{"^AUTH SSL\r?\n$", "^234"},
}
local function asked(data)
	local u = data:upper()
	for _, a in ipairs(asks) do
		if u:match(a[1]) then return a[2] end
	end
	local tag = u:match("^(%S+) STARTTLS\r?\n$") -- IMAP (RFC 3501): the tagged OK
	if tag then return "^" .. tag:gsub("%p", "%%%0") .. " OK" end
	return nil
end
return {
	help = "STARTTLS (SMTP STARTTLS, IMAP STARTTLS, POP3 STLS, FTP AUTH TLS): upgrade both legs to TLS when the "
		.. "server accepts (needs --tls-mitm; tag 'starttls').",
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				if not incoming then
					conn.__starttls = asked(data)
					return data
				end
				local want = conn.__starttls
				conn.__starttls = nil
				if want and data:upper():match(want) then
					conn:add_tag("starttls")
					return data, "starttls"
				end
				return data
			end,
		}
	end,
}
