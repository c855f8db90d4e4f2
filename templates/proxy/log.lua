-- log: one JSON line per chunk: the connection's to_json with the data in base64
return {
	help = "Log each chunk as one JSON line (channel, hash, addresses, hostname, tags, direction, data in base64).",
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data) proxy.log(conn:to_json(data, incoming)); return data end,
		}
	end,
}
