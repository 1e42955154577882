--- The bulk engine: runs many API calls concurrently, paced to the API's per-method limits,
-- with retries that never repeat a change, a check of unknown outcomes before any retry, a
-- per-job result, progress, and --dry-run. Used by `user invite/update --file`, by listings,
-- and by users' scripts (astro.batch).
local http = require("astro.http")
local api = require("astro.api")
local errors = require("astro.errors")
local sys = require("astro.core.sys")
local core_http = require("astro.core.http")

local M = {}

--- Requests per second per method and token: the Astro API's limits. Change them here (or
-- with --rate-limit) when your organization has other limits.
M.rates = { GET = 25, POST = 10, PUT = 10, PATCH = 10, DELETE = 5 }

--- Transfers in flight at once.
M.concurrency = 16

-- Pacer -------------------------------------------------------------------------------------

local Pacer = {}
Pacer.__index = Pacer

--- Makes a pacer that hands out start times spaced 1/rate apart per method. `clock` gives the
-- monotonic time in seconds (default: astro.core.sys.now).
---@param rates? table<string, number>
---@param clock? fun(): number
function M.pacer(rates, clock)
  return setmetatable({ rates = rates or M.rates, next = {}, epochs = {}, clock = clock or sys.now }, Pacer)
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

-- Engine ------------------------------------------------------------------------------------

local function _backoff(attempt, policy)
  local d = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1))
  return d / 2 + math.random() * d / 2
end

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
    if code == "connect" and can_retry then return "retry", err, _backoff(attempt, policy) end
    if code == "recv" or code == "send" or code == "timeout" then
      if idempotent then
        if can_retry then return "retry", err, _backoff(attempt, policy) end
        return "done", { ok = false, err = err }
      end
      return "unknown", err
    end
    return "done", { ok = false, err = err }
  end
  local status = out.status
  if status == 429 and throttled >= (policy.max_throttled or 12) then can_retry = false end
  if can_retry and (status == 429 or (idempotent and policy.retry_statuses[status])) then
    local delay
    local ra = out.headers and out.headers["retry-after"]
    if ra then delay = core_http.parse_retry_after(ra, sys.time()) end
    if delay and delay > policy.max_retry_after then delay = nil end
    if not delay then delay = _backoff(attempt, policy) end
    local _, err = api.decode_response(out)
    return "retry", err, delay, status == 429
  end
  local data, res_or_err = api.decode_response(out)
  if data == nil then return "done", { ok = false, err = res_or_err, status = status } end
  return "done", { ok = true, data = data, status = status,
                   requestId = out.headers and out.headers["x-request-id"] }
end

--- Runs jobs against the API. Each job is { method, path, query?, body?, idempotent? } (a
-- path under /v1, as for Client:request). Returns a list of results in job order:
--   { ok = true, data, status, requestId, attempts }  or  { ok = false, err, attempts }
-- (`dry_run = true` on results of held-back requests).
---@param client table an astro.api client
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
  local policy = opts.policy or http.policy
  local pacer = opts.pacer or M.pacer(opts.rates)
  local concurrency = opts.concurrency or M.concurrency
  local results, attempts, throttles = {}, {}, {}
  local function finish(i, result)
    result.attempts = attempts[i] or 0
    if opts.discard then results[i] = { ok = result.ok, err = result.err } else results[i] = result end
    if opts.on_result then opts.on_result(i, result, jobs[i]) end
  end

  local pending = {}
  for i, job in ipairs(jobs) do
    if client.dry_run and api.is_mutating(job.method) then
      if not opts.quiet_plan then client:_plan(job.method, job.path, job) end
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
      local req = client:build(job.method, job.path, job)
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
    client:send_batch(reqs, {
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
          again[#again + 1] = { index = u.index, not_before = sys.now() + _backoff(attempts[u.index], policy), last = u.err }
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

-- Listing -----------------------------------------------------------------------------------

--- Streams every item of a paginated list in API order: the first page (largest page size)
-- gives totalCount; the other pages are fetched concurrently, paced to the GET limit, and each
-- page is handed to on_page(items, offset) as soon as the pages before it have been. Memory
-- holds only the pages waiting for an earlier one. Returns the number of items, totalCount,
-- or nil, err.
---@param client table
---@param path string
---@param key string
---@param on_page fun(items: table[], offset: integer)
---@param opts? {query?: table, page_size?: integer, concurrency?: integer, rates?: table, pacer?: table}
function M.stream_list(client, path, key, on_page, opts)
  opts = opts or {}
  local size = opts.page_size or api.MAX_PAGE_SIZE
  local pacer = opts.pacer or M.pacer(opts.rates)
  local function query(offset)
    local q = {}
    for k, v in pairs(opts.query or {}) do q[k] = v end
    q.limit, q.offset = size, offset
    return q
  end
  local function items_of(data, offset)
    if type(data) ~= "table" or type(data[key]) ~= "table" then
      return nil, errors.new(string.format("the API answered a page (offset %d) without a %q list", offset, key),
        { code = "api" })
    end
    return data[key]
  end
  local first = M.run(client, { { method = "GET", path = path, query = query(0) } }, { pacer = pacer })[1]
  if not first.ok then return nil, first.err end
  local list, err = items_of(first.data, 0)
  if not list then return nil, err end
  local total = math.tointeger(first.data.totalCount) or #list
  local step = #list
  local count = #list
  on_page(list, 0)
  if step == 0 or count >= total then return count, total end
  local jobs, offsets = {}, {}
  for offset = step, total - 1, step do
    jobs[#jobs + 1] = { method = "GET", path = path, query = query(offset) }
    offsets[#offsets + 1] = offset
  end
  local waiting, next_index, failure = {}, 1, nil
  M.run(client, jobs, {
    pacer = pacer, concurrency = opts.concurrency or 8, discard = true,
    on_result = function(i, result)
      if failure then return end
      if not result.ok then failure = result.err return end
      local items, ierr = items_of(result.data, offsets[i])
      if not items then failure = ierr return end
      waiting[i] = items
      while waiting[next_index] do
        local page = waiting[next_index]
        waiting[next_index] = nil
        count = count + #page
        on_page(page, offsets[next_index])
        next_index = next_index + 1
      end
    end,
  })
  if failure then return nil, failure end
  return count, total
end

-- Progress ----------------------------------------------------------------------------------

--- A progress bar on stderr with rate and ETA, drawn only when stderr is a terminal.
---@param total integer
---@param label string
function M.progress(total, label)
  local enabled = sys.isatty("stderr") and total > 0
  local t0, done, last = sys.now(), 0, 0
  local p = {}
  function p.step(n)
    done = done + (n or 1)
    if not enabled then return end
    local now = sys.now()
    if now - last < 0.1 and done < total then return end
    last = now
    local rate = done / math.max(now - t0, 1e-3)
    local eta = rate > 0 and (total - done) / rate or 0
    local width = 30
    local filled = math.floor(width * done / total)
    io.stderr:write(string.format("\r%s [%s%s] %d/%d %.1f/s ETA %ds ", label, string.rep("#", filled),
      string.rep(" ", width - filled), done, total, rate, math.ceil(eta)))
  end
  function p.finish()
    if enabled then io.stderr:write("\r", string.rep(" ", 79), "\r") end
  end
  return p
end

--- Parses "POST=10,GET=25" into a rates table (starting from M.rates). Returns it or nil, err.
function M.parse_rates(text)
  local rates = {}
  for k, v in pairs(M.rates) do rates[k] = v end
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
