--- Pacing: start times for requests so that each method stays under its rate, and the cut of
-- a method's pace after a 429. The settings (rates per method, concurrency) are public as
-- astro.bulk.
local errors = require("astro.errors")
local sys = require("astro.core.sys")

local M = {}

--- The pacing settings: rates, requests per second per method and token (the Astro API's
-- limits), and concurrency, transfers in flight at once. Read at each use.
M.settings = {
  rates = { GET = 25, POST = 10, PUT = 10, PATCH = 10, DELETE = 5 },
  concurrency = 16,
}

local Pacer = {}
Pacer.__index = Pacer

--- Makes a pacer that hands out start times spaced 1/rate apart per method. `clock` gives the
-- monotonic time in seconds (default: astro.core.sys.now).
---@param rates? table<string, number>
---@param clock? fun(): number
function M.new(rates, clock)
  return setmetatable({ rates = rates or M.settings.rates, next = {}, epochs = {}, clock = clock or sys.now }, Pacer)
end

--- How many times the pace of this method has been cut (see throttle): a slot handed out in
-- an earlier epoch was paced too fast.
function Pacer:epoch(method)
  return self.epochs[method] or 0
end

--- The monotonic time at which the next request of this method may start.
function Pacer:slot(method)
  local rate = self.rates[method] or self.rates.POST or 10
  local now = self.clock()
  local t = math.max(now, self.next[method] or now)
  self.next[method] = t + 1 / rate
  return t
end

--- Holds every later request of this method until the given time.
function Pacer:hold(method, until_t)
  if (self.next[method] or 0) < until_t then self.next[method] = until_t end
end

--- After a 429: holds the method until the given time and halves its pace (down to one
-- request every 2 s), since the server's limit is lower than the one configured. A 429 to a
-- request paced in an earlier epoch (sent before the last cut) only holds: that pace was
-- already cut for, and cutting again for each of a burst of 429s would crawl far below the
-- server's limit.
---@param method string
---@param until_t number
---@param epoch? integer the epoch the 429'd request was paced in (default: the current one)
function Pacer:throttle(method, until_t, epoch)
  self:hold(method, until_t)
  if epoch ~= nil and epoch < self:epoch(method) then return end
  self.epochs[method] = self:epoch(method) + 1
  local rates = {}
  for k, v in pairs(self.rates) do rates[k] = v end
  rates[method] = math.max((rates[method] or rates.POST or 10) / 2, 0.5)
  self.rates = rates
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
