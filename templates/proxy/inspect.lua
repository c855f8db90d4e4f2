-- inspect: hold each chunk for editing over redis while the key `debugging` is 1 (tcpproxy's inspect module)
return {
	help = "While the redis key debugging is 1 (--redis), publish each chunk on inspect:SRC:SRCPORT:DST:DSTPORT:" ..
		"HOSTNAME:TAGS (JSON as debug's, with seq) and hold it until a client publishes it back, possibly edited," ..
		" on inspected:<the same>; after timeout seconds the original goes on.  Put it last in its chain.",
	options = {timeout = "seconds to hold a chunk before forwarding the original (default 10)"},
	new = function(opts, incoming)
		local conn, seq = nil, 0
		local timeout = tonumber(opts.timeout or "10")
		if not timeout or timeout <= 0 or timeout > 3600 then
			error("timeout: '" .. tostring(opts.timeout) .. "' is not seconds (0 to 3600)", 0)
		end
		return {
			set_connection = function(c) conn = c; c:add_tag("inspect") end,
			execute = function(data)
				if not proxy.debugging() then return data end
				seq = seq + 1
				local ch = conn:redis_channel()
				local msg = conn:to_redis_json(data, {c2s = not incoming, s2c = incoming, module = "inspect", seq = seq})
				if proxy.inspect(ch, msg, seq, timeout) then return data, "hold" end
				return data
			end,
		}
	end,
}
