--- The engine: runs many API calls of one client concurrently, paced to the API's per-method
-- limits (astro._core.pacer), with retries that never repeat a change, a check of unknown
-- outcomes before any retry, a per-job result, and --dry-run. Behind astro.batch, listings
-- (astro._core.listing) and the files of people (astro.people).
local errors = require("astro.errors")
local sys = require("astro.core.sys")
local client_mod = require("astro._core.client")
local pacer_mod = require("astro._core.pacer")
local policy_defaults = require("astro._core.policy")
local retry = require("astro._core.retry")

local M = {}


-- Engine ------------------------------------------------------------------------------------

-- Classifies one raw outcome. Returns kind, value, delay:
--   "done", result            final (success or API error)
--   "retry", err, delay       try again after delay seconds
--   "unknown", err            the request left and its outcome is unknown
--   "stop", err               interrupted: stop everything
local function _classify(job, out, attempt, policy, throttled)
  local idempotent = policy.idempotent[job.method] or job.idempotent
  local can_retry = attempt - throttled < policy.max_attempts
  if out.error then
    local err = out.error
    local code = err.transport
    if err.code == "interrupted" or code == "interrupted" then return "stop", err end
    if code == "connect" and can_retry then return "retry", err, retry.backoff(attempt, policy) end
    if code == "recv" or code == "send" or code == "timeout" then
      if idempotent then
        if can_retry then return "retry", err, retry.backoff(attempt, policy) end
        return "done", { ok = false, err = err }
      end
      return "unknown", err
    end
    return "done", { ok = false, err = err }
  end
  local status = out.status
  if status == 429 and throttled >= (policy.max_throttled or 12) then can_retry = false end
  if can_retry and (status == 429 or (idempotent and policy.retry_statuses[status])) then
    local delay = retry.retry_after(out)
    if delay and delay > policy.max_retry_after then delay = nil end
    if not delay then delay = retry.backoff(attempt, policy) end
    local _, err = client_mod.decode_response(out)
    return "retry", err, delay, status == 429
  end
  local data, res_or_err = client_mod.decode_response(out)
  if data == nil then return "done", { ok = false, err = res_or_err, status = status } end
  return "done", { ok = true, data = data, status = status,
                   requestId = out.headers and out.headers["x-request-id"] }
end

--- Runs jobs against the API. Each job is { method, path, query?, body?, idempotent? } (a
-- path under /v1, as for Client:request). Returns a list of results in job order:
--   { ok = true, data, status, requestId, attempts }  or  { ok = false, err, attempts }
-- (`dry_run = true` on results of held-back requests).
---@param client table a client (astro._core.client)
---@param jobs table[]
---@param opts? {rates?: table, concurrency?: integer, policy?: table, discard?: boolean, on_result?: fun(i: integer, result: table, job: table), on_unknown?: fun(items: table[]): table<integer, boolean>}
--   discard: keep only ok/err in the returned results (the data went to on_result);
--   quiet_plan: in dry-run mode, do not print each held-back request (the caller reports);
--   on_result(i, result, job): called as each job ends (progress, streaming);
--   on_unknown(items): items = { {index=, job=} } whose outcome is unknown; returns a map
--   index -> true when the change did take effect (checked, e.g. by listing again), or nil
--   when it cannot tell. Jobs not confirmed are retried if attempts remain; without
--   on_unknown, or when it cannot tell, they fail as "outcome unknown" and are not re-sent.
function M.run(client, jobs, opts)
  opts = opts or {}
  local policy = opts.policy or policy_defaults
  local pacer = opts.pacer or pacer_mod.new(opts.rates)
  local concurrency = opts.concurrency or pacer_mod.settings.concurrency
  local results, attempts, throttles = {}, {}, {}
  local function finish(i, result)
    result.attempts = attempts[i] or 0
    if opts.discard then results[i] = { ok = result.ok, err = result.err } else results[i] = result end
    if opts.on_result then opts.on_result(i, result, jobs[i]) end
  end

  local pending = {}
  for i, job in ipairs(jobs) do
    if client.dry_run and client_mod.is_mutating(job.method) then
      if not opts.quiet_plan then client_mod.plan(client, job.method, job.path, job) end
      finish(i, { ok = true, dry_run = true, data = {} })
    else
      pending[#pending + 1] = { index = i, not_before = 0 }
    end
  end

  while #pending > 0 do
    local reqs = {}
    for k, p in ipairs(pending) do
      local job = jobs[p.index]
      attempts[p.index] = (attempts[p.index] or 0) + 1
      local req = client_mod.build(client, job.method, job.path, job)
      local slot = pacer:slot(job.method)
      if p.not_before > slot then
        pacer:hold(job.method, p.not_before)
        slot = pacer:slot(job.method)
      end
      req.start_at = slot
      p.epoch = pacer:epoch(job.method)
      reqs[k] = req
    end
    local again, unknown, stopped = {}, {}, nil
    local wave = pending
    client_mod.send_batch(client, reqs, {
      concurrency = concurrency,
      -- A request paced before a 429 cut its method's pace gets a new slot at the new pace
      -- instead of going out at the old one.
      before_start = function(k)
        local p = wave[k]
        local method = jobs[p.index].method
        if p.epoch == pacer:epoch(method) then return nil end
        p.epoch = pacer:epoch(method)
        return math.max(pacer:slot(method), p.not_before)
      end,
      on_done = function(k, out)
        local p = wave[k]
        local job = jobs[p.index]
        if stopped then
          finish(p.index, { ok = false, err = stopped })
          return
        end
        local kind, value, delay, throttled = _classify(job, out, attempts[p.index], policy,
          throttles[p.index] or 0)
        if kind == "done" then
          finish(p.index, value)
        elseif kind == "retry" then
          local until_t = sys.now() + delay
          if throttled then
            throttles[p.index] = (throttles[p.index] or 0) + 1
            pacer:throttle(job.method, until_t, p.epoch)
          end
          again[#again + 1] = { index = p.index, not_before = until_t, last = value }
        elseif kind == "unknown" then
          unknown[#unknown + 1] = { index = p.index, job = job, err = value }
        else
          stopped = value
          finish(p.index, { ok = false, err = value })
        end
      end,
    })
    if stopped then
      for _, p in ipairs(again) do finish(p.index, { ok = false, err = stopped }) end
      for _, u in ipairs(unknown) do finish(u.index, { ok = false, err = stopped }) end
      break
    end
    if #unknown > 0 then
      -- on_unknown answers which took effect; nil means it could not tell, and then nothing
      -- is sent again.
      local confirmed = opts.on_unknown and opts.on_unknown(unknown)
      for _, u in ipairs(unknown) do
        if confirmed and confirmed[u.index] then
          finish(u.index, { ok = true, confirmed = true, data = {} })
        elseif confirmed and attempts[u.index] - (throttles[u.index] or 0) < policy.max_attempts then
          again[#again + 1] = { index = u.index, not_before = sys.now() + retry.backoff(attempts[u.index], policy), last = u.err }
        else
          finish(u.index, { ok = false, err = errors.new(u.err.message ..
            " (the request was sent; whether it took effect is unknown)", { code = "unknown" }) })
        end
      end
    end
    -- Jobs out of attempts after a retryable answer end with that answer.
    pending = {}
    for _, p in ipairs(again) do
      if attempts[p.index] - (throttles[p.index] or 0) >= policy.max_attempts
         or (throttles[p.index] or 0) > (policy.max_throttled or 12) then
        finish(p.index, { ok = false, err = errors.wrap(p.last) })
      else
        pending[#pending + 1] = p
      end
    end
    table.sort(pending, function(a, b) return a.index < b.index end)
  end
  return results
end

return M
