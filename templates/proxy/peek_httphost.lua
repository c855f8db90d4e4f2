-- peek_httphost: the Host header of an HTTP request becomes the connection's hostname
return {
	help = "Read the Host header of an HTTP/1.x request in the first bytes: it becomes the connection's hostname.",
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			peek = function(data)
				if incoming or not data:find("^%u+ [^\r\n]* HTTP/1%.[01]\r\n") then return nil end
				local head = data:match("^(.-\r\n)\r\n") or data
				local h = head:match("\r\n[Hh][Oo][Ss][Tt]:[ \t]*([^\r\n]-)[ \t]*\r\n")
				if h then
					conn:add_tag("http")
					return {hostname = h:gsub(":%d+$", "")}
				end
			end,
			execute = function(data) return data end,
		}
	end,
}
