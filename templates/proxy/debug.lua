-- debug: every chunk to the redis debug feed (tcpproxy's debug module)
return {
	help = "Publish each chunk on the redis channel debug:SRC:SRCPORT:DST:DSTPORT:HOSTNAME:TAGS (--redis) as JSON:" ..
		" src, dst, srcport, dstport, hostname, tags, data (base64), c2s, s2c, module \"debug\".",
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				proxy.publish("debug:" .. conn:redis_channel(),
					conn:to_redis_json(data, {c2s = not incoming, s2c = incoming, module = "debug"}))
				return data
			end,
		}
	end,
}
