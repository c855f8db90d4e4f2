-- stats: count chunks and bytes per direction; print the totals when the direction ends
return {
	help = "Count chunks and bytes of the direction; print the totals at its end of stream.",
	new = function(opts, incoming)
		local conn, chunks, bytes = nil, 0, 0
		return {
			set_connection = function(c) conn = c end,
			execute = function(data) chunks = chunks + 1; bytes = bytes + #data; return data end,
			eof = function()
				proxy.log(string.format("[%d] %s %d chunks, %d bytes", conn.channel, incoming and "s2c" or "c2s",
					chunks, bytes))
			end,
		}
	end,
}
