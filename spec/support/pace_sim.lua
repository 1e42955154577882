--- A simulated run of the pacer (astro._core.pacer) against simulated servers, on a simulated
-- clock: jobs go out as the pacer allows (at most `concurrency` in flight), each answer comes
-- `latency` seconds later, a refused job waits its Retry-After and goes again. No sockets, no
-- sleeping: the same run gives the same numbers on any machine, so the specs can hold the
-- adaptation to its targets on many server behaviours.
local pacer_mod = require("astro._core.pacer")

local M = {}

--- A server model. opts: limits = { METHOD = N, ALL = N } (requests per second), or
-- schedule = { {at, limits}, ... } (limits from `at` seconds on); window = "sliding" (at most
-- N accepted in any 1 s, default), "bucket" (capacity N, refilled at N/s) or "fixed" (N per
-- whole second); headers = true to answer RateLimit-* headers; retry_after (default 1).
function M.server(opts)
  local s = { accepted = {}, buckets = {}, fixed = {}, opts = opts }
  local function limits_at(t)
    if not opts.schedule then return opts.limits end
    local current = opts.schedule[1][2]
    for _, e in ipairs(opts.schedule) do if t >= e[1] then current = e[2] end end
    return current
  end
  -- Whether key may have one more request at t under limit n; and what remains.
  local function allows(key, n, t)
    local w = opts.window or "sliding"
    if w == "sliding" then
      local list = s.accepted[key] or {}
      s.accepted[key] = list
      local count = 0
      for i = #list, 1, -1 do
        if list[i] > t - 1 then count = count + 1 else break end
      end
      return count < n, n - count - 1
    elseif w == "bucket" then
      local b = s.buckets[key] or { level = n, at = t }
      s.buckets[key] = b
      b.level = math.min(n, b.level + (t - b.at) * n)
      b.at = t
      return b.level >= 1 - 1e-9, math.floor(b.level - 1)
    else
      local sec = math.floor(t)
      local f = s.fixed[key]
      if not f or f.sec ~= sec then f = { sec = sec, n = 0 }; s.fixed[key] = f end
      return f.n < n, n - f.n - 1
    end
  end
  local function take(key, t)
    local w = opts.window or "sliding"
    if w == "sliding" then table.insert(s.accepted[key], t)
    elseif w == "bucket" then s.buckets[key].level = s.buckets[key].level - 1
    else s.fixed[key].n = s.fixed[key].n + 1 end
  end
  --- Answers a request of method arriving at t: a response table { status, headers }.
  function s.answer(method, t)
    local limits = limits_at(t)
    local keys = {}
    if limits[method] then keys[#keys + 1] = { method, limits[method] } end
    if limits.ALL then keys[#keys + 1] = { "ALL", limits.ALL } end
    local ok, tightest, remaining = true, nil, nil
    for _, k in ipairs(keys) do
      local yes, left = allows(k[1], k[2], t)
      if not yes then ok = false end
      if not tightest or k[2] < tightest then tightest, remaining = k[2], left end
    end
    local headers = {}
    if ok then for _, k in ipairs(keys) do take(k[1], t) end end
    if opts.headers and tightest then
      headers["ratelimit-limit"] = tostring(tightest)
      headers["ratelimit-remaining"] = tostring(math.max(0, ok and remaining or 0))
      headers["ratelimit-reset"] = "1"
    end
    if not ok then
      headers["retry-after"] = tostring(opts.retry_after or 1)
      return { status = 429, headers = headers }
    end
    return { status = 200, headers = headers }
  end
  return s
end

--- Runs jobs (a list of methods) through a fresh pacer with `rates` against server `srv`.
-- opts: latency (s, default 0.02), concurrency (default 16), jitter (s: extra latency, spread
-- evenly over the jobs, default 0). Returns { time, refused, sent }.
function M.run(srv, methods, rates, opts)
  opts = opts or {}
  local latency = opts.latency or 0.02
  local concurrency = opts.concurrency or 16
  local clock = { t = 0 }
  local p = pacer_mod.new(rates, function() return clock.t end)
  local queue = {}                     -- { method, ready }
  for i, m in ipairs(methods) do queue[i] = { method = m, ready = 0, n = i } end
  local inflight = {}                  -- { done_at, entry, job }
  local refused, sent, finished = 0, 0, 0
  local last_done = 0
  local jitter_k = 0
  while finished < #methods do
    -- Start what may start now.
    local started = true
    while started and #inflight < concurrency do
      started = false
      local best, bk
      for k, j in ipairs(queue) do
        if j.ready <= clock.t and (not best or j.n < best.n) then best, bk = j, k end
      end
      if best and p:due(best.method) <= clock.t + 1e-12 then
        table.remove(queue, bk)
        local e = p:sent(best.method)
        sent = sent + 1
        jitter_k = jitter_k + 1
        local extra = (opts.jitter or 0) * ((jitter_k * 7919) % 101) / 100
        local arrive = clock.t + latency / 2 + extra
        inflight[#inflight + 1] = { done_at = clock.t + latency + extra, arrive = arrive, entry = e, job = best }
        started = true
      end
    end
    -- The next event: an answer, a job becoming ready, or the pacer's due time.
    local next_t = math.huge
    for _, f in ipairs(inflight) do next_t = math.min(next_t, f.done_at) end
    if #inflight < concurrency then
      local best
      for _, j in ipairs(queue) do
        if not best or j.n < best.n then
          if j.ready <= clock.t then best = j end
        end
      end
      if best then next_t = math.min(next_t, p:due(best.method)) end
      for _, j in ipairs(queue) do if j.ready > clock.t then next_t = math.min(next_t, j.ready) end end
    end
    assert(next_t < math.huge, "simulation stuck")
    clock.t = math.max(clock.t, next_t)
    -- Deliver the answers due now, in order.
    table.sort(inflight, function(a, b) return a.done_at < b.done_at end)
    while inflight[1] and inflight[1].done_at <= clock.t + 1e-12 do
      local f = table.remove(inflight, 1)
      local res = srv.answer(f.job.method, f.arrive)
      p:answered(f.entry, res)
      if res.status == 429 then
        refused = refused + 1
        f.job.ready = clock.t + tonumber(res.headers["retry-after"])
        queue[#queue + 1] = f.job
      else
        finished = finished + 1
        last_done = clock.t
      end
    end
  end
  return { time = last_done, refused = refused, sent = sent, pacer = p }
end

--- A list of n methods: `first` (e.g. one "GET" for a listing) then n of method.
function M.jobs(n, method, first)
  local list = {}
  for _, m in ipairs(first or {}) do list[#list + 1] = m end
  for _ = 1, n do list[#list + 1] = method end
  return list
end

return M
