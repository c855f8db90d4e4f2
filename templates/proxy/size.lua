-- size: print each chunk's size
return {
	help = "Print the size of each chunk.",
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				proxy.log(string.format("[%d] %s %d bytes", conn.channel, incoming and "s2c" or "c2s", #data))
				return data
			end,
		}
	end,
}
