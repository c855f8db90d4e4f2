-- replace: replace every occurrence of a text (plain, not a pattern) in each chunk
return {
	help = "Replace each occurrence of 'search' by 'replace' (plain text, within each chunk).",
	options = {search = "text to find (required)", replace = "text put instead (default: empty)"},
	new = function(opts, incoming)
		if not opts.search or opts.search == "" then error("search: required (replace:search=A:replace=B)", 0) end
		local rep = opts.replace or ""
		return {execute = function(data) return proxy.replace(data, opts.search, rep) end}
	end,
}
