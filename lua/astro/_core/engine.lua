--- The engine: runs many API calls of one client concurrently, each started just in time when
-- the client's pacer allows (astro._core.pacer: one history per credential, adapting to the
-- server's real limit), with the one retry decision (astro._core.retry): a refused request
-- goes back in the queue and waits its own Retry-After while the others go on, a change is
-- never repeated, an unknown outcome is checked before any retry. Behind astro.batch, listings
-- (astro._core.listing) and the files of people (astro.people).
local errors = require("astro.errors")
local sys = require("astro.core.sys")
local client_mod = require("astro._core.client")
local pacer_mod = require("astro._core.pacer")
local policy_defaults = require("astro._core.policy")
local retry = require("astro._core.retry")

local M = {}

-- The error a transport failure carries, and its code for the retry decision.
local function _failure(out)
  local err = out.error
  if err.code == "interrupted" or err.transport == "interrupted" then return err, "interrupted" end
  return err, err.transport or "other"
end

--- Drives items through the client until none is left: the loop under batches and listings.
-- An item is a table with `job` = { method, path, query?, body?, idempotent? } (a path under
-- /v1, as for Client:request); the caller may keep its own fields in it.
---@param client table
---@param opts {feed: fun(): table|nil, on_final: fun(item: table, result: table), on_unknown?: fun(items: table[]): table|nil, pacer?: table, policy?: table, concurrency?: integer, raw?: boolean}
--   feed(): the next new item, or nil when there is none for now (asked again after every
--   answer: a listing plans its pages as they come);
--   on_final(item, result): the item ended: { ok = true, data, status, requestId, attempts } or
--   { ok = false, err, attempts } (confirmed = true when on_unknown confirmed it); with
--   opts.raw, a success also carries the response's `body` (text) and `headers`;
--   on_unknown(items): see M.run (items get an `err` field).
-- Returns nil, or the error that stopped everything (an interrupt); items not ended then are
-- ended with it, except those feed() never handed out.
function M.drive(client, opts)
  local policy = opts.policy or policy_defaults
  local pacer = opts.pacer or client_mod.pacer(client)
  local concurrency = opts.concurrency or pacer_mod.settings.concurrency
  local waiting = {}         -- items to try again: { item, not_before }
  local held                 -- a new item fed but not started yet (the pacer said wait)
  local inflight, seq = {}, 0
  local stopped
  local unknown = {}

  local function final(item, result)
    result.attempts = item.attempts or 0
    opts.on_final(item, result)
  end

  -- The next item to start: the earliest-fed ready retry, else a new one. Returns item, or
  -- nil and the time the earliest retry is ready.
  local function pick(now)
    local best, best_k, soonest
    for k, w in ipairs(waiting) do
      if w.not_before <= now then
        if not best or w.item.seq < best.item.seq then best, best_k = w, k end
      elseif not soonest or w.not_before < soonest then
        soonest = w.not_before
      end
    end
    if best then return best.item, best_k end
    if not held then held = opts.feed() end
    if held then return held, nil end
    return nil, soonest
  end

  local function next_request()
    if stopped then return nil end
    local now = sys.now()
    local item, k = pick(now)
    if not item then return nil, k end
    local due = pacer:due(item.job.method)
    if due > sys.now() then return nil, due end
    if k then table.remove(waiting, k) else held = nil end
    if not item.seq then seq = seq + 1; item.seq = seq end
    item.attempts = (item.attempts or 0) + 1
    local key = {}
    inflight[key] = { item = item, entry = pacer:sent(item.job.method) }
    return key, client_mod.build(client, item.job.method, item.job.path, item.job)
  end

  local function again(item, delay)
    waiting[#waiting + 1] = { item = item, not_before = sys.now() + delay }
  end

  local function on_done(key, out)
    local f = inflight[key]
    inflight[key] = nil
    local item, job = f.item, f.item.job
    pacer:answered(f.entry, out.status and out or nil)
    if stopped then return final(item, { ok = false, err = stopped }) end
    local res, code, err = nil, nil, nil
    if out.error then err, code = _failure(out) else res = out end
    local d = retry.decide(job.method, res, code,
      { attempt = item.attempts, throttled = item.throttled or 0, idempotent = job.idempotent }, policy)
    if d.action == "stop" then
      stopped = err or errors.new("interrupted", { code = "interrupted" })
      return final(item, { ok = false, err = stopped })
    elseif d.action == "retry" then
      if d.throttled then item.throttled = (item.throttled or 0) + 1 end
      return again(item, d.delay)
    elseif d.action == "unknown" then
      unknown[#unknown + 1] = item
      item.err = err
      return
    elseif d.action == "give_up" then
      return final(item, { ok = false, err = d.err })
    end
    if err then return final(item, { ok = false, err = err }) end
    local data, res_or_err = client_mod.decode_response(res)
    if data == nil then return final(item, { ok = false, err = res_or_err, status = res.status }) end
    final(item, { ok = true, data = data, status = res.status, requestId = res.headers and res.headers["x-request-id"],
                  body = opts.raw and res.body or nil, headers = opts.raw and res.headers or nil })
  end

  while true do
    local ok, why = client_mod.run(client, { concurrency = concurrency, next = next_request, on_done = on_done })
    if not ok and not stopped then
      stopped = errors.new(why == "interrupted" and "interrupted" or tostring(why),
        { code = why == "interrupted" and "interrupted" or "transport" })
    end
    if stopped then
      for _, w in ipairs(waiting) do final(w.item, { ok = false, err = stopped }) end
      for _, u in ipairs(unknown) do final(u, { ok = false, err = stopped }) end
      if held then final(held, { ok = false, err = stopped }) end
      return stopped
    end
    if #unknown == 0 then return nil end
    -- on_unknown answers which took effect; nil means it could not tell, and then nothing
    -- is sent again.
    local items = unknown
    unknown = {}
    local confirmed = opts.on_unknown and opts.on_unknown(items)
    for _, u in ipairs(items) do
      if confirmed and confirmed[u.index or u] then
        final(u, { ok = true, confirmed = true, data = {} })
      elseif confirmed and u.attempts - (u.throttled or 0) < policy.max_attempts then
        again(u, retry.backoff(u.attempts - (u.throttled or 0), policy))
      else
        final(u, { ok = false, err = errors.new(u.err.message ..
          " (the request was sent; whether it took effect is unknown)", { code = "unknown" }) })
      end
    end
    if #waiting == 0 then return nil end
  end
end

--- Runs jobs against the API. Each job is { method, path, query?, body?, idempotent? } (a
-- path under /v1, as for Client:request). Returns a list of results in job order:
--   { ok = true, data, status, requestId, attempts }  or  { ok = false, err, attempts }
-- (`dry_run = true` on results of held-back requests).
---@param client table a client (astro._core.client)
---@param jobs table[]
---@param opts? {rates?: table, concurrency?: integer, policy?: table, discard?: boolean, quiet_plan?: boolean, on_result?: fun(i: integer, result: table, job: table), on_unknown?: fun(items: table[]): table<integer, boolean>}
--   rates: the configured rates for this client's pacer (default astro.bulk.rates);
--   discard: keep only ok/err in the returned results (the data went to on_result);
--   quiet_plan: in dry-run mode, do not print each held-back request (the caller reports);
--   on_result(i, result, job): called as each job ends (progress, streaming);
--   on_unknown(items): items = { {index=, job=} } whose outcome is unknown; returns a map
--   index -> true when the change did take effect (checked, e.g. by listing again), or nil
--   when it cannot tell. Jobs not confirmed are retried if attempts remain; without
--   on_unknown, or when it cannot tell, they fail as "outcome unknown" and are not re-sent.
function M.run(client, jobs, opts)
  opts = opts or {}
  local results = {}
  local function finish(i, result)
    if opts.discard then results[i] = { ok = result.ok, err = result.err, attempts = result.attempts }
    else results[i] = result end
    if opts.on_result then opts.on_result(i, result, jobs[i]) end
  end
  local send = {}
  for i, job in ipairs(jobs) do
    if client_mod.holds(client) and client_mod.is_mutating(job.method) then
      if not opts.quiet_plan then client_mod.plan(client, job.method, job.path, job) end
      finish(i, { ok = true, dry_run = true, data = {}, attempts = 0 })
    else
      send[#send + 1] = i
    end
  end
  local n = 0
  local stopped = M.drive(client, {
    pacer = opts.pacer or client_mod.pacer(client, opts.rates),
    policy = opts.policy,
    concurrency = opts.concurrency,
    feed = function()
      if n >= #send then return nil end
      n = n + 1
      return { index = send[n], job = jobs[send[n]] }
    end,
    on_final = function(item, result) finish(item.index, result) end,
    on_unknown = opts.on_unknown,
  })
  if stopped then
    for k = n + 1, #send do finish(send[k], { ok = false, err = stopped, attempts = 0 }) end
  end
  return results
end

return M
