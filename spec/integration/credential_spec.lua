-- The credential stays home: it is sent only to the current context's API origin (and the
-- refresh token only to the auth origin of an Astro domain), never to a server a script, a
-- config value or an API answer names; a refreshed token is checked before it is saved; a
-- secret that a server echoes back is redacted from errors and traces. "Elsewhere" is a second
-- sandbox that records everything it receives and must receive nothing.
local h = require("spec.helpers")

local ACME = h.ids.ACME

describe("the credential", function()
  local box = h.use_sandbox()
  local other

  lazy_setup(function() other = h.sandbox({ "--accept-any-token" }) end)
  lazy_teardown(function() if other then other:stop() end end)
  before_each(function() other:control("POST", "/_sandbox/reset") end)

  -- Runs a Lua script with astro run against the shared home.
  local function script(text, args, opts)
    local path = box.file("s.lua", text)
    local full = { "run", path }
    for _, a in ipairs(args or {}) do full[#full + 1] = a end
    return box.run(full, opts)
  end

  local function nothing_elsewhere()
    assert.are.same({}, h.trace(other:requests()))
  end

  describe("cannot be aimed elsewhere by a script", function()
    it("which cannot change the default client's base_url", function()
      local r = script('local c = assert(astro.client())\nc.base_url = "' .. other.url .. '/v1"\n' ..
                       'assert(astro.users.list())\n')
      assert.are.equal(1, r.code)
      assert.matches("^Error: .*astro client fields are read%-only %(base_url%)", r.stderr)
      nothing_elsewhere()
      assert.are.same({}, h.trace(box.sb:requests()))
      h.no_secret(r)
    end)

    it("whose rawset on the client changes nothing that is sent", function()
      local r = script('local c = assert(astro.client())\nrawset(c, "base_url", "' .. other.url .. '/v1")\n' ..
                       'rawset(c, "dry_run", false)\nprint(#assert(astro.users.list()))\n')
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("3\n", r.stdout)
      nothing_elsewhere()
      assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, h.trace(box.sb:requests()))
    end)

    it("through a path that names another host", function()
      local r = script('local ok, err = astro.request("GET", "@127.0.0.1:' .. other.port .. '/v1/organizations")\n' ..
                       'print(ok and "ok" or err.message)\n')
      assert.are.equal(0, r.code, r.stderr)
      nothing_elsewhere()
    end)

    it("through an Authorization header of its own", function()
      local r = script('assert(astro.request("GET", "/organizations", { headers = { authorization = "Bearer x" } }))\n')
      assert.are.equal(1, r.code)
      assert.matches("cannot set Authorization", r.stderr)
      assert.are.same({}, h.trace(box.sb:requests()))
    end)

    it("with a client of its own, which carries only the credential it was given", function()
      local r = script('astro.use(astro.new_client({ base_url = "' .. other.url .. '/v1", organization = "' .. ACME ..
                       '" }))\nlocal ok, err = astro.users.list()\nprint(ok and "ok" or err.message)\n')
      assert.are.equal(0, r.code, r.stderr)
      local seen = other:requests()
      assert.are.equal(1, #seen)
      for name, value in pairs(seen[1].headers) do
        assert.is_nil(value:find("test-token", 1, true), name)
      end
    end)
  end)

  describe("is never sent to a domain that only contains localhost", function()
    -- A home whose current context is domain d, with plain http so a proxy would see the
    -- request in clear; every request of the run goes through `other` as a proxy.
    local function proxied_run(d, env, current)
      local home = box.sb:home()
      local key = d:gsub("%.", "_")
      h.write_file(home .. "/.astro/config.yaml", table.concat({
        "context: " .. (current or d), "contexts:", "  " .. key .. ":", "    domain: " .. d,
        '    expiresin: "2099-01-01T00:00:00Z"', "    organization: " .. ACME, "    token: Bearer test-token",
        "local:", "  core: " .. box.sb.url, "  platform: cloud", "cloud:", "  api:", "    protocol: http", "" }, "\n"))
      local e = h.merged({ ALL_PROXY = other.url, all_proxy = other.url, http_proxy = other.url,
                           NO_PROXY = false, no_proxy = false }, env or {})
      return box.run({ "organization", "list" }, { home = home, env = e })
    end

    for _, d in ipairs({ "localhost.evil.test", "evil-localhost.test", "localhost-astronomer.io" }) do
      it(d, function()
        local r = proxied_run(d)
        assert.are.equal(1, r.code)
        assert.matches('^Error: the current context "' .. d:gsub("%p", "%%%0") .. '" is not an Astro context', r.stderr)
        nothing_elsewhere()
        h.no_secret(r)
      end)
    end

    it("named by ASTRO_DOMAIN", function()
      local r = proxied_run("localhost.evil.test", { ASTRO_DOMAIN = "localhost.evil.test" }, "astronomer.io")
      assert.are.equal(1, r.code)
      assert.matches('is not an Astro context', r.stderr)
      nothing_elsewhere()
    end)
  end)

  describe("refresh", function()
    local function expired_home()
      return box.sb:home({ expiresin = "2020-01-01T00:00:00Z" })
    end

    local function refused(domain_url, why)
      local home = expired_home()
      local before = h.read_file(home .. "/.astro/config.yaml")
      box.sb:faults({ auth_domain_url = domain_url })
      local r = box.run({ "organization", "list" }, { home = home })
      assert.are.equal(1, r.code)
      assert.matches("^Error: cannot refresh your login token: the auth configuration names ", r.stderr)
      assert.matches(why, r.stderr, 1, true)
      assert.are.equal("", r.stdout)
      assert.are.equal(before, h.read_file(home .. "/.astro/config.yaml"))
      assert.are.same({}, h.recorded(box.sb, { path = "/oauth/token" }))
      nothing_elsewhere()
      h.no_secret(r)
    end

    it("posts the refresh token to no origin but the API's, for the localhost context", function()
      refused(other.url .. "/", "it is not the origin of local.core")
      refused("https://127.0.0.1:" .. box.sb.port .. "/", "it is not the origin of local.core")
      refused("file:///etc/passwd", "it is not an http(s) URL")
    end)

    it("still works against the API's own origin", function()
      local home = expired_home()
      local r = box.run({ "organization", "list" }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(1, #h.recorded(box.sb, { path = "/oauth/token" }))
      assert.matches('\n    token: "?Bearer ey', h.read_file(home .. "/.astro/config.yaml"))
    end)

    local BAD = {
      ["a token with a line break"] = { access_token = "abcdefgh\nverbosity: debug", expires_in = 3600 },
      ["a token with spaces"] = { access_token = "abc def ghi jkl", expires_in = 3600 },
      ["an empty token"] = { access_token = "", expires_in = 3600 },
      ["a token that is not a string"] = { access_token = { a = 1 }, expires_in = 3600 },
      ["a refresh token with a line break"] = { access_token = "abcdefghijkl", refresh_token = "x\ny: z" },
    }
    for what, answer in pairs(BAD) do
      it("saves nothing when the token endpoint answers " .. what, function()
        local home = expired_home()
        local before = h.read_file(home .. "/.astro/config.yaml")
        box.sb:faults({ token_answer = answer })
        local r = box.run({ "organization", "list" }, { home = home })
        assert.are.equal(1, r.code)
        assert.matches("^Error: your login ", r.stderr)
        assert.matches("run astro login again\n$", r.stderr)
        assert.are.equal(before, h.read_file(home .. "/.astro/config.yaml"))
        assert.are.same({}, h.recorded(box.sb, { prefix = "/v1" }))
      end)
    end
  end)

  describe("echoed by a server", function()
    it("is redacted from the Error: line and the debug trace", function()
      local home = box.sb:home({ token = "CANARYechoed0123456789" })
      box.sb:faults({ echo_token = true })
      for _, extra in ipairs({ {}, { "--verbosity", "debug" } }) do
        local args = { "organization", "user", "list", table.unpack(extra) }
        local r = box.run(args, { home = home, env = { ASTRO_DEBUG = extra[1] and "1" or false } })
        assert.are.equal(1, r.code)
        assert.matches("Error: Unauthorized %(token: <redacted>%)\n$", r.stderr)
        h.no_secret(r, { "CANARYechoed0123456789" })
      end
    end)

    it("is redacted from a row's message in a --file report", function()
      box.sb:faults({ echo_token = true, fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
      local people = box.file("p.csv", "email\nnew.person@acme.io\n")
      local report = box.dir .. "/report.csv"
      local r = box.run({ "organization", "user", "invite", "--file", people, "--json", "--report", report })
      assert.are.equal(1, r.code)
      assert.matches("Internal Server Error %(token: <redacted>%)", r.stdout)
      h.no_secret(r)
      h.no_secret(h.read_file(report), nil, "report")
    end)
  end)
end)
