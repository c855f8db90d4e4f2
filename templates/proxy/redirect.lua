-- redirect: connect this connection to another server than its destination (tcpproxy's redirect module)
return {
	help = "Connect each connection to another server: 'host' and/or 'port' (each defaults to the connection's "
		.. "own destination; a name is resolved on the proxy's loop); tag 'redirected'. Works with -t, "
		.. "transparent mode and --socks5 alike.",
	options = {host = "server to connect to instead (address or name; default: the destination's)",
		port = "port to connect to instead (1 to 65535; default: the destination's)"},
	new = function(opts, incoming)
		local port = opts.port and tonumber(opts.port)
		if opts.port and (not port or port ~= math.floor(port) or port < 1 or port > 65535) then
			error("port: '" .. opts.port .. "' is not 1 to 65535", 0)
		end
		if opts.host == "" then error("host: empty", 0) end
		return {
			set_connection = function(conn)
				if incoming then return end -- one instance per connection redirects: the client's
				conn:redirect(opts.host or conn.dst, port or conn.dstport)
				conn:add_tag("redirected")
			end,
			execute = function(data) return data end,
		}
	end,
}
