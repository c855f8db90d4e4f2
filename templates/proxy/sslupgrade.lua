-- sslupgrade: STARTTLS for SMTP, IMAP, POP3 and FTP: when the client asks and the server says yes, the
-- proxy upgrades both legs to TLS (with --tls-mitm: the client gets a leaf from the CA, modules see plaintext)
local asks = { -- command (upper case) -> the server's yes
	{"^STARTTLS\r?\n$", "^220"},       -- SMTP (RFC 3207)
	{"^STLS\r?\n$", "^%+OK"},          -- POP3 (RFC 2595)
	{"^AUTH TLS\r?\n$", "^234"},       -- FTP (RFC 4217)
	{"^AUTH SSL\r?\n$", "^234"},
}
local function asked(line)
	local u = line:upper()
	for _, a in ipairs(asks) do
		if u:match(a[1]) then return a[2] end
	end
	local tag = u:match("^(%S+) STARTTLS\r?\n$") -- IMAP (RFC 3501): the tagged OK
	if tag then return "^" .. tag:gsub("%p", "%%%0") .. " OK" end
	return nil
end
return {
	help = "STARTTLS (SMTP STARTTLS, IMAP STARTTLS, POP3 STLS, FTP AUTH TLS): upgrade both legs to TLS when the "
		.. "server accepts (needs --tls-mitm; tag 'starttls').  Commands and answers are read as whole lines, "
		.. "however the stream was cut.",
	new = function(opts, incoming)
		local conn, part = nil, "" -- part: the line begun in earlier chunks (at most 512 bytes kept)
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				local text = part .. data
				local last = text:match(".*()\n")
				part = (last and text:sub(last + 1) or text):sub(-512)
				if not last then return data end
				if not incoming then -- the last whole line the client sent decides
					local line = text:sub(1, last):match("([^\n]*\n)$")
					conn.__starttls = asked(line)
					return data
				end
				local want = conn.__starttls
				conn.__starttls = nil
				local first = text:match("^([^\n]*\n)")
				if want and first:upper():match(want) then
					conn:add_tag("starttls")
					return data, "starttls"
				end
				return data
			end,
		}
	end,
}
