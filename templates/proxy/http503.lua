-- http503: answer every Nth HTTP response with a 503 (server to client; the count is the module's)
local seen = 0
return {
	help = "On server-to-client bytes: every Nth HTTP response (counted across connections) is replaced by "
		.. "'503 Service Unavailable'; the rest of the real response is dropped.",
	options = {every = "which responses: every Nth (default 3)"},
	new = function(opts)
		local every = tonumber(opts.every or "3")
		if not every or every < 1 or every ~= math.floor(every) then
			error("every: want a whole number >= 1", 0)
		end
		local dropping = false
		return {
			execute = function(data)
				if data:sub(1, 7) == "HTTP/1." then
					seen = seen + 1
					dropping = seen % every == 0
					if dropping then
						local body = "503 Service Unavailable (umpa proxy http503)\n"
						return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
							.. "Content-Length: " .. #body .. "\r\nConnection: close\r\n\r\n" .. body
					end
				end
				if dropping then return "" end
				return data
			end,
		}
	end,
}
