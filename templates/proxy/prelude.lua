-- prelude.lua - the proxy module host (templates/proxy_lua.c runs it first).
-- A module is a table {help=TEXT, options={KEY=HELP}, new=function(opts, incoming) return instance end};
-- an instance has execute(data) -> data[, action] (action: "reset", "starttls" (forward, then upgrade both
-- legs to TLS: sslupgrade), or a number: seconds of delay),
-- optional peek(first bytes) -> table merged into the connection, optional set_connection(conn).
local base64 = proxy.base64 -- in C (templates/proxy_lua.c)
local function jstr(s)
	return '"' .. tostring(s):gsub('[%c"\\]', function(ch)
		local m = {['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
		return m[ch] or string.format("\\u%04x", ch:byte())
	end) .. '"'
end
local function json(v)
	local t = type(v)
	if t == "table" then
		if #v > 0 or next(v) == nil then
			local o = {}
			for i = 1, #v do o[i] = json(v[i]) end
			return "[" .. table.concat(o, ",") .. "]"
		end
		local keys, o = {}, {}
		for k in pairs(v) do keys[#keys + 1] = tostring(k) end
		table.sort(keys)
		for _, k in ipairs(keys) do o[#o + 1] = jstr(k) .. ":" .. json(v[k] == nil and v[tonumber(k)] or v[k]) end
		return "{" .. table.concat(o, ",") .. "}"
	elseif t == "number" or t == "boolean" then
		return tostring(v)
	elseif v == nil then
		return "null"
	end
	return jstr(v)
end
local function hexdump(s, width)
	width = width or 16
	local lines = {}
	for i = 1, #s, width do
		local chunk = s:sub(i, i + width - 1)
		local hex = chunk:gsub(".", function(ch) return string.format("%02x ", ch:byte()) end)
		local txt = chunk:gsub("[^\32-\126]", ".")
		lines[#lines + 1] = string.format("%04x  %-" .. (3 * width) .. "s %s", i - 1, hex, txt)
	end
	return table.concat(lines, "\n")
end
proxy.json, proxy.hexdump = json, hexdump

local Conn = {}
Conn.__index = Conn
function Conn:to_table(data, incoming)
	local t = {channel = self.channel, hash = self.hash, src = self.src, srcport = self.srcport, dst = self.dst,
		dstport = self.dstport, hostname = self.hostname or "", tags = self.tags}
	if data then t.data = base64(data); t.direction = incoming and "s2c" or "c2s" end
	return t
end
function Conn:to_json(data, incoming) return json(self:to_table(data, incoming)) end
function Conn:add_tag(tag)
	tag = tostring(tag)
	for _, t in ipairs(self.tags) do if t == tag then return end end
	self.tags[#self.tags + 1] = tag
end
-- tcpproxy's channel "src:srcport:dst:dstport:hostname:tags" (hostname "undefined" while unknown, tags by commas)
function Conn:redis_channel()
	return table.concat({self.src, self.srcport, self.dst, self.dstport, self.hostname or "undefined",
		table.concat(self.tags, ",")}, ":")
end
-- tcpproxy's short hash "src:dst:dstport:hostname:tags": the conversation without the client's port
function Conn:redis_short_hash()
	return table.concat({self.src, self.dst, self.dstport, self.hostname or "undefined", table.concat(self.tags, ",")},
		":")
end
-- tcpproxy's ConnData.get_json(data, **extra): src, dst, srcport, dstport, hostname (null while unknown),
-- tags (by commas), data in base64, then the keys of extra (c2s, s2c, module, seq ...)
function Conn:to_redis_json(data, extra)
	local t = {src = self.src, dst = self.dst, srcport = self.srcport, dstport = self.dstport,
		tags = table.concat(self.tags, ","), conn = self.channel}
	if self.hostname then t.hostname = self.hostname end
	if data then t.data = base64(data) end
	for k, v in pairs(extra or {}) do t[k] = v end
	local s = json(t)
	if not self.hostname then s = s:sub(1, -2) .. ',"hostname":null}' end
	return s
end
-- Send the connection to HOST:PORT instead (from set_connection: before the upstream connects).
function Conn:redirect(host, port)
	host, port = tostring(host), math.tointeger(tonumber(port))
	if host == "" or host:find("[%s%c]") or not port or port < 1 or port > 65535 then
		error("redirect: want a host and a port 1 to 65535", 2)
	end
	self.__redirect = (host:find(":", 1, true) and ("[" .. host .. "]") or host) .. ":" .. port
	self.dst, self.dstport = host, port
end
function Conn:__tostring()
	return string.format("%s:%d -> %s:%d%s", self.src, self.srcport, self.dst, self.dstport,
		self.hostname and (" (" .. self.hostname .. ")") or "")
end

local mods = {}     -- name -> module table
__proxy_mods = mods

function __proxy_register(name, m)
	if type(m) ~= "table" or type(m.new) ~= "function" then
		error("module '" .. name .. "' does not return a table with new(opts, incoming)", 0)
	end
	m.name = name
	m.options = m.options or {}
	m.help = m.help or ""
	mods[name] = m
end

-- spec: {name, {k=v}}: check options; make an instance.
local function instance(spec, incoming)
	local m = mods[spec[1]]
	local inst = m.new(spec[2], incoming)
	if type(inst) ~= "table" or type(inst.execute) ~= "function" then
		error("module '" .. spec[1] .. "': new() did not return an instance with execute(data)", 0)
	end
	inst.__name = spec[1]
	return inst
end

function __proxy_check(spec)
	local m = mods[spec[1]]
	if not m then return nil end
	for k in pairs(spec[2]) do
		if m.options[k] == nil then
			local ks = {}
			for o in pairs(m.options) do ks[#ks + 1] = o end
			table.sort(ks)
			error(string.format("module '%s': unknown option '%s' (%s)", spec[1], k,
				#ks > 0 and ("options: " .. table.concat(ks, ", ")) or "it takes none"), 0)
		end
	end
	local ok, err = pcall(instance, spec, false)
	if not ok then error(string.format("module '%s': %s", spec[1], tostring(err)), 0) end
	return true
end

-- chains: {[0] = {spec...}, [1] = {...}} (-m, --c2s, --s2c); extra: the rules the connection matches, in order,
-- {rule = index, c2s = bool, s2c = bool, specs = {spec...}}; rules: the rule set (for __proxy_hostok).
-- Returns the state and whether each direction has modules.
function __proxy_open(chains, info, extra, rules)
	local conn = setmetatable(info, Conn)
	conn.tags = {}
	local st = {conn = conn, [0] = {}, [1] = {}, first = {[0] = true, [1] = true}, rules = rules}
	for d = 0, 1 do
		local list = {}
		for _, spec in ipairs(chains[d]) do list[#list + 1] = {spec} end
		for _, x in ipairs(extra) do
			if (d == 0 and x.c2s) or (d == 1 and x.s2c) then
				for _, spec in ipairs(x.specs) do list[#list + 1] = {spec, x.rule} end
			end
		end
		for i, it in ipairs(list) do
			local spec = it[1]
			local ok, inst = pcall(instance, spec, d == 1)
			if not ok then error("module '" .. spec[1] .. "': " .. tostring(inst), 0) end
			inst.__rule = it[2]
			st[d][i] = inst
			if inst.set_connection then
				local ok2, err = pcall(inst.set_connection, conn)
				if not ok2 then error("module '" .. spec[1] .. "': set_connection: " .. tostring(err), 0) end
			end
		end
	end
	return st, #st[0] > 0, #st[1] > 0
end

-- May instance inst run now?  A module of a rule with a hostname runs while the connection's hostname matches.
local function active(st, inst)
	if not inst.__rule then return true end
	local h = st.conn.hostname
	if inst.__hostseen ~= h or inst.__hostok == nil then
		inst.__hostseen, inst.__hostok = h, __proxy_hostok(st.rules, inst.__rule, h)
	end
	return inst.__hostok
end


-- A table of strings from execute is several pieces: on a UDP proxy each piece is a datagram of its own
-- ({data, data} duplicates one), on TCP they go out one after the other.  The modules after it in the
-- chain see each piece; empty pieces are dropped.
local function piece_list(inst, r)
	local out = {}
	for i, q in ipairs(r) do
		if type(q) ~= "string" then
			error("module '" .. inst.__name .. "': execute returned a table whose item " .. i .. " is a " ..
				type(q) .. ", not a string", 0)
		end
		if q ~= "" then out[#out + 1] = q end
	end
	return out
end

-- Run chain (a direction's instances) over list (the pieces so far: one, the chunk, to begin with): each
-- active instance's execute sees each piece, and what it returns is what the next one sees.
-- Returns data (a string, or a table of strings: pieces), action (nil, "reset", "starttls", "hold", or seconds
-- of delay).
local function run_chain(st, chain, list)
	local delay, upgrade = 0, false
	for _, inst in ipairs(chain) do
		if active(st, inst) then
			local out = {}
			for _, p in ipairs(list) do
				local ok, r, act = pcall(inst.execute, p)
				if not ok then error("module '" .. inst.__name .. "': " .. tostring(r), 0) end
				if act == "reset" then return "", "reset" end
				if act == "starttls" then upgrade = true end
				if type(act) == "number" and act > 0 then delay = delay + act end
				if type(r) == "string" then
					if r ~= "" then out[#out + 1] = r end
				elseif type(r) == "table" then
					for _, q in ipairs(piece_list(inst, r)) do out[#out + 1] = q end
				elseif r ~= nil then
					error("module '" .. inst.__name .. "': execute returned a " .. type(r) .. ", not a string", 0)
				end
				-- inspect holds a chunk: the chain ends here for it
				if act == "hold" and #list == 1 and type(r) == "string" then return r, "hold" end
			end
			list = out
			if #list == 0 then return "", delay end
		end
	end
	local data = #list == 1 and list[1] or list
	if upgrade then return data, "starttls" end
	return data, delay
end

-- Returns data (string, or a table of strings: pieces), action (nil, "reset", "starttls", "hold", or seconds of delay).
function __proxy_data(st, d, data)
	local chain = st[d]
	if st.first[d] then
		st.first[d] = false
		for _, inst in ipairs(chain) do
			if inst.peek and active(st, inst) then
				local ok, r = pcall(inst.peek, data)
				if not ok then error("module '" .. inst.__name .. "': peek: " .. tostring(r), 0) end
				if type(r) == "table" then for k, v in pairs(r) do st.conn[k] = v end end
			end
		end
	end
	return run_chain(st, chain, {data})
end

-- The redis keys of a connection (tcpproxy's ConnData.get_channel and get_short_hash).
function __proxy_keys(st)
	return st.conn:redis_channel(), st.conn:redis_short_hash()
end

function __proxy_tls(st, sni)
	if sni ~= "" then st.conn.hostname = sni end
	st.conn:add_tag("tls")
end

function __proxy_eof(st, d)
	for _, inst in ipairs(st[d]) do
		if inst.eof then pcall(inst.eof) end
	end
end

function proxy.replace(s, a, b)
	if a == "" then return s end
	local out, i = {}, 1
	while true do
		local j, k = s:find(a, i, true)
		if not j then break end
		out[#out + 1] = s:sub(i, j - 1)
		out[#out + 1] = b
		i = k + 1
	end
	if i == 1 then return s end
	out[#out + 1] = s:sub(i)
	return table.concat(out)
end

-- ---- framing: a module sees whole messages, however the stream was segmented ----
-- proxy.framer(split, emit, tail[, max]) -> an instance {execute, flush}: execute buffers the bytes, cuts
-- whole messages off the front with split(buf, pos) -> length of the message at pos (nil: not whole yet;
-- extra values go to emit), forwards emit(message, ...) for each (nil: dropped), keeps the rest for the
-- next chunk.  At the end of the direction flush() hands the rest to tail(rest) (default: as it is).
-- A message longer than max bytes (default 16 MiB) fails the module (the connection closes).
local function framer(split, emit, tail, max)
	max = max or 16777216
	local buf, inst = "", {}
	function inst.execute(data)
		buf = buf .. data
		local out, pos = {}, 1
		while pos <= #buf do
			local r = table.pack(split(buf, pos))
			local len = r[1]
			if not len then break end
			local m = emit(buf:sub(pos, pos + len - 1), table.unpack(r, 2, r.n))
			if m then out[#out + 1] = m end
			pos = pos + len
		end
		buf = buf:sub(pos)
		if #buf > max then error(string.format("framing: a message longer than %d bytes", max), 0) end
		return table.concat(out)
	end
	function inst.flush()
		local rest = buf
		buf = ""
		if rest == "" then return "" end
		return tail and tail(rest) or rest
	end
	return inst
end
proxy.framer = framer

-- proxy.lines(fn[, opts]): fn(line, eol) for each line ("\n" or "\r\n" in eol, not in line) -> the line to
-- forward (the eol is put back), nil drops it.  At the end a last line without "\n" gets fn(line, "").
-- opts.max: longest line (default 16 MiB).
function proxy.lines(fn, opts)
	opts = opts or {}
	local function emit(m)
		local eol = m:sub(-2) == "\r\n" and "\r\n" or "\n"
		local r = fn(m:sub(1, #m - #eol), eol)
		return r and (r .. eol) or nil
	end
	return framer(function(buf, pos)
		local j = buf:find("\n", pos, true)
		return j and (j - pos + 1) or nil
	end, emit, function(rest) return fn(rest, "") or "" end, tonumber(opts.max))
end

-- proxy.length_prefixed(fn[, opts]): messages of a length field and a body; fn(body, header) -> the body
-- to forward (nil drops the message); the length field is rewritten to the new body's length.
-- opts.size: bytes of the length field (1 to 8, default 4); opts.endian: "big" (default) or "little";
-- opts.offset: header bytes before the length field (a type byte ...; default 0); opts.includes_header:
-- true when the length counts the header too; opts.max: longest message (default 16 MiB).
-- A partial message at the end is forwarded as it is.
function proxy.length_prefixed(fn, opts)
	opts = opts or {}
	local size, off = math.tointeger(tonumber(opts.size or 4)), math.tointeger(tonumber(opts.offset or 0))
	if not size or size < 1 or size > 8 then error("length_prefixed: size: want 1 to 8 bytes", 2) end
	if not off or off < 0 then error("length_prefixed: offset: want 0 or more bytes", 2) end
	local endian = opts.endian or "big"
	if endian ~= "big" and endian ~= "little" then error("length_prefixed: endian: big or little", 2) end
	local fmt = (endian == "big" and ">" or "<") .. "I" .. size
	local hl, incl, max = off + size, opts.includes_header and true or false, tonumber(opts.max) or 16777216
	return framer(function(buf, pos)
		if #buf - pos + 1 < hl then return nil end
		local n = string.unpack(fmt, buf, pos + off)
		local total = incl and n or n + hl
		if total < hl then error(string.format("length_prefixed: length %d is shorter than the header", n), 0) end
		if total > max then error(string.format("length_prefixed: a message of %d bytes (max %d)", total, max), 0) end
		if #buf - pos + 1 < total then return nil end
		return total
	end, function(m)
		local body = fn(m:sub(hl + 1), m:sub(1, hl))
		if body == nil then return nil end
		local n = #body + (incl and hl or 0)
		if size < 8 and n >= 1 << (8 * size) then
			error(string.format("length_prefixed: %d bytes do not fit a %d-byte length", n, size), 0)
		end
		return m:sub(1, off) .. string.pack(fmt, n) .. body
	end, nil, max)
end

-- proxy.http(fn[, opts]): whole HTTP/1.x messages (requests or responses): fn(head, body) -> head, body to
-- forward (body nil: unchanged; head nil: the message is dropped).  head is the start line and the header
-- fields up to and with the empty line; a chunked body comes de-chunked and is forwarded with a
-- Content-Length (Transfer-Encoding removed); a changed body gets its Content-Length rewritten.  A response
-- without a length (not 1xx, 204, 304) ends with the connection: it is handed over at the end.  The answer to
-- a HEAD request has no body: the instance's set_connection keeps the connection, where the c2s instance
-- records the requests' methods for the s2c one (a module that has its own set_connection calls this one
-- too).  opts.max: largest message (default 16 MiB).
function proxy.http(fn, opts)
	opts = opts or {}
	local conn
	local function set_length(head, n, chunked)
		local h = head
		if chunked then
			h = h:gsub("\r\n[Tt][Rr][Aa][Nn][Ss][Ff][Ee][Rr]%-[Ee][Nn][Cc][Oo][Dd][Ii][Nn][Gg]:[^\r\n]*", "")
		end
		local found
		h, found = h:gsub("(\r\n[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][Nn][Gg][Tt][Hh]:[ \t]*)%d+", "%1" .. n, 1)
		if found == 0 then h = h:sub(1, -3) .. "Content-Length: " .. n .. "\r\n\r\n" end
		return h
	end
	local function emit(m, hl, body, chunked, until_eof)
		local head = m:sub(1, hl)
		body = body or m:sub(hl + 1)
		local nh, nb = fn(head, body)
		if nh == nil then return nil end
		nb = nb or body
		if until_eof then return nh .. nb end
		if chunked or #nb ~= #body then nh = set_length(nh, #nb, chunked) end
		return nh .. nb
	end
	local cur -- what the head of the message at the front says (parsed once: split runs again as bytes come)
	local inst = framer(function(buf, pos)
		if cur and cur.until_eof then return nil end
		if not cur then
			local e = buf:find("\r\n\r\n", pos, true)
			if not e then return nil end
			local hl = e + 3 - pos + 1
			local head = buf:sub(pos, pos + hl - 1)
			local lower = head:lower()
			local method = head:match("^(%u+) [^\r\n]* HTTP/1%.%d\r\n")
			local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
			cur = {hl = hl, chunked = lower:find("\r\ntransfer%-encoding:[^\r\n]*chunked") ~= nil,
				cl = tonumber(lower:match("\r\ncontent%-length:[ \t]*(%d+)"))}
			if method and conn then
				conn.__http_methods = conn.__http_methods or {}
				table.insert(conn.__http_methods, method)
			end
			cur.no_body = status and (status < 200 or status == 204 or status == 304)
			if status and status >= 200 and conn and conn.__http_methods and
				table.remove(conn.__http_methods, 1) == "HEAD" then
				cur.no_body = true
			end
			if not status and not cur.chunked and not cur.cl then cur.no_body = true end -- a request without a body
			if status and not cur.no_body and not cur.chunked and not cur.cl then
				cur.until_eof = true -- until the connection ends
				return nil
			end
		end
		local hl = cur.hl
		if cur.no_body then return hl, hl end
		if cur.chunked then
			local p, parts = pos + hl, {}
			while true do
				local le = buf:find("\r\n", p, true)
				if not le then return nil end
				local n = tonumber(buf:sub(p, le - 1):match("^%x+"), 16)
				if not n then error("http: a bad chunk size line", 0) end
				if n == 0 then
					local te = buf:find("\r\n\r\n", le, true) -- trailers, then the empty line
					if buf:sub(le, le + 3) == "\r\n\r\n" then te = le
					elseif not te then return nil end
					return te + 3 - pos + 1, hl, table.concat(parts), true
				end
				if #buf < le + 2 + n + 1 then return nil end
				parts[#parts + 1] = buf:sub(le + 2, le + 1 + n)
				p = le + 2 + n + 2
			end
		end
		if #buf - pos + 1 < hl + cur.cl then return nil end
		return hl + cur.cl, hl
	end, function(...)
		cur = nil
		return emit(...)
	end, function(rest)
		if cur and cur.until_eof then
			local hl = cur.hl
			cur = nil
			return emit(rest, hl, nil, false, true) or ""
		end
		return rest
	end, tonumber(opts.max))
	inst.set_connection = function(c) conn = c end
	return inst
end

-- The end of direction d: what the chain's instances still hold (flush), each passed down the chain.
function __proxy_flush(st, d)
	local data = ""
	for _, inst in ipairs(st[d]) do
		if data ~= "" then
			local ok, r = pcall(inst.execute, data)
			if not ok then error("module '" .. inst.__name .. "': " .. tostring(r), 0) end
			data = type(r) == "string" and r or ""
		end
		if inst.flush then
			local ok, r = pcall(inst.flush)
			if not ok then error("module '" .. inst.__name .. "': flush: " .. tostring(r), 0) end
			if type(r) == "string" then data = data .. r end
		end
	end
	return data
end
