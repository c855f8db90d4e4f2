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
function Conn:add_tag(tag) self.tags[#self.tags + 1] = tostring(tag) end
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

function __proxy_open(chains, info)
	local conn = setmetatable(info, Conn)
	conn.tags = {}
	local st = {conn = conn, [0] = {}, [1] = {}, first = {[0] = true, [1] = true}}
	for d = 0, 1 do
		for i, spec in ipairs(chains[d]) do
			local ok, inst = pcall(instance, spec, d == 1)
			if not ok then error("module '" .. spec[1] .. "': " .. tostring(inst), 0) end
			st[d][i] = inst
			if inst.set_connection then
				local ok2, err = pcall(inst.set_connection, conn)
				if not ok2 then error("module '" .. spec[1] .. "': set_connection: " .. tostring(err), 0) end
			end
		end
	end
	return st
end

-- Returns data (string), action (nil, "reset", "starttls", or seconds of delay).
function __proxy_data(st, d, data)
	local chain, delay, upgrade = st[d], 0, false
	if st.first[d] then
		st.first[d] = false
		for _, inst in ipairs(chain) do
			if inst.peek then
				local ok, r = pcall(inst.peek, data)
				if not ok then error("module '" .. inst.__name .. "': peek: " .. tostring(r), 0) end
				if type(r) == "table" then for k, v in pairs(r) do st.conn[k] = v end end
			end
		end
	end
	for _, inst in ipairs(chain) do
		local ok, r, act = pcall(inst.execute, data)
		if not ok then error("module '" .. inst.__name .. "': " .. tostring(r), 0) end
		if act == "reset" then return "", "reset" end
		if act == "starttls" then upgrade = true end
		if type(act) == "number" and act > 0 then delay = delay + act end
		if r == nil then return "", delay end
		if type(r) ~= "string" then
			error("module '" .. inst.__name .. "': execute returned a " .. type(r) .. ", not a string", 0)
		end
		data = r
		if data == "" then break end
	end
	if upgrade then return data, "starttls" end
	return data, delay
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
