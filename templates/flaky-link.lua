-- flaky-link: bridges two interfaces and impairs each direction as netem does (delay, loss, duplication, corruption, reordering, rate)
--
-- Every frame that arrives on the first interface (A) leaves on the second
-- (B), and every frame from B leaves on A, through an impairment each way
-- (sched/umpa_impair.h: netem's model, in userland, frames forwarded in C).
-- Direction "ab" is A -> B, "ba" is B -> A.  A parameter without a prefix
-- applies both ways; "ab.NAME" or "ba.NAME" sets one direction and wins over
-- the shared one (set it to "" to fall back to the shared value again).
--
--   delay, jitter      seconds (0.05 = 50 ms); jitter spreads the delay
--   distribution       uniform (netem's default), normal, pareto, paretonormal
--   delay_corr         0..1, correlation of successive delays
--   loss, loss_corr    Bernoulli loss probability 0..1 and its correlation
--   ge_p, ge_r, ge_1h, ge_1k
--                      Gilbert-Elliott loss (used when ge_p > 0): p good->bad,
--                      r bad->good (default 1-p), 1-h loss in bad (default 1),
--                      1-k loss in good (default 0); netem's "loss gemodel"
--   dup, dup_corr      duplication probability (the copy gets its own delay)
--   corrupt, corrupt_corr
--                      probability of one flipped bit (past the Ethernet header)
--   reorder, reorder_corr, gap
--                      with gap G (default 1), after G-1 delayed frames the
--                      next one goes at once with probability reorder
--   rate               bits/s: a number, or with a unit: 10mbit, 512kbit,
--                      1gbit, 100bit; tc's bytes/s units kbps, mbps, bps
--   limit              frames waiting at most per direction (1000); more drop
--   seed               random seed (0: from the clock); ab uses seed, ba seed+1
--   repair             true (default): do what a NIC would have done to frames a
--                      kernel left to its offloads (veth pairs by default): cut
--                      TCP frames over the outgoing MTU into segments, finish
--                      TCP and UDP checksums; false: forward frames as captured
--
-- Everything can change while it runs (PATCH /params with --http).  Counters
-- per direction: ab.forwarded, ab.dropped, ab.delayed, ab.duplicated,
-- ab.corrupted, ab.reordered, ab.rate_queued (held back by the rate),
-- ab.rate_dropped (queue over limit), ab.queued (waiting now), ab.bytes,
-- ab.too_big (over the outgoing MTU), ab.out_errors, ab.repaired (frames
-- repaired), ab.segmented (segments cut from them); the same for ba.
-- Frames are captured inbound only, so what the bridge sends on one side is
-- never heard back.  Offline (--offline IN -w OUT) every input frame goes a ->
-- b and what leaves is written to OUT at the virtual time it leaves (the run
-- goes on past the last input frame until the last delayed one has left).
--   umpa run flaky-link -i A -i B --set loss=0.1 --set seed=7 --http 127.0.0.1:8080
--   umpa run flaky-link -i A -i B --set ab.delay=0.05 --set jitter=0.01 --set distribution=normal
--   curl -X PATCH -H 'Content-Type: application/json' -d '{"loss": 0.05}' 127.0.0.1:8080/params

local knobs = {
  {"delay", "number", 0, "seconds added", 0},
  {"jitter", "number", 0, "seconds of spread around the delay", 0},
  {"distribution", "string", "uniform", "jitter shape: uniform, normal, pareto, paretonormal"},
  {"delay_corr", "number", 0, "correlation of successive delays (0..1)", 0, 1},
  {"loss", "number", 0, "loss probability (0..1)", 0, 1},
  {"loss_corr", "number", 0, "loss correlation (0..1)", 0, 1},
  {"ge_p", "number", 0, "Gilbert-Elliott: good -> bad probability (> 0 selects the model)", 0, 1},
  {"ge_r", "number", "", "Gilbert-Elliott: bad -> good probability (default 1 - ge_p)", 0, 1},
  {"ge_1h", "number", 1, "Gilbert-Elliott: loss probability in the bad state", 0, 1},
  {"ge_1k", "number", 0, "Gilbert-Elliott: loss probability in the good state", 0, 1},
  {"dup", "number", 0, "duplication probability (0..1)", 0, 1},
  {"dup_corr", "number", 0, "duplication correlation (0..1)", 0, 1},
  {"corrupt", "number", 0, "probability of one flipped bit (0..1)", 0, 1},
  {"corrupt_corr", "number", 0, "corruption correlation (0..1)", 0, 1},
  {"reorder", "number", 0, "probability that a frame skips the delay (0..1)", 0, 1},
  {"reorder_corr", "number", 0, "reordering correlation (0..1)", 0, 1},
  {"gap", "int", 0, "reorder at most every gap-th frame (0: 1)"},
  {"rate", "string", "", "rate limit in bits/s (10mbit, 512kbit, 1000000; empty: none)"},
  {"limit", "int", 1000, "frames waiting at most per direction"},
}

local decl = {
  seed = {type = "int", default = 0, help = "random seed (0: from the clock); ba uses seed + 1"},
  repair = {type = "bool", default = "true", help = "split TCP frames over the MTU and finish checksums the senders' offloads left (false: frames as captured)"},
}
for _, k in ipairs(knobs) do
  local name, ty, def, help, min, max = k[1], k[2], k[3], k[4], k[5], k[6]
  decl[name] = {type = ty, default = def, help = help .. " (both ways)", min = min, max = max}
  decl["ab." .. name] = {type = ty, default = "", help = help .. " (A -> B; empty: the shared value)", min = min, max = max}
  decl["ba." .. name] = {type = ty, default = "", help = help .. " (B -> A; empty: the shared value)", min = min, max = max}
end
params(decl)

-- tc's rate units: bit-based (bit, kbit, mbit, gbit, tbit) and byte-based (bps, kbps, mbps, gbps).
local units = {bit = 1, kbit = 1e3, mbit = 1e6, gbit = 1e9, tbit = 1e12,
  bps = 8, kbps = 8e3, mbps = 8e6, gbps = 8e9, tbps = 8e12}

local function rate_bits(text, where)
  if text == nil or text == "" then return 0 end
  local num, unit = tostring(text):match("^%s*([%d%.eE+-]+)%s*(%a*)%s*$")
  local v = tonumber(num)
  local mul = unit and (unit == "" and 1 or units[unit:lower()])
  if not v or not mul or v < 0 then
    error(string.format("%s: '%s' is not a rate (a number of bits/s, or 10mbit, 512kbit, 1gbit, 125kbps)", where, text), 0)
  end
  return v * mul
end

local function value(dir, name)
  local v = param[dir .. "." .. name]
  if v == nil or v == "" then v = param[name] end -- strings read "" when unset
  if v == "" then return nil end
  return v
end

local function config(dir)
  local c = {}
  for _, k in ipairs(knobs) do
    local name = k[1]
    local v = value(dir, name)
    if name == "rate" then
      local own = param[dir .. ".rate"]
      c.rate = rate_bits(v, (own ~= nil and own ~= "") and dir .. ".rate" or "rate")
    elseif v ~= nil then
      c[name] = v
    end
  end
  return c
end

local br = bridge(1, 2)

local function apply()
  for _, dir in ipairs({"ab", "ba"}) do
    local ok, err = pcall(br.set, br, dir, config(dir))
    if not ok then
      -- name the parameter the value came from: "ab.loss: 2 is not ..." or "loss: ..."
      err = tostring(err):gsub("^bridge:set: ", "")
      local field = err:match("^([%w_]+): ")
      if field and param[dir .. "." .. field] ~= nil and param[dir .. "." .. field] ~= "" then
        err = dir .. "." .. err
      elseif not field then
        err = dir .. ": " .. err
      end
      error(err, 0)
    end
  end
end

local function seed()
  local s = param.seed
  if s == 0 then s = math.floor(now() * 1e6) % 2147483647 + 1 end
  br:seed(s)
end

apply()
seed()
br:repair(param.repair)

function on_param(name, v)
  if name == "seed" then seed() elseif name == "repair" then br:repair(v) else apply() end
  log("flaky-link:", name, "=", v == nil and "(unset)" or tostring(v))
end
