-- astro.core.http, the C session over libcurl: requests and runs against the API sandbox
-- and a raw peer (spec/support/http_peer.py) for shapes the sandbox cannot produce, transport
-- failures and their codes, secrets kept out of messages, Retry-After parsing, and misuse.
local h = require("spec.helpers")
local http = require("astro.core.http")
local json = require("astro.json")
local sys = require("astro.core.sys")

local TOKEN = "test-token"
local AUTH = "Bearer " .. TOKEN

--- Starts spec/support/http_peer.py; returns its base URL, pid and the port of its silent
-- listener (accepts, reads, never answers).
local function start_peer()
  local dir = h.tmpdir()
  local port_file = dir .. "/port"
  local pid = h.capture(h.shell_quote(h.python) .. " " .. h.shell_quote(h.root .. "/spec/support/http_peer.py") ..
    " --port-file " .. port_file .. " >" .. dir .. "/log 2>&1 & echo $!"):gsub("%s+$", "")
  local deadline = sys.now() + 15
  local port, silent
  repeat
    port, silent = (h.read_file(port_file) or ""):match("^(%d+) (%d+)")
    if not port then sys.sleep(0.02) end
  until port or sys.now() > deadline
  assert(port, "http peer did not start: " .. (h.read_file(dir .. "/log") or ""))
  return "http://127.0.0.1:" .. port, pid, tonumber(silent)
end

--- A port on 127.0.0.1 where nothing listens (privileged, never bound by the specs).
local function closed_port()
  return 1
end

describe("astro.core.http", function()
  local sb, peer, peer_pid, silent_port

  lazy_setup(function()
    sb = h.sandbox()
    peer, peer_pid, silent_port = start_peer()
  end)

  lazy_teardown(function()
    if sb then sb:stop() end
    if peer_pid then h.sh("kill " .. peer_pid .. " 2>/dev/null") end
    h.cleanup()
  end)

  before_each(function()
    sb:faults({ latency_ms = 0, rate_limits = {}, fail_next = 0, drop_next = 0, malformed_next = 0,
                hang_next = 0 })
    sb:reset_requests()
  end)

  local function orgs_url(offset)
    return sb.url .. "/v1/organizations?limit=1&offset=" .. (offset or 0)
  end

  describe("request", function()
    it("returns the status, lower-cased headers and body of a GET sent with headers", function()
      local s <close> = http.session()
      local res, msg = s:request({ url = orgs_url(), headers = { Authorization = AUTH, ["X-Spec"] = "one" } })
      assert.is_nil(msg)
      assert.are.equal(200, res.status)
      assert.are.equal("application/json", res.headers["content-type"])
      assert.is_string(res.headers["x-request-id"])
      assert.is_nil(res.headers["Content-Type"])
      local body = assert(json.decode(res.body))
      assert.are.equal(1, #body.organizations)
      assert.is_number(res.time)
      local rec = sb:requests()
      assert.are.equal(1, #rec)
      assert.are.equal("GET", rec[1].method)
      assert.are.equal("limit=1&offset=0", rec[1].query)
      assert.are.equal(AUTH, rec[1].headers.Authorization)
      assert.are.equal("one", rec[1].headers["X-Spec"])
      assert.is_nil(rec[1].headers.Expect)
    end)

    it("accepts headers as a list of pairs, in order", function()
      local s <close> = http.session()
      local res = s:request({ url = orgs_url(), headers = { { "Authorization", AUTH }, { "X-Spec", "pairs" } } })
      assert.are.equal(200, res.status)
      assert.are.equal("pairs", sb:requests()[1].headers["X-Spec"])
    end)

    it("returns an HTTP error status as a response, not as a failure", function()
      local s <close> = http.session()
      local res = s:request({ url = orgs_url() })
      assert.are.equal(401, res.status)
      assert.matches("Unauthorized", res.body)
    end)

    it("delivers a POST body byte-exact", function()
      local body = '{"inviteeEmail":"new.person@acme.io","role":"ORGANIZATION_MEMBER",' ..
                   '"note":"tab\\t, crlf\\r\\n, nul \\u0000, é ü 漢字"}' .. string.rep(" ", 70000)
      local org = sb:state().organizations[1].id
      local s <close> = http.session()
      local res = s:request({ method = "POST", url = sb.url .. "/v1/organizations/" .. org .. "/invites",
                              headers = { Authorization = AUTH, ["Content-Type"] = "application/json" },
                              body = body })
      assert.are.equal(400, res.status) -- "note" is not an invite field; the record is what counts
      local rec = sb:requests()[1]
      assert.are.equal("POST", rec.method)
      assert.are.equal(#body, #rec.body)
      assert.are.equal(body, rec.body)
      assert.are.equal("application/json", rec.headers["Content-Type"])
    end)

    it("sends binary bodies as they are, any method, no Expect and no implicit Content-Type", function()
      local s <close> = http.session()
      local bin = {}
      for i = 0, 255 do bin[#bin + 1] = string.char(i) end
      bin = table.concat(bin):rep(4)
      for _, method in ipairs({ "POST", "PUT", "PATCH", "DELETE" }) do
        local res = s:request({ method = method, url = peer .. "/echo", body = bin })
        assert.are.equal(200, res.status)
        assert.are.equal(method, res.headers["x-method"])
        assert.are.equal("-", res.headers["x-expect"])
        assert.are.equal("-", res.headers["x-content-type"])
        assert.are.equal(bin, res.body)
      end
      local res = s:request({ method = "POST", url = peer .. "/echo", body = "",
                              headers = { ["content-type"] = "text/plain" } })
      assert.are.equal("", res.body)
      assert.are.equal("text/plain", res.headers["x-content-type"])
      assert.are.equal("GET", s:request({ url = peer .. "/echo" }).headers["x-method"])
      local head = s:request({ method = "HEAD", url = peer .. "/echo" })
      assert.are.equal(200, head.status)
      assert.are.equal("", head.body)
    end)

    it("joins repeated headers with a comma and keeps only the final response's headers", function()
      local s <close> = http.session()
      local res = s:request({ url = peer .. "/repeat" })
      assert.are.equal("a=1, b=2", res.headers["set-cookie"])
      assert.are.equal("one, two", res.headers["x-multi"])
      assert.are.equal("first second", res.headers["x-folded"])
      res = s:request({ url = peer .. "/continue" })
      assert.are.equal(200, res.status)
      assert.are.equal("yes", res.headers["x-final"])
      assert.is_nil(res.headers["x-interim"])
      assert.are.equal("final", res.body)
    end)

    it("returns a redirect as it is and decodes gzip", function()
      local s <close> = http.session()
      local res = s:request({ url = peer .. "/redirect" })
      assert.are.equal(302, res.status)
      assert.are.equal("/echo", res.headers.location)
      res = s:request({ url = peer .. "/gzip" })
      assert.are.equal(("hello gzip"):rep(100), res.body)
    end)

    it("reuses the connection for a second request on the same session", function()
      local s <close> = http.session()
      local a = s:request({ url = orgs_url(), headers = { Authorization = AUTH } })
      local b = s:request({ url = orgs_url(1), headers = { Authorization = AUTH } })
      assert.are.equal(1, a.new_connections)
      assert.are.equal(0, b.new_connections)
      local other <close> = http.session()
      assert.are.equal(1, other:request({ url = orgs_url() }).new_connections)
    end)
  end)

  --- A next for s:run handing over reqs in order, keyed by their index, then nil.
  local function list_next(reqs)
    local i = 0
    return function()
      if i >= #reqs then return nil end
      i = i + 1
      return i, reqs[i]
    end
  end

  --- Runs reqs on s, concurrency at a time; returns the outcomes by index and run's results.
  local function run_list(s, reqs, concurrency)
    local out = {}
    local ok, why = s:run({ concurrency = concurrency, next = list_next(reqs),
                            on_done = function(i, o) out[i] = o end })
    return out, ok, why
  end

  local function authed(n)
    local reqs = {}
    for i = 1, n do reqs[i] = { url = orgs_url(i - 1), headers = { Authorization = AUTH } } end
    return reqs
  end

  describe("run", function()
    it("starts requests in the order next hands them over, one at a time with concurrency 1", function()
      local s <close> = http.session()
      local reqs, events = authed(4), {}
      local give = list_next(reqs)
      local ok, why = s:run({
        concurrency = 1,
        next = function()
          local k, req = give()
          events[#events + 1] = "next " .. tostring(k)
          return k, req
        end,
        on_done = function(k, o)
          assert.are.equal(200, o.status)
          assert.are.equal(k - 1, json.decode(o.body).offset)
          events[#events + 1] = "done " .. k
        end,
      })
      assert.is_true(ok)
      assert.is_nil(why)
      assert.are.same({ "next 1", "done 1", "next 2", "done 2", "next 3", "done 3", "next 4", "done 4",
                        "next nil" }, events)
      local offsets = {}
      for _, r in ipairs(sb:requests()) do offsets[#offsets + 1] = r.query end
      assert.are.same({ "limit=1&offset=0", "limit=1&offset=1", "limit=1&offset=2", "limit=1&offset=3" },
                      offsets)
    end)

    it("runs at most `concurrency` requests at once, asking next again only after an on_done", function()
      sb:faults({ latency_ms = 100 })
      local s <close> = http.session()
      local give = list_next(authed(8))
      local events, inflight, most, inside = {}, 0, 0, false
      local t0 = sys.now()
      assert.is_true(s:run({
        concurrency = 4,
        next = function()
          assert.is_false(inside, "next called inside a callback")
          inside = true
          local k, req = give()
          events[#events + 1] = "n"
          if k then
            inflight = inflight + 1
            most = math.max(most, inflight)
          end
          inside = false
          return k, req
        end,
        on_done = function(_, o)
          assert.is_false(inside, "on_done called inside a callback")
          assert.are.equal(200, o.status)
          inflight = inflight - 1
          events[#events + 1] = "d"
        end,
      }))
      local elapsed = sys.now() - t0
      assert.are.equal(4, most)
      -- four at the start, then each on_done followed by one next (the last four answer nil)
      assert.are.equal("nnnn" .. ("dn"):rep(8), table.concat(events))
      -- 8 requests, 4 at a time, 100 ms each: two rounds, about 0.2 s; one at a time, 0.8 s
      assert.is_true(elapsed >= 0.19, "too fast for 4 at a time: " .. elapsed)
      assert.is_true(elapsed < math.min(0.6 * h.slack, 0.79), "too slow for 4 at a time: " .. elapsed)
      t0 = sys.now()
      run_list(s, authed(3), 1)
      assert.is_true(sys.now() - t0 >= 0.29, "concurrency 1 ran requests in parallel")
    end)

    it("reuses connections across requests and runs of one session", function()
      local s <close> = http.session()
      assert.are.equal(1, s:request({ url = orgs_url() }).new_connections)
      local reqs = {}
      for i = 1, 6 do reqs[i] = { url = orgs_url(i) } end
      local function opened(out)
        local n = 0
        for _, res in ipairs(out) do n = n + res.new_connections end
        return n
      end
      assert.are.equal(0, opened(run_list(s, reqs, 1)))
      -- With 3 transfers at a time the session never holds more than 3 connections: the one it
      -- had plus at most 2 more, over both runs (how many the first run opens depends on
      -- timing; the second then opens the rest, if any).
      local first = opened(run_list(s, reqs, 3))
      local second = opened(run_list(s, reqs, 3))
      assert.is_true(first + second <= 2, string.format("opened %d then %d", first, second))
    end)

    it("asks again no earlier than the wake time next gave, and not in between", function()
      local s <close> = http.session()
      local t0 = sys.now()
      local calls, at = 0, {}
      assert.is_true(s:run({
        next = function()
          calls = calls + 1
          at[calls] = sys.now()
          if calls == 1 then return nil, t0 + 0.3 end
          if calls == 2 then return "k", { url = orgs_url(), headers = { Authorization = AUTH } } end
          return nil
        end,
        on_done = function(k, o)
          assert.are.equal("k", k)
          assert.are.equal(200, o.status)
        end,
      }))
      -- nil and the time; at the time, the request; nil for the other free slots (asked
      -- right after a start); nil after its on_done
      assert.are.equal(4, calls)
      assert.is_true(at[2] >= t0 + 0.3, "asked again " .. (t0 + 0.3 - at[2]) .. " s early")
      assert.is_true(at[2] < t0 + 0.3 + 0.2 * h.slack, "asked again late: " .. (at[2] - t0))
      assert.are.equal(1, #sb:requests())
    end)

    it("asks again after a transfer ends, before the wake time, and then at it", function()
      sb:faults({ latency_ms = 100 })
      local s <close> = http.session()
      local t0 = sys.now()
      local calls, started = 0, 0
      local wake = t0 + 0.4
      assert.is_true(s:run({
        next = function()
          calls = calls + 1
          if started == 0 or (started == 1 and sys.now() >= wake) then
            started = started + 1
            return started, { url = orgs_url(), headers = { Authorization = AUTH } }
          end
          if started == 1 then return nil, wake end
          return nil
        end,
        on_done = function(_, o) assert.are.equal(200, o.status) end,
      }))
      -- 1 starts; a slot is still free: nil and the time; after 1's on_done (0.1 s): nil and
      -- the time again; at the time, 2 starts; free slot: nil; after 2's on_done: nil. Never
      -- asked in a loop while waiting.
      assert.are.equal(2, started)
      assert.are.equal(6, calls)
      assert.is_true(sys.now() - t0 >= 0.5)
    end)

    it("asks a next that keeps answering a past time about once a millisecond, not in a busy loop", function()
      local s <close> = http.session()
      local t0 = sys.now()
      local calls = 0
      assert.is_true(s:run({
        next = function()
          calls = calls + 1
          if sys.now() - t0 < 0.2 then return nil, t0 - 1 end
          return nil
        end,
        on_done = function() error("nothing was started") end,
      }))
      -- at least 1 ms per turn: at most about 200 calls in 0.2 s (a busy loop makes 10^5)
      assert.is_true(calls <= 300, "asked " .. calls .. " times in 0.2 s")
      assert.is_true(calls >= 20, "asked only " .. calls .. " times in 0.2 s")
    end)

    it("ends when next answers nil with nothing running, and not while a transfer runs", function()
      local s <close> = http.session()
      local calls = 0
      assert.is_true(s:run({ next = function() calls = calls + 1 end, on_done = error }))
      assert.are.equal(1, calls)
      -- nil while request 1 runs (asked for the free slots): asked again once it ends
      local answers = { { 1, { url = orgs_url() } }, {}, { 2, { url = orgs_url(1) } } }
      local done, n = {}, 0
      assert.is_true(s:run({
        next = function()
          n = n + 1
          return table.unpack(answers[n] or {}, 1, 2)
        end,
        on_done = function(k, o) done[#done + 1] = k .. ":" .. o.status end,
      }))
      assert.are.equal(5, n)
      assert.are.same({ "1:401", "2:401" }, done)
      assert.are.equal(0, #run_list(s, {}))
    end)

    it("hands failures to on_done with their code, next to responses", function()
      local s <close> = http.session()
      local out, ok = run_list(s, { { url = orgs_url() }, { url = "http://127.0.0.1:" .. closed_port() .. "/" },
                                    { url = "file:///etc/passwd" },
                                    { url = orgs_url(), headers = { Authorization = AUTH } } })
      assert.is_true(ok)
      assert.are.equal(401, out[1].status)
      assert.are.equal("connect", out[2].code)
      assert.matches("^request to 127%.0%.0%.1:1 failed: ", out[2].error)
      assert.are.equal("other", out[3].code)
      assert.are.equal(200, out[4].status)
    end)

    it("keeps a request's key and strings alive while it runs, whatever the caller does to them", function()
      sb:faults({ latency_ms = 50 })
      local s <close> = http.session()
      local seen = setmetatable({}, { __mode = "k" })
      local i, got, prev = 0, {}, nil
      assert.is_true(s:run({
        concurrency = 3,
        next = function()
          -- the caller changes the request it handed over last (it may still run) and drops it
          if prev then prev.url, prev.headers, prev = nil, nil, nil end
          collectgarbage("collect")
          if i >= 6 then return nil end
          i = i + 1
          local key = { id = i }
          seen[key] = true
          prev = { url = orgs_url(i), headers = { Authorization = AUTH, ["X-Spec"] = "req " .. i } }
          return key, prev
        end,
        on_done = function(key, o)
          collectgarbage("collect")
          got[#got + 1] = key.id
          assert.is_true(seen[key])
          assert.are.equal(200, o.status, o.error)
          assert.are.equal(key.id, json.decode(o.body).offset)
        end,
      }))
      table.sort(got)
      assert.are.same({ 1, 2, 3, 4, 5, 6 }, got)
      collectgarbage("collect")
      assert.is_nil(next(seen), "a key outlived its request")
      for _, r in ipairs(sb:requests()) do
        assert.are.equal("req " .. r.query:match("offset=(%d+)"), r.headers["X-Spec"])
      end
    end)

    it("holds Lua memory bounded by concurrency, not by the number of requests", function()
      local s <close> = http.session()
      local n = 20000
      local i, ok200, base, last = 0, 0, nil, nil
      assert.is_true(s:run({
        concurrency = 8,
        next = function()
          if i >= n then return nil end
          i = i + 1
          -- measured while the run runs: what it holds is freed with it once it returns
          if i == 2000 or i == n then
            collectgarbage("collect")
            if i == 2000 then base = collectgarbage("count") else last = collectgarbage("count") end
          end
          -- every request brings strings and a key of its own
          return { id = i }, { method = "POST", url = peer .. "/echo", body = "request body " .. i,
                               headers = { ["X-N"] = "value " .. i } }
        end,
        on_done = function(key, o)
          if o.status == 200 and o.body == "request body " .. key.id then ok200 = ok200 + 1 end
        end,
      }))
      assert.are.equal(n, ok200)
      local grown = last - base
      -- 18,000 more requests: anything kept per request (its key table, its url and body
      -- strings: > 100 bytes) would add well over 1.5 MB
      assert.is_true(grown < 200, string.format("Lua memory grew by %.0f KB", grown))
    end)

    it("refuses a next that answers anything but key and request, nil and a time, or nil", function()
      local s <close> = http.session()
      local function bad(a, b)
        local ok, err = pcall(s.run, s, { next = function() return a, b end, on_done = error })
        assert.is_false(ok)
        return err
      end
      local prefix = "bad result from next: a key and a request table, nil and a time %(sys%.now%(%) seconds%), " ..
        "or nil expected, got "
      assert.matches(prefix .. "nil and string$", bad(nil, "soon"))
      assert.matches(prefix .. "nil and NaN$", bad(nil, 0 / 0))
      assert.matches(prefix .. "string and nil$", bad(orgs_url()))
      assert.matches(prefix .. "number and string$", bad(1, orgs_url()))
      assert.are.equal(200, s:request({ url = orgs_url(), headers = { Authorization = AUTH } }).status)
      assert.are.equal(1, #sb:requests())
    end)

    it("raises for a bad request from next, even while others run, and leaves the session usable", function()
      sb:faults({ latency_ms = 200 })
      local s <close> = http.session()
      local answers = { { 1, { url = orgs_url() } }, { 2, { url = orgs_url(), timeout = "5" } } }
      local n, done = 0, 0
      local t0 = sys.now()
      local ok, err = pcall(s.run, s, {
        concurrency = 2,
        next = function()
          n = n + 1
          return table.unpack(answers[n] or {}, 1, 2)
        end,
        on_done = function() done = done + 1 end,
      })
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'run' (request 2 from next: field 'timeout' must be a number of seconds, got string)",
                     err, 1, true)
      assert.are.equal(0, done)
      assert.is_true(sys.now() - t0 < 0.15, "waited for the running transfer")
      sb:faults({ latency_ms = 0 })
      assert.are.equal(200, s:request({ url = orgs_url(), headers = { Authorization = AUTH } }).status)
      ok, err = pcall(s.run, s, { next = function() return 1, { url = orgs_url(), uri = "x" } end, on_done = error })
      assert.is_false(ok)
      assert.matches("(request 1 from next: unknown field 'uri')", err, 1, true)
      local out = run_list(s, authed(2), 2)
      assert.are.equal(200, out[2].status)
    end)

    it("propagates an error raised in on_done or next once the running transfers are cleaned up", function()
      sb:faults({ latency_ms = 150 })
      local s <close> = http.session()
      local t0 = sys.now()
      local ok, err = pcall(s.run, s, {
        concurrency = 3,
        next = list_next(authed(6)),
        on_done = function(k) error({ boom = k }) end,
      })
      assert.is_false(ok)
      assert.is_number(err.boom)                        -- the error value itself, not a copy
      assert.is_true(sys.now() - t0 < 0.15 + 0.1 * h.slack, "waited for the other transfers")
      local n = 0
      ok, err = pcall(s.run, s, {
        concurrency = 2,
        next = function()
          n = n + 1
          if n == 3 then error("next failed") end
          return n, { url = orgs_url(), headers = { Authorization = AUTH } }
        end,
        on_done = function() end,
      })
      assert.is_false(ok)
      assert.matches("next failed", err, 1, true)
      -- the session is idle again: not busy, no transfer left in its multi handle
      sb:faults({ latency_ms = 0 })
      local out, done_ok = run_list(s, authed(4), 4)
      assert.is_true(done_ok)
      for i = 1, 4 do assert.are.equal(200, out[i].status) end
      -- using the session from inside its own run raises; the run ends with that error
      ok, err = pcall(s.run, s, { next = list_next(authed(1)),
                                  on_done = function() s:request({ url = orgs_url() }) end })
      assert.is_false(ok)
      assert.matches("session is busy", err, 1, true)
      assert.are.equal(200, s:request({ url = orgs_url(), headers = { Authorization = AUTH } }).status)
    end)
  end)

  describe("transport failures", function()
    it("reports a refused connection as connect, naming host and port", function()
      local s <close> = http.session()
      local res, msg, code = s:request({ url = "http://127.0.0.1:" .. closed_port() .. "/v1/x?token=abc" })
      assert.is_nil(res)
      assert.are.equal("connect", code)
      assert.matches("^request to 127%.0%.0%.1:1 failed: ", msg)
      assert.not_matches("token=abc", msg, 1, true)
    end)

    it("reports an unknown host as connect", function()
      local s <close> = http.session()
      local _, msg, code = s:request({ url = "http://no-such-host.invalid:8871/" })
      assert.are.equal("connect", code)
      assert.matches("no-such-host.invalid:8871", msg, 1, true)
    end)

    it("times out promptly on a server that never answers", function()
      sb:faults({ hang_next = 1 })
      local s <close> = http.session()
      local t0 = sys.now()
      local res, msg, code = s:request({ url = orgs_url(), timeout = 0.3 })
      local elapsed = sys.now() - t0
      assert.is_nil(res)
      assert.are.equal("timeout", code, msg)
      assert.is_true(elapsed >= 0.29 and elapsed < 1.5, "took " .. elapsed)
      assert.matches("127.0.0.1:" .. sb.port, msg, 1, true)
    end)

    it("reports a timeout before anything was sent (a stalled TLS handshake) as connect", function()
      local s <close> = http.session()
      local t0 = sys.now()
      local _, msg, code = s:request({ url = "https://127.0.0.1:" .. silent_port .. "/", timeout = 0.3 })
      assert.are.equal("connect", code, msg)
      assert.is_true(sys.now() - t0 < 1.5)
      _, msg, code = s:request({ url = "http://127.0.0.1:" .. silent_port .. "/", timeout = 0.3 })
      assert.are.equal("timeout", code, msg)
      _, msg, code = s:request({ url = "https://127.0.0.1:" .. silent_port .. "/", connect_timeout = 0.3 })
      assert.are.equal("connect", code, msg)
    end)

    it("reports a connection closed without an answer, or a truncated body, as recv", function()
      sb:faults({ drop_next = 1 })
      local s <close> = http.session()
      local res, msg, code = s:request({ url = orgs_url() })
      assert.is_nil(res)
      assert.are.equal("recv", code, msg)
      local _, msg2, code2 = s:request({ url = peer .. "/truncated" })
      assert.are.equal("recv", code2, msg2)
      assert.are.equal(200, s:request({ url = orgs_url(), headers = { Authorization = AUTH } }).status)
    end)

    it("reports a TLS failure (an https URL on a plain HTTP server) as tls", function()
      local s <close> = http.session()
      local res, msg, code = s:request({ url = "https://127.0.0.1:" .. sb.port .. "/", timeout = 5 })
      assert.is_nil(res)
      assert.are.equal("tls", code, msg)
    end)

    it("refuses a body larger than max_body with too_large", function()
      local s <close> = http.session()
      local _, msg, code = s:request({ url = peer .. "/big", max_body = 1000 })
      assert.are.equal("too_large", code)
      assert.matches("max_body (1000 bytes)", msg, 1, true)
      assert.are.equal(1024 * 1024, #s:request({ url = peer .. "/big", max_body = 1024 * 1024 }).body)
    end)

    it("refuses schemes other than http and https", function()
      local s <close> = http.session()
      local res, _, code = s:request({ url = "file:///etc/passwd" })
      assert.is_nil(res)
      assert.are.equal("other", code)
    end)

    it("never puts the Authorization value into a message", function()
      local secret = "Bearer sEcReT-9f8e7d6c5b4a"
      local headers = { Authorization = secret }
      sb:faults({ hang_next = 1, drop_next = 1 })
      local s <close> = http.session()
      local messages = {}
      local function note(_, msg) messages[#messages + 1] = msg end
      note(s:request({ url = "http://127.0.0.1:" .. closed_port() .. "/", headers = headers }))
      note(s:request({ url = orgs_url(), headers = headers }))                  -- dropped
      note(s:request({ url = orgs_url(), headers = headers, timeout = 0.2 }))   -- hangs
      note(s:request({ url = peer .. "/big", headers = headers, max_body = 10 }))
      note(s:request({ url = "ftp://127.0.0.1/", headers = headers }))
      note(s:request({ url = "http://[::1", headers = headers }))
      s:run({ next = list_next({ { url = "http://127.0.0.1:1/", headers = headers } }),
              on_done = function(_, r) messages[#messages + 1] = r.error end })
      for _, bad in ipairs({ { Authorization = secret .. "\r\nX-Injected: 1" }, { [secret] = "x" },
                             { { "Authorization", secret .. "\n" } } }) do
        local ok, err = pcall(s.request, s, { url = orgs_url(), headers = bad })
        assert.is_false(ok)
        messages[#messages + 1] = err
      end
      assert.are.equal(10, #messages)
      for _, msg in ipairs(messages) do
        assert.is_string(msg)
        assert.not_matches("sEcReT", msg, 1, true)
      end
    end)
  end)

  describe("interrupts", function()
    it("stops a run promptly on SIGINT, not asking next again, and leaves the session closable", function()
      sb:faults({ hang_next = 3 })
      local dir = h.tmpdir()
      h.write_file(dir .. "/child.lua", [[
        local http = require("astro.core.http")
        local s = http.session()
        local url = ...
        io.stdout:setvbuf("no")
        print("started")
        local asked = 0
        local ok, why = s:run({
          concurrency = 2,
          next = function()
            asked = asked + 1
            return asked, { url = url }
          end,
          on_done = function(_, r) print(r.code, r.error) end,
        })
        print("run", ok, why, asked)
        local _, _, code = s:request({ url = url })
        print("after", code, tostring(s))
        s:close()
        print(tostring(s))
      ]])
      local t0 = sys.now()
      local cmd = string.format("%s --lua %s %s >%s/out 2>%s/err & pid=$!; sleep 0.5; kill -INT $pid; wait $pid",
        h.shell_quote(h.astro), h.shell_quote(dir .. "/child.lua"), h.shell_quote(orgs_url()), dir, dir)
      local code = h.sh(cmd)
      local elapsed = sys.now() - t0
      local out = h.read_file(dir .. "/out")
      assert.are.equal(130, code, out .. (h.read_file(dir .. "/err") or ""))
      assert.is_true(elapsed < 1.5, "took " .. elapsed)
      local lines = h.lines(out)
      assert.are.equal("started", lines[1])
      for i = 2, 3 do assert.matches("^interrupted\trequest to 127%.0%.0%.1:%d+ interrupted$", lines[i]) end
      assert.are.equal("run\tfalse\tinterrupted\t2", lines[4])
      assert.are.equal("after\tinterrupted\tastro.http.Session (open)", lines[5])
      assert.are.equal("astro.http.Session (closed)", lines[6])
    end)
  end)

  describe("parse_retry_after", function()
    local now = 784111777 -- Sun, 06 Nov 1994 08:49:37 GMT

    it("reads delta-seconds", function()
      assert.are.equal(120, http.parse_retry_after("120", now))
      assert.are.equal(0, http.parse_retry_after("0", now))
      assert.are.equal(5, http.parse_retry_after(" 5\t", now))
      assert.are.equal(86400, http.parse_retry_after("86400", now))
    end)

    it("reads the three HTTP-date forms relative to now", function()
      assert.are.equal(30, http.parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now))
      assert.are.equal(30, http.parse_retry_after("Sunday, 06-Nov-94 08:50:07 GMT", now))
      assert.are.equal(30, http.parse_retry_after("Sun Nov  6 08:50:07 1994", now))
      assert.are.equal(0.5, http.parse_retry_after("Sun, 06 Nov 1994 08:49:38 GMT", now + 0.5))
      assert.are.equal(3600, http.parse_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", now))
    end)

    it("gives 0 for a date in the past", function()
      assert.are.equal(0, http.parse_retry_after("Sun, 06 Nov 1994 08:49:36 GMT", now))
      assert.are.equal(0, http.parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now))
      assert.are.equal(0, http.parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", os.time()))
    end)

    it("gives nil for garbage, negative and absurd values", function()
      for _, v in ipairs({ "", " ", "soon", "-5", "+5", "1.5", "12abc", "86401", "99999999999999999999",
                           "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
                           "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                           "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
                           "Sun, 08 Nov 1994 08:49:37 GMT" }) do
        assert.is_nil(http.parse_retry_after(v, now), v)
      end
      assert.is_nil(http.parse_retry_after(nil, now))
    end)
  end)

  describe("misuse", function()
    local s
    before_each(function() s = http.session() end)
    after_each(function() s:close() end)

    local function raises(pattern, f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      assert.matches(pattern, err, 1, true)
    end

    it("raises for a request without url, with an unknown field or a wrong type", function()
      raises("field 'url' is required", s.request, s, {})
      raises("unknown field 'uri'", s.request, s, { url = orgs_url(), uri = "x" })
      raises("field 'timeout' must be a number", s.request, s, { url = orgs_url(), timeout = "5" })
      raises("field 'body' must be a string", s.request, s, { url = orgs_url(), body = {} })
      raises("field 'headers' must be a table", s.request, s, { url = orgs_url(), headers = "x" })
      raises("invalid header name", s.request, s, { url = orgs_url(), headers = { ["Bad Name"] = "x" } })
      raises("field 'method' is not an HTTP method", s.request, s, { url = orgs_url(), method = "GET /x" })
      raises("field 'max_body' must be an integer", s.request, s, { url = orgs_url(), max_body = -1 })
      raises("table expected, got no value", s.request, s)
    end)

    it("raises for bad run options before asking next", function()
      local asked = 0
      local function nxt() asked = asked + 1 end
      raises("bad argument #1 to 'run' (field 'concurrency' must be an integer from 1 to 256)", s.run, s,
             { next = nxt, on_done = print, concurrency = 0 })
      raises("integer from 1 to 256", s.run, s, { next = nxt, on_done = print, concurrency = 257 })
      raises("integer from 1 to 256", s.run, s, { next = nxt, on_done = print, concurrency = 1.5 })
      raises("bad argument #1 to 'run' (unknown field 'parallel')", s.run, s,
             { next = nxt, on_done = print, parallel = 2 })
      raises("bad argument #1 to 'run' (unknown field 'before_start')", s.run, s,
             { next = nxt, on_done = print, before_start = nxt })
      raises("option 'next' must be a function", s.run, s, { on_done = print })
      raises("option 'on_done' must be a function", s.run, s, { next = nxt, on_done = 3 })
      raises("table expected, got no value", s.run, s)
      assert.is_nil(s.batch)
      assert.are.equal(0, asked)
      assert.are.equal(0, #sb:requests())
      assert.is_true(s:run({ next = nxt, on_done = print }))
    end)

    it("waits for a request's start_at before sending it", function()
      local t0 = sys.now()
      assert.are.equal(200, s:request({ url = orgs_url(), headers = { Authorization = AUTH },
                                        start_at = t0 + 0.2 }).status)
      assert.is_true(sys.now() - t0 >= 0.2)
      raises("field 'start_at' must be a number", s.request, s, { url = orgs_url(), start_at = "soon" })
    end)

    it("raises for bad session options", function()
      raises("unknown field 'max_conns'", http.session, { max_conns = 2 })
      raises("field 'max_connections' must be an integer", http.session, { max_connections = 0 })
      raises("field 'user_agent' must be a string", http.session, { user_agent = 1 })
      local ok = http.session({ max_connections = 2, user_agent = "spec/1.0" })
      ok:close()
    end)

    it("raises when a closed session is used; closing again is harmless", function()
      assert.are.equal("astro.http.Session (open)", tostring(s))
      s:close()
      s:close()
      assert.are.equal("astro.http.Session (closed)", tostring(s))
      raises("attempt to use a closed session", s.request, s, { url = orgs_url() })
      raises("attempt to use a closed session", s.run, s, { next = print, on_done = print })
    end)

    it("closes a session bound with <close> at the end of its scope", function()
      local ref
      do
        local c <close> = http.session()
        ref = c
        assert.are.equal(401, c:request({ url = orgs_url() }).status)
      end
      assert.are.equal("astro.http.Session (closed)", tostring(ref))
      raises("attempt to use a closed session", ref.request, ref, { url = orgs_url() })
    end)
  end)

  it("tells libcurl's version", function()
    assert.matches("^libcurl/7%.", http.version())
  end)
end)
