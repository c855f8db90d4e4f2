-- drop: forward nothing
return {
	help = "Drop every chunk (nothing is forwarded in this direction).",
	new = function(opts, incoming) return {execute = function(data) return "" end} end,
}
