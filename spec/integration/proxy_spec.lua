-- Proxy variables work as in curl: libcurl reads http_proxy, ALL_PROXY, NO_PROXY and the others
-- itself (astro never sets CURLOPT_PROXY), so the CLI goes through the forward proxy of
-- spec/support/http_proxy.py exactly when curl(1) would.
local h = require("spec.helpers")
local json = require("astro.json")
local sys = require("astro.core.sys")

local ACME = "clt0acme000010bhys38c6ryb"
local TABLE =
  " NAME                   ID                            \n" ..
  "*Acme Data Platform     clt0acme000010bhys38c6ryb     \n" ..
  " Globex                 clu7glbx000020j7zc6npf32j     \n" ..
  " Initech Sandbox        clv2init000030es9qjsmo8nu     \n"
local PROXY_VARS = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                     "ALL_PROXY", "no_proxy", "NO_PROXY" }

local Proxy = {}
Proxy.__index = Proxy

--- The requests the proxy forwarded, decoded from its JSON-lines log, in arrival order.
function Proxy:entries()
  local out = {}
  for _, line in ipairs(h.lines(h.read_file(self.log))) do out[#out + 1] = assert(json.decode(line)) end
  return out
end

--- Empties the log (the proxy reopens it for every entry).
function Proxy:clear() h.write_file(self.log, "") end

--- Stops the proxy process.
function Proxy:stop()
  if self.pid then h.sh("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
end

--- Starts spec/support/http_proxy.py on a free port and waits until it listens. Returns a
-- Proxy with port, url, log (path) and the methods above.
local function start_proxy()
  local dir = h.tmpdir()
  local port_file, log = dir .. "/port", dir .. "/proxy.jsonl"
  local cmd = h.shell_quote(h.python) .. " " .. h.shell_quote(h.root .. "/spec/support/http_proxy.py") ..
              " --port 0 --port-file " .. port_file .. " --log " .. log
  local pid = h.capture(cmd .. " >" .. dir .. "/stderr 2>&1 & echo $!"):gsub("%s+$", "")
  local deadline = sys.now() + 15
  local port
  repeat
    port = (h.read_file(port_file) or ""):match("^%d+")
    if not port then sys.sleep(0.02) end
  until port or sys.now() > deadline
  assert(port, "proxy did not start: " .. (h.read_file(dir .. "/stderr") or ""))
  local proxy = setmetatable({ port = tonumber(port), url = "http://127.0.0.1:" .. port, log = log,
                               pid = pid }, Proxy)
  proxy:clear()
  return proxy
end

--- A port on 127.0.0.1 that nothing listens on: bound by the system, then released.
local function closed_port()
  local out = h.capture(h.shell_quote(h.python) .. [[ -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()']])
  return assert(tonumber(out:match("%d+")))
end

--- The environment for a run: every proxy variable unset (the spec's own environment must not
-- leak in), then those of vars set.
local function proxy_env(vars)
  local env = {}
  for _, k in ipairs(PROXY_VARS) do env[k] = false end
  for k, v in pairs(vars or {}) do env[k] = v end
  return env
end

--- The requests of the sandbox's record, as "METHOD path".
local function origin_requests(sb)
  local out = {}
  for _, r in ipairs(sb:requests()) do out[#out + 1] = r.method .. " " .. r.path end
  return out
end

--- The requests of the proxy's log, as "METHOD url".
local function proxied(proxy)
  local out = {}
  for _, e in ipairs(proxy:entries()) do out[#out + 1] = e.method .. " " .. e.url end
  return out
end

local function assert_one_error_line(stderr)
  local n = 0
  for _ in stderr:gmatch("Error:") do n = n + 1 end
  assert.are.equal(1, n, stderr)
  assert.matches("^Error: ", stderr)
  assert.is_nil(stderr:find("traceback", 1, true), stderr)
  assert.is_nil(stderr:find("%.lua:%d+:"), stderr)
end

-- The sandbox of h.use_sandbox (box.sb, box.home; state reset before each test unless reset =
-- false) and a proxy in front of nothing yet (box.proxy, its log emptied before each test).
local function use_sandbox_and_proxy(opts)
  local box = h.use_sandbox(opts)
  lazy_setup(function() box.proxy = start_proxy() end)
  lazy_teardown(function() box.proxy:stop() end)
  before_each(function() box.proxy:clear() end)
  return box
end

describe("proxy variables", function()
  local box = use_sandbox_and_proxy()
  local list_url

  lazy_setup(function() list_url = box.sb.url .. "/v1/organizations?limit=1000&offset=0" end)

  local function run(args, vars)
    return h.run(args, { home = box.home, env = proxy_env(vars) })
  end

  it("sends organization list through http_proxy and prints the usual table", function()
    local r = run({ "organization", "list" }, { http_proxy = box.proxy.url })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    assert.are.equal("", r.stderr)
    assert.are.same({ "GET " .. list_url }, proxied(box.proxy))
    local reqs = box.sb:requests()
    assert.are.same({ "GET /v1/organizations" }, origin_requests(box.sb))
    assert.are.equal("1.1 http_proxy.py", reqs[1].headers.Via)      -- it came through the proxy
  end)

  it("passes the bearer token to the API through the proxy, never into its log or the output", function()
    local r = run({ "organization", "list" }, { http_proxy = box.proxy.url })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Bearer test-token", box.sb:requests()[1].headers.Authorization)
    local entry = box.proxy:entries()[1]
    assert.is_truthy(entry)
    local names = {}
    for _, n in ipairs(entry.headers) do names[n:lower()] = true end
    assert.is_true(names.authorization)                  -- the header went through the box.proxy...
    assert.is_false(entry.proxy_authorization)
    local log = h.read_file(box.proxy.log)
    assert.is_nil(log:find("test-token", 1, true))       -- ...but its value is nowhere logged
    assert.is_nil(r.stdout:find("test-token", 1, true))
    assert.is_nil(r.stderr:find("test-token", 1, true))
  end)

  it("sends credentials of the proxy URL as Proxy-Authorization and never prints them", function()
    local with_user = "http://proxyuser:proxy-secret@127.0.0.1:" .. box.proxy.port
    local r = run({ "organization", "list" }, { http_proxy = with_user })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    local entries = box.proxy:entries()
    assert.are.equal(1, #entries)
    assert.is_true(entries[1].proxy_authorization)
    assert.is_nil(box.sb:requests()[1].headers["Proxy-Authorization"])   -- hop-by-hop: not forwarded
    assert.is_nil(h.read_file(box.proxy.log):find("proxy-secret", 1, true))
    -- a proxy that cannot be reached: the error names it, not its password
    local dead = "http://proxyuser:proxy-secret@127.0.0.1:" .. closed_port()
    r = run({ "organization", "list" }, { http_proxy = dead })
    assert.are.equal(1, r.code)
    assert.is_nil(r.stderr:find("proxy-secret", 1, true), r.stderr)
    assert.is_nil(r.stdout:find("proxy-secret", 1, true))
  end)

  it("goes direct to hosts listed in NO_PROXY or no_proxy", function()
    for _, var in ipairs({ "NO_PROXY", "no_proxy" }) do
      box.sb:reset_requests()
      local r = run({ "organization", "list" }, { http_proxy = box.proxy.url, [var] = "127.0.0.1" })
      assert.are.equal(0, r.code, var .. ": " .. r.stderr)
      assert.are.equal(TABLE, r.stdout)
      assert.are.same({}, proxied(box.proxy), var)
      local reqs = box.sb:requests()
      assert.are.same({ "GET /v1/organizations" }, origin_requests(box.sb))
      assert.is_nil(reqs[1].headers.Via, var)
    end
    -- NO_PROXY=* turns every proxy off, even a dead one
    local r = run({ "organization", "list" }, { http_proxy = "http://127.0.0.1:" .. closed_port(), NO_PROXY = "*" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({}, proxied(box.proxy))
  end)

  it("ignores upper-case HTTP_PROXY for http:// URLs, as curl does", function()
    local r = run({ "organization", "list" }, { HTTP_PROXY = box.proxy.url })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    assert.are.same({}, proxied(box.proxy))
    assert.is_nil(box.sb:requests()[1].headers.Via)
  end)

  it("uses ALL_PROXY (either case) for http:// URLs, and never HTTPS_PROXY", function()
    for _, var in ipairs({ "ALL_PROXY", "all_proxy" }) do
      box.proxy:clear()
      local r = run({ "organization", "list" }, { [var] = box.proxy.url })
      assert.are.equal(0, r.code, var .. ": " .. r.stderr)
      assert.are.equal(TABLE, r.stdout)
      assert.are.same({ "GET " .. list_url }, proxied(box.proxy), var)
    end
    box.proxy:clear()
    local dead = "http://127.0.0.1:" .. closed_port()
    local r = run({ "organization", "list" }, { HTTPS_PROXY = dead, https_proxy = dead })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({}, proxied(box.proxy))
    -- http_proxy wins over ALL_PROXY
    r = run({ "organization", "list" }, { http_proxy = box.proxy.url, ALL_PROXY = dead })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "GET " .. list_url }, proxied(box.proxy))
  end)

  it("reports a proxy that is down as one Error line with exit 1, in bounded time", function()
    local port = closed_port()
    local t0 = sys.now()
    local r = run({ "organization", "list" }, { http_proxy = "http://127.0.0.1:" .. port })
    local elapsed = sys.now() - t0
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert_one_error_line(r.stderr)
    assert.matches("^Error: cannot connect to Astronomer", r.stderr)
    assert.matches("Details: [^\n]*127%.0%.0%.1 port " .. port, r.stderr)   -- names the proxy
    assert.matches("through the proxy set in http_proxy; check the proxy, or list the API's host in NO_PROXY",
      r.stderr, 1, true)
    -- "connect" failures are retried (nothing was sent): 4 attempts, about 2-3.5 s of backoff
    assert.is_true(elapsed < 10 * h.slack, string.format("took %.2f s", elapsed))
    assert.are.same({}, origin_requests(box.sb))
  end)

  it("sends a mutating command through the proxy exactly once", function()
    local r = run({ "organization", "user", "invite", "someone@example.com" }, { http_proxy = box.proxy.url })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for someone@example.com with role ORGANIZATION_MEMBER created\n", r.stdout)
    assert.are.equal("", r.stderr)
    local invites = box.sb.url .. "/v1/organizations/" .. ACME .. "/invites"
    assert.are.same({ "POST " .. invites }, proxied(box.proxy))
    local reqs = box.sb:requests()
    assert.are.same({ "POST /v1/organizations/" .. ACME .. "/invites" }, origin_requests(box.sb))
    assert.are.equal("1.1 http_proxy.py", reqs[1].headers.Via)
    assert.are.equal('{"inviteeEmail":"someone@example.com","role":"ORGANIZATION_MEMBER"}', reqs[1].body)
    local n = 0
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.username == "someone@example.com" then n = n + 1 end
    end
    assert.are.equal(1, n)
    assert.is_nil(h.read_file(box.proxy.log):find("test-token", 1, true))
  end)
end)

describe("proxy variables with paging", function()
  local box = use_sandbox_and_proxy({ flags = { "--orgs", "2500" }, home = { organization = ACME }, reset = false })

  it("fetches every page through the proxy, reusing its connections", function()
    local r = h.run({ "organization", "list", "--json" },
                    { home = box.home, env = proxy_env({ http_proxy = box.proxy.url }) })
    assert.are.equal(0, r.code, r.stderr)
    local data = assert(json.decode(r.stdout))
    assert.are.equal(#box.sb:state().organizations, #data.organizations)
    local urls, conns, nconns = {}, {}, 0
    for _, e in ipairs(box.proxy:entries()) do
      assert.are.equal("GET", e.method)
      urls[#urls + 1] = e.url
      if not conns[e.connection] then conns[e.connection], nconns = true, nconns + 1 end
    end
    table.sort(urls)
    local base = box.sb.url .. "/v1/organizations?limit=1000&offset="
    assert.are.same({ base .. "0", base .. "1000", base .. "2000" }, urls)
    -- the first page's connection to the proxy is kept alive and used again
    assert.is_true(nconns < #urls, nconns .. " connections for " .. #urls .. " requests")
    for _, req in ipairs(box.sb:requests()) do assert.are.equal("1.1 http_proxy.py", req.headers.Via) end
  end)
end)

describe("the proxy named in transport errors", function()
  lazy_teardown(function() h.cleanup() end)

  -- astro.http.proxy_variable(url) run in a process of its own, with only vars set.
  local function variable(url, vars)
    local dir = h.tmpdir()
    h.write_file(dir .. "/pv.lua", 'io.write(tostring(require("astro.http").proxy_variable(arg[1])))')
    local r = h.run({ "--lua", dir .. "/pv.lua", url }, { env = proxy_env(vars) })
    assert.are.equal(0, r.code, r.stderr)
    return r.stdout
  end

  it("follows curl's choice of variable, and NO_PROXY", function()
    local api = "https://api.astronomer.io/v1/organizations"
    assert.are.equal("nil", variable(api, {}))
    assert.are.equal("https_proxy", variable(api, { https_proxy = "http://p:3128", ALL_PROXY = "http://q:1" }))
    assert.are.equal("HTTPS_PROXY", variable(api, { HTTPS_PROXY = "http://p:3128" }))
    assert.are.equal("ALL_PROXY", variable(api, { ALL_PROXY = "http://p:3128", http_proxy = "http://q:1" }))
    -- only the lower-case http_proxy counts for http://, as in curl
    assert.are.equal("nil", variable("http://127.0.0.1:8080/v1", { HTTP_PROXY = "http://p:3128" }))
    assert.are.equal("http_proxy", variable("http://127.0.0.1:8080/v1", { http_proxy = "http://p:3128" }))
    -- NO_PROXY: "*", the host itself, or a domain it is under (with or without a leading dot)
    for _, np in ipairs({ "*", "api.astronomer.io", "astronomer.io", ".astronomer.io", "x.io, astronomer.io" }) do
      assert.are.equal("nil", variable(api, { HTTPS_PROXY = "http://p:3128", NO_PROXY = np }), np)
      assert.are.equal("nil", variable(api, { HTTPS_PROXY = "http://p:3128", no_proxy = np }), np)
    end
    assert.are.equal("HTTPS_PROXY", variable(api, { HTTPS_PROXY = "http://p:3128", NO_PROXY = "tronomer.io" }))
  end)

  it("is not mentioned when no proxy is used, and never shows the proxy's address or password", function()
    -- A context whose API is a closed port on loopback: the connection fails either way.
    local home = h.tmpdir()
    h.sh("mkdir -p " .. h.shell_quote(home .. "/.astro"))
    h.write_file(home .. "/.astro/config.yaml", table.concat({
      "context: localhost", "contexts:", "  localhost:", "    domain: localhost",
      "    organization: " .. ACME, "    token: Bearer test-token", '    expiresin: "2099-01-01T00:00:00Z"',
      "local:", "  core: http://127.0.0.1:" .. closed_port(), "" }, "\n"))
    h.sh("chmod 600 " .. h.shell_quote(home .. "/.astro/config.yaml"))
    local direct = h.run({ "organization", "list" }, { env = proxy_env(), home = home })
    assert.are.equal(1, direct.code)
    assert.matches("^Error: cannot connect", direct.stderr)
    assert.is_nil(direct.stderr:find("proxy", 1, true), direct.stderr)
    local dead = "http://user:s3cret@127.0.0.1:" .. closed_port()
    local via = h.run({ "organization", "list" }, { env = proxy_env({ http_proxy = dead }), home = home })
    assert.are.equal(1, via.code)
    assert.matches("through the proxy set in http_proxy", via.stderr, 1, true)
    assert.is_nil(via.stderr:find("s3cret", 1, true), via.stderr)
  end)
end)
