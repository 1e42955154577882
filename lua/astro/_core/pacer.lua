--- Pacing: when the next request to the API may start, decided just before it goes, from one
-- history of what was sent under one credential (every method, listings and single requests
-- alike), and the limits the server turns out to have.
--
-- Each method has a limit (requests per second): the configured rate, until the server shows
-- a lower one. A request of a method starts no sooner than 1/(limit x margin) after the last
-- one of that method, and never as the limit+1-th of that method within one second; when the
-- server has shown that it counts every method together, the same two rules hold over all
-- requests with that limit too.
--
-- The server shows its limit in three ways, all read here:
--   * a 429: the limit becomes what the server accepted in the second before the refused
--     request (counted from the history), at least a tenth below the pace that was refused.
--     A window holding only that method cuts the method's limit; a window holding other
--     methods too cuts the limit over all requests. A 429 to a request sent before the last
--     cut says nothing new and changes nothing;
--   * rate-limit headers (RateLimit-Limit / RateLimit-Policy, X-RateLimit-Limit): the limit
--     is set to what they say (never above the configured rate), and a Remaining of 0 that
--     this history did not spend holds the method until the Reset;
--   * calm: while no 429 comes, a cut limit steps back up toward the configured rate. The
--     first step comes `probe_gap` seconds after a cut and goes halfway (or straight back to a
--     limit that held a few seconds before it fell lately); a step that holds is followed by
--     the ceiling; a step that brings a 429 goes back to the level that held and doubles the
--     gap before the next (up to `max_probe_gap`, or `recent_probe_gap` while a limit that
--     held has lately fallen, since it may come back). (Additive increase
--     after a multiplicative decrease, as TCP does, with the decrease measured rather than
--     assumed, as the AWS SDKs' adaptive retry mode does.)
-- Only the refused request waits its Retry-After (the engine's job): the others go on at the
-- new pace. The settings (rates per method, concurrency) are public as astro.bulk.
local errors = require("astro.errors")
local sys = require("astro.core.sys")

local M = {}

--- The pacing settings: rates, requests per second per method and token (the Astro API's
-- limits), and concurrency, transfers in flight at once. Read at each use.
M.settings = {
  rates = { GET = 25, POST = 10, PUT = 10, PATCH = 10, DELETE = 5 },
  concurrency = 16,
}

--- The adaptation's constants (private; specs and benchmarks may change them).
M.tuning = {
  margin = 0.98,        -- requests go at this share of the limit
  window = 1,           -- seconds over which the server is assumed to count its limit
  guard = 0.01,         -- seconds added to the window when it decides a start
  catch_up = 0.005,     -- seconds a request that left late may count as sent on time
  cut = 0.9,            -- a 429 brings the limit to at most this share of the refused pace
  min_rate = 0.2,       -- a limit never goes below this (requests per second)
  probe_gap = 1,        -- seconds of calm after a cut before the first step up
  max_probe_gap = 8,    -- the longest gap after steps that brought a 429
  recent_probe_gap = 3, -- the longest one while a limit that held has lately fallen
  held = 3,             -- seconds a limit must have held to count as one the server allows
  memory = 30,          -- seconds such a limit, once fallen, counts as recent
  first_step = 0.5,     -- the first step up, as a share of the way to the ceiling (at least 1 request/s)
  keep = 3,             -- seconds of history kept
}

local ALL = "*"

local Pacer = {}
Pacer.__index = Pacer

--- Makes a pacer. `rates` are the configured requests per second per method (a method
-- without one goes at the POST rate); `clock` gives the monotonic time in seconds (default:
-- astro.core.sys.now).
---@param rates? table<string, number>
---@param clock? fun(): number
function M.new(rates, clock)
  return setmetatable({
    rates = rates or M.settings.rates,
    clock = clock or sys.now,
    history = {},       -- { t, method, refused } in the order sent: indices first..last
    first = 1,
    last = 0,
    scopes = {},        -- method or ALL -> adaptive state (see _scope)
  }, Pacer)
end

-- The rate of a method in a rates table: its own, else the POST rate.
local function _rate_in(rates, method)
  return rates[method] or rates.POST or 10
end

-- The configured rate of a method.
function Pacer:_configured(method)
  return _rate_in(self.rates, method)
end

-- The adaptive state of a scope (a method, or ALL for every request together), made on first
-- use: limit (nil for ALL until the server shows one), ceiling (the most a step may reach),
-- header (the limit rate-limit headers last announced), cut_at (when the limit was last cut),
-- since (when it was last set), probe_at/gap (the next step up), probing (the limit before
-- the step in progress, or nil), seen/seen_at (a limit that held a while, and when it fell),
-- hold (no start before this time).
function Pacer:_scope(name)
  local s = self.scopes[name]
  if not s then
    local cfg = name ~= ALL and self:_configured(name) or nil
    s = { limit = cfg, ceiling = cfg, cut_at = -math.huge, gap = M.tuning.probe_gap, hold = 0, since = self.clock() }
    self.scopes[name] = s
  end
  return s
end

-- Drops history older than what any rule reads.
function Pacer:_prune(now)
  local h, i = self.history, self.first
  local keep = now - M.tuning.keep
  while i <= self.last and h[i].t < keep do
    h[i] = nil
    i = i + 1
  end
  self.first = i
end

-- Whether a limit well above scope s's held a while, and fell, lately.
function Pacer:_recent_higher(s, now)
  return s.seen ~= nil and s.seen > s.limit * 1.2 and now - s.seen_at < M.tuning.memory
end

-- Steps the limit of scope s up when its calm has lasted long enough.
function Pacer:_step_up(name, s, now)
  if not s.limit or not s.probe_at or now < s.probe_at then return end
  local ceiling = s.ceiling or self:_total()
  local target
  if s.probing then
    -- The step in progress held: the shortest gap again.
    s.gap = M.tuning.probe_gap
    if s.limit >= ceiling then
      -- Back at the ceiling, and it held: the episode is over.
      s.probe_at, s.probing = nil, nil
      if name == ALL and s.ceiling == nil then self.scopes[ALL] = nil end
      return
    end
    target = ceiling              -- the limit has risen: try the ceiling
  else
    target = s.limit + math.max(1, (ceiling - s.limit) * M.tuning.first_step)
    -- A limit that held a while before it fell lately is tried again at once.
    if self:_recent_higher(s, now) then target = math.max(target, s.seen) end
  end
  s.probing = s.limit
  s.limit = math.min(ceiling, target)
  s.since = now
  s.probe_at = now + s.gap        -- when the step, if no 429 came, has held
end

-- The sum of the configured rates: a limit over all requests above it never binds.
function Pacer:_total()
  local sum = 0
  for _, r in pairs(self.rates) do sum = sum + r end
  return sum
end

--- Sets new configured rates (e.g. from --rate-limit): a method whose limit was never cut
-- goes at its new rate; a cut one keeps its lower limit, and steps up toward the new rate.
---@param rates table<string, number>
function Pacer:configure(rates)
  local old = self.rates
  self.rates = rates
  for name, s in pairs(self.scopes) do
    if name ~= ALL then
      local before = _rate_in(old, name)
      local now = self:_configured(name)
      local header = s.header or math.huge
      if s.limit >= before then s.limit = now end
      s.ceiling = math.min(now, header)
      if s.limit > s.ceiling then s.limit = s.ceiling end
      if s.limit < s.ceiling and not s.probe_at then s.probe_at = self.clock() + s.gap end
    end
  end
end

-- The earliest start that keeps the requests matching `match` (nil: all) under `limit`: spaced
-- 1/(limit x margin) after the last one's slot, and never the limit+1-th in a window.
function Pacer:_earliest(match, limit)
  local t = -math.huge
  local rate = limit * M.tuning.margin
  local h = self.history
  local n = math.max(1, math.floor(limit))
  local seen = 0
  for i = self.last, self.first, -1 do
    local e = h[i]
    -- A refused request counts for nothing (the server did not count it either).
    if (match == nil or e.method == match) and not e.refused then
      seen = seen + 1
      if seen == 1 then t = math.max(t, e.slot + 1 / rate) end
      if seen == n then
        t = math.max(t, e.t + M.tuning.window + M.tuning.guard)
        break
      end
    end
  end
  return t
end

--- The monotonic time at which the next request of this method may start (now when it may
-- start at once). Asking changes nothing but a due step up.
---@param method string
---@return number
function Pacer:due(method)
  local now = self.clock()
  self:_prune(now)
  local s = self:_scope(method)
  self:_step_up(method, s, now)
  local t = math.max(s.hold, self:_earliest(method, s.limit))
  local all = self.scopes[ALL]
  if all then
    self:_step_up(ALL, all, now)
    all = self.scopes[ALL]
    if all then t = math.max(t, all.hold, self:_earliest(nil, all.limit)) end
  end
  self.due_method, self.due_at = method, t
  return math.max(now, t)
end

--- Records that a request of this method starts now. Returns its entry, for answered().
---@param method string
---@return table entry
function Pacer:sent(method)
  local now = self.clock()
  -- The slot it was due at: a request that leaves a little late (the poll loop wakes to the
  -- millisecond) does not push every later one back with it.
  local slot = now
  if self.due_method == method and self.due_at <= now and self.due_at > now - 0.1 then
    slot = math.max(self.due_at, now - M.tuning.catch_up)
  end
  self.due_method = nil
  local e = { t = now, slot = slot, method = method }
  self.last = self.last + 1
  self.history[self.last] = e
  return e
end

-- The first number of a header value ("10", "10, 100;w=60", "10;w=1"), or nil.
local function _number(v)
  return v and tonumber(v:match("^%s*([%d.]+)")) or nil
end

-- Reads the rate-limit headers of a response: the limit as requests per second, remaining,
-- and the seconds until reset (nil when absent).
local function _rate_headers(headers)
  if type(headers) ~= "table" then return nil end
  local limit = _number(headers["ratelimit-limit"]) or _number(headers["x-ratelimit-limit"])
  local remaining = _number(headers["ratelimit-remaining"]) or _number(headers["x-ratelimit-remaining"])
  local reset = _number(headers["ratelimit-reset"])
  if not reset then
    reset = _number(headers["x-ratelimit-reset"])
    -- X-RateLimit-Reset is often an epoch time rather than a delay.
    if reset and reset > 1e9 then reset = reset - sys.time() end
  end
  local window = headers["ratelimit-policy"] and tonumber(headers["ratelimit-policy"]:match(";%s*w%s*=%s*([%d.]+)"))
  if limit and window and window > 0 then limit = limit / window end
  return limit, remaining, reset
end

-- The number of requests (of `method`, or of any when nil) sent in the window before entry e
-- and not refused.
function Pacer:_accepted_before(e, method)
  local n = 0
  local from = e.t - M.tuning.window
  local h = self.history
  for i = self.last, self.first, -1 do
    local x = h[i]
    if x ~= e and x.t < e.t and x.t > from and not x.refused and (method == nil or x.method == method) then
      n = n + 1
    elseif x.t <= from then
      break
    end
  end
  return n
end

-- Cuts the limit of scope `name` after a 429 to entry e: to what was accepted in the window
-- before it, at least a tenth below the refused pace.
function Pacer:_cut(name, s, accepted, now)
  local current = s.limit or math.huge
  if s.limit and now - s.since >= M.tuning.held then
    -- This limit held a while before it fell: the server may allow it again.
    s.seen, s.seen_at = s.limit, now
  end
  local new = accepted >= 1 and math.min(accepted, current * M.tuning.cut) or (s.limit or 2) / 2
  -- A step up that brought the 429 goes back to the limit before it, which held (a
  -- lower limit shows itself by the next 429).
  if s.probing then new = s.probing end
  s.limit = math.max(M.tuning.min_rate, new)
  if s.probing then
    -- The step in progress brought the 429: wait longer before the next one; not as long
    -- while a limit that held has lately fallen (it may come back).
    local cap = self:_recent_higher(s, now) and M.tuning.recent_probe_gap or M.tuning.max_probe_gap
    s.gap = math.min(cap, s.gap * 2)
    s.probing = nil
  end
  s.cut_at, s.since = now, now
  if s.limit < (s.ceiling or math.huge) then s.probe_at = now + s.gap end
end

--- Learns from the answer to the request of entry e (a response table with status and
-- headers, or nil when no answer came).
---@param e table an entry from sent()
---@param res? table
function Pacer:answered(e, res)
  if not res or not res.status then return end
  local now = self.clock()
  local s = self:_scope(e.method)
  local limit, remaining, reset = _rate_headers(res.headers)
  if limit and limit > 0 then
    local cfg = self:_configured(e.method)
    local changed = s.header ~= limit
    s.header = limit
    s.ceiling = math.min(cfg, limit)
    -- A limit the server announces anew is taken as it is; the same one again only caps.
    if changed or s.limit > s.ceiling then s.limit = s.ceiling end
    if s.limit >= s.ceiling then s.probe_at, s.probing = nil, nil end
    -- Nothing left before the reset, though this history did not spend it all: another
    -- client shares the credential, so the method waits for the reset.
    if remaining and remaining <= 0 and reset and reset > 0
       and self:_accepted_before(e, e.method) + 1 < math.floor(limit) then
      s.hold = math.max(s.hold, now + reset)
    end
  end
  if res.status ~= 429 then return end
  e.refused = true
  local all = self.scopes[ALL]
  if e.t <= s.cut_at or (all and e.t <= all.cut_at) then return end
  local mine = self:_accepted_before(e, e.method)
  local every = self:_accepted_before(e, nil)
  if every > mine then
    all = self:_scope(ALL)
    self:_cut(ALL, all, every, now)
  else
    self:_cut(e.method, s, mine, now)
  end
end

--- The limit the pacer holds for a method now (requests per second), and the one over all
-- requests (nil while the server has not shown one). For progress reports and specs.
---@param method string
function Pacer:limits(method)
  local all = self.scopes[ALL]
  return self:_scope(method).limit, all and all.limit or nil
end

--- Parses "POST=10,GET=25" into a rates table (starting from the configured rates). Returns it
-- or nil, err.
function M.parse_rates(text)
  local rates = {}
  for k, v in pairs(M.settings.rates) do rates[k] = v end
  for part in (text or ""):gmatch("[^,]+") do
    local method, n = part:match("^%s*(%u+)%s*=%s*([%d.]+)%s*$")
    n = tonumber(n)
    if not method or not n or n <= 0 then
      return nil, errors.usage(string.format('invalid rate limit "%s": expected METHOD=N per second, e.g. POST=10,GET=25', part))
    end
    rates[method] = n
  end
  return rates
end

return M
