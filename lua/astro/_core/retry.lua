--- The one retry decision, for single requests (astro._core.transport) and batches
-- (astro._core.engine) alike: after an attempt, whether the request is tried again, after how
-- long, or why not. A request is retried only when doing so cannot repeat a change the server
-- already made. The rules, one row per outcome (M.rules):
--
--   outcome                   retried for          budget         wait
--   429                       any method           max_throttled  Retry-After, else backoff
--   502, 503, 504 (and any    idempotent methods   max_attempts   Retry-After, else backoff
--     other retry_statuses)
--   no connection made        any method           max_attempts   backoff
--     ("connect": nothing was sent)
--   lost after sending        idempotent methods;  max_attempts   backoff
--     ("send", "recv",        others: "unknown"
--     "timeout")              (it may have taken effect: the caller checks or reports)
--   interrupted               never: "stop"
--   anything else             never: "done"
--
-- Idempotent: GET and HEAD (policy.idempotent), or a request marked idempotent (it sets a
-- value, e.g. a role). A Retry-After longer than policy.max_retry_after ends the request
-- ("give_up") with an error naming the wait the server asked for. Out of budget, the request
-- ends with its last answer ("done").
local core = require("astro.core.http")
local sys = require("astro.core.sys")
local errors = require("astro.errors")
local policy_defaults = require("astro._core.policy")

local M = {}

--- The rows of the decision, by outcome: `who` retries ("any" method, or "idempotent" ones,
-- else `otherwise`), the `budget` counted, and the `wait` ("retry_after" or "backoff").
M.rules = {
  [429] = { who = "any", budget = "throttled", wait = "retry_after" },
  status = { who = "idempotent", otherwise = "done", budget = "attempts", wait = "retry_after" },
  connect = { who = "any", budget = "attempts", wait = "backoff" },
  send = { who = "idempotent", otherwise = "unknown", budget = "attempts", wait = "backoff" },
  recv = { who = "idempotent", otherwise = "unknown", budget = "attempts", wait = "backoff" },
  timeout = { who = "idempotent", otherwise = "unknown", budget = "attempts", wait = "backoff" },
}

--- The backoff before the retry that follows attempt n (1-based, 429s not counted): half the
-- exponential delay plus a random part of the other half.
---@param n integer
---@param policy table
function M.backoff(n, policy)
  local d = math.min(policy.max_delay, policy.base_delay * 2 ^ (n - 1))
  return d / 2 + math.random() * d / 2
end

--- The wait a Retry-After header asks for in seconds, or nil when there is none or it cannot
-- be read.
---@param res table|nil
function M.retry_after(res)
  local value = res and res.headers and res.headers["retry-after"]
  if not value then return nil end
  return core.parse_retry_after(value, sys.time())
end

-- "45 s", "1 h", "2 min 5 s": a wait for a message.
local function _duration(secs)
  secs = math.ceil(secs)
  if secs < 120 then return secs .. " s" end
  if secs < 3600 then
    local m, s = secs // 60, secs % 60
    return m .. " min" .. (s > 0 and (" " .. s .. " s") or "")
  end
  return (string.format("%.1f h", secs / 3600):gsub("%.0 h", " h"))
end

--- The decision after one attempt.
---@param method string
---@param res table|nil the response, or nil when none came
---@param code string|nil the transport failure code when no response came
---@param state {attempt: integer, throttled?: integer, idempotent?: boolean}
--   attempt: the attempt that just ended (1-based, 429s included); throttled: how many of the
--   attempts before this one were answered 429; idempotent: the request may be repeated
--   whatever its method
---@param policy? table astro.http.policy
---@return table decision { action = "retry", delay, throttled } | { action = "done" } |
--   { action = "unknown" } | { action = "stop" } | { action = "give_up", err }
function M.decide(method, res, code, state, policy)
  policy = policy or policy_defaults
  if code == "interrupted" then return { action = "stop" } end
  local rule
  if res then
    if res.status == 429 then rule = M.rules[429]
    elseif policy.retry_statuses[res.status] then rule = M.rules.status end
  else
    rule = M.rules[code]
  end
  if not rule then return { action = "done" } end
  local idempotent = policy.idempotent[method or "GET"] or state.idempotent or false
  if rule.who == "idempotent" and not idempotent then return { action = rule.otherwise } end
  local throttled = state.throttled or 0
  if rule.budget == "throttled" then
    if throttled + 1 > (policy.max_throttled or 12) then return { action = "done" } end
  elseif state.attempt - throttled >= policy.max_attempts then
    return { action = "done" }
  end
  local delay
  if rule.wait == "retry_after" then
    delay = M.retry_after(res)
    if delay and delay > policy.max_retry_after then
      local rid = res.headers and res.headers["x-request-id"]
      return { action = "give_up", err = errors.new(string.format(
        "the API answered %d and asked to wait %s before trying again (Retry-After), longer than the %s " ..
        "this tool waits (astro.http.policy.max_retry_after): try again later",
        res.status, _duration(delay), _duration(policy.max_retry_after)),
        { status = res.status, code = "api", retry_after = delay, requestId = rid }) }
    end
  end
  if not delay then
    delay = M.backoff(math.max(1, state.attempt - throttled), policy)
  end
  return { action = "retry", delay = delay, throttled = rule.budget == "throttled" }
end

return M
