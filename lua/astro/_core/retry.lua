--- When a request is tried again, and after how long. A request is retried only when doing so
-- cannot repeat a change the server already made:
--   * any method: on 429 (the API did not process it) and when the connection could not be
--     made at all (code "connect": nothing was sent);
--   * idempotent methods (GET, HEAD, or a request marked idempotent): also on 502, 503, 504 and
--     on transport failures after sending ("recv", "send", "timeout");
--   * anything else (a POST that timed out, a 500) is returned to the caller as it is.
-- The delay is the server's Retry-After when given (beyond policy.max_retry_after the request
-- fails instead of waiting), else an exponential backoff with jitter capped by policy.max_delay.
local core = require("astro.core.http")
local sys = require("astro.core.sys")
local policy_defaults = require("astro._core.policy")

local M = {}

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

--- Decides whether to retry a single request after an attempt; returns the delay in seconds
-- or nil.
---@param method string
---@param res table|nil the response, or nil on a transport failure
---@param code string|nil the transport failure code
---@param attempt integer the attempt that just ended (1-based)
---@param policy? table
---@param opts? {idempotent?: boolean, throttled?: integer}
--   idempotent: the request may be repeated whatever its method (e.g. setting a role);
--   throttled: how many of the attempts so far were answered 429 (those have their own budget,
--   policy.max_throttled: a 429 was not processed, so repeating it is always safe).
function M.delay(method, res, code, attempt, policy, opts)
  policy = policy or policy_defaults
  opts = opts or {}
  local throttled = opts.throttled or 0
  local is_429 = res ~= nil and res.status == 429
  if is_429 then
    if throttled >= (policy.max_throttled or 12) then return nil end
  elseif attempt - throttled >= policy.max_attempts then
    return nil
  end
  local idempotent = policy.idempotent[method or "GET"] or opts.idempotent
  local retry
  if res then
    retry = policy.retry_statuses[res.status] and (is_429 or idempotent)
  else
    retry = code == "connect" or (idempotent and (code == "recv" or code == "send" or code == "timeout"))
  end
  if not retry then return nil end
  local secs = M.retry_after(res)
  if secs then
    if secs > policy.max_retry_after then return nil end
    return secs
  end
  return M.backoff(attempt - throttled, policy)
end

return M
