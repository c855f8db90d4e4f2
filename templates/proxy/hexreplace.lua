-- hexreplace: replace bytes given in hex
local function unhex(s, what)
	s = (s or ""):gsub("%s", "")
	if #s % 2 ~= 0 or s:find("[^%x]") then error(what .. ": '" .. s .. "' is not hex bytes", 0) end
	return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end
return {
	help = "Replace each occurrence of the bytes 'search' by 'replace', both in hex (hexreplace:search=0d0a:replace=0a).",
	options = {search = "bytes to find, hex (required)", replace = "bytes put instead, hex (default: none)"},
	new = function(opts, incoming)
		local s = unhex(opts.search, "search")
		if s == "" then error("search: required", 0) end
		local r = unhex(opts.replace, "replace")
		return {execute = function(data) return proxy.replace(data, s, r) end}
	end,
}
