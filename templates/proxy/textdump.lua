-- textdump: print every chunk as text, non-printable bytes as escapes, optional highlighted search
return {
	help = "Print each chunk as text (control bytes as \\xHH); occurrences of 'find' are highlighted as >>text<<.",
	options = {find = "text to highlight"},
	new = function(opts, incoming)
		local conn
		return {
			set_connection = function(c) conn = c end,
			execute = function(data)
				local t = data:gsub("[^\32-\126\n]", function(ch) return string.format("\\x%02x", ch:byte()) end)
				if opts.find and opts.find ~= "" then
					t = proxy.replace(t, opts.find, ">>" .. opts.find .. "<<")
				end
				proxy.log(string.format("[%d] %s %d bytes\n%s", conn.channel, incoming and "s2c" or "c2s", #data, t))
				return data
			end,
		}
	end,
}
