-- No secret escapes: every command and shipped example, plain, with --verbosity debug and with
-- ASTRO_DEBUG=1, succeeding and failing (a 500), runs with canary credentials (a login token, a
-- refresh token, an expired login token that gets refreshed, an ASTRO_API_TOKEN JWT); no canary
-- may appear on stdout, stderr (the debug trace included) or in a report file, and the trace
-- shows the Authorization header as <redacted>.
local h = require("spec.helpers")
local jwt = require("spec.support.jwt")
local config = require("astro.core.config")
local json_null = require("astro.json").null

local ACME = h.ids.ACME
local GLOBEX = h.ids.GLOBEX

--- A canary unique to this run: prefix plus 16 random hex digits.
local function canary(prefix)
  return prefix .. h.capture("head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n'")
end

local TOKEN = canary("CANARYtoken")           -- the context's login token
local REFRESH = canary("CANARYrefresh")       -- the context's refresh token
local EXPIRED = canary("CANARYexpired")       -- an expired login token (refreshed before use)
local CLAIM = canary("CANARYclaim")
local API = jwt.make({ exp = os.time() + 3600, apiTokenId = "tokcanary", sub = CLAIM,
                       permissions = { "organizationId:" .. ACME } })
local API_PAYLOAD = API:match("^[^.]+%.([^.]+)%.")

describe("no secret escapes", function()
  local box = h.use_sandbox({ flags = { "--token", TOKEN, "--token", API, "--refresh-token", REFRESH }, home = false })
  local dir

  lazy_setup(function() dir = h.tmpdir() end)

  local CREDENTIALS = {
    config = function() return box.sb:home({ organization = ACME, token = TOKEN, refreshtoken = REFRESH }), {} end,
    refresh = function()
      return box.sb:home({ organization = ACME, token = EXPIRED, refreshtoken = REFRESH,
                       expiresin = "2020-01-01T00:00:00Z" }), {}
    end,
    api_token = function()
      return box.sb:home({ organization = ACME, token = TOKEN, refreshtoken = REFRESH }), { ASTRO_API_TOKEN = API }
    end,
  }

  local n = 0
  --- A fresh file in dir with the given text; returns its path.
  local function file(name, text)
    n = n + 1
    local path = dir .. "/" .. n .. "-" .. name
    h.write_file(path, text)
    return path
  end

  -- Each command: a name, a function returning the arguments (before global flags are added)
  -- and the report files it writes; ok_code when a row is invalid on purpose (its message goes
  -- into the report too), quiet when it sends no request (and so prints no trace).
  local COMMANDS = {
    { "organization list", function() return { "organization", "list" } end },
    { "organization switch", function() return { "organization", "switch", GLOBEX } end },
    { "user list --json", function() return { "organization", "user", "list", "--json" } end },
    { "user list -o csv", function() return { "organization", "user", "list", "-o", "csv" } end },
    { "role list -i --json", function() return { "organization", "role", "list", "-i", "--json" } end },
    { "audit-logs export", function()
        n = n + 1
        return { "organization", "audit-logs", "export", "-o", dir .. "/" .. n .. "-logs.gz" }
      end },
    { "user invite", function()
        n = n + 1
        return { "organization", "user", "invite", "canary" .. n .. "@acme.io", "--role", "ORGANIZATION_MEMBER" }
      end },
    { "user update", function()
        return { "organization", "user", "update", "raj.patel@acme.io", "--role", "ORGANIZATION_BILLING_ADMIN" }
      end },
    { "user invite --file --report", function()
        local report = dir .. "/" .. n .. "-invite-report.csv"
        return { "organization", "user", "invite", "--file",
                 file("people.csv", "email,role\nnew" .. n .. "@acme.io,ORGANIZATION_MEMBER\nbad-email,\n" ..
                      "raj.patel@acme.io,ORGANIZATION_MEMBER\n"), "--report", report }, { report }
      end, ok_code = 1 },
    { "user update --file --report", function()
        local report = dir .. "/" .. n .. "-update-report.csv"
        return { "organization", "user", "update", "--file",
                 file("roles.csv", "email,role\nmei.lin@acme.io,ORGANIZATION_OWNER\nnobody@acme.io,ORGANIZATION_MEMBER\n"),
                 "--report", report }, { report }
      end, ok_code = 1 },
    { "token create", function()
        n = n + 1
        return { "organization", "token", "create", "--name", "canary" .. n, "--role", "ORGANIZATION_MEMBER" }
      end },
    { "token rotate", function()
        return { "organization", "token", "rotate", "clotokci00010r7u4hqw74ajw", "--force" }
      end },
    { "run examples/bulk_invite.lua", function()
        return { "run", h.root .. "/examples/bulk_invite.lua",
                 file("people.csv", "email,role\nbulk" .. n .. "@acme.io,\nbad-email,\n") }
      end, ok_code = 1 },
    { "run examples/role_audit.lua --csv", function()
        return { "run", h.root .. "/examples/role_audit.lua", "--csv" }
      end },
    { "run examples/reconcile_roles.lua --apply", function()
        return { "run", h.root .. "/examples/reconcile_roles.lua",
                 file("roles.csv", "email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\n"), "--apply" }
      end },
    { "plugin list", function() return { "plugin", "list" } end, quiet = true },
  }

  --- Adds --verbosity debug where the command takes it (astro run: before FILE).
  local function with_debug_flag(args)
    local out = {}
    for i, a in ipairs(args) do
      out[#out + 1] = a
      if (args[1] == "run" and i == 1) or (args[1] ~= "run" and i == #args) then
        out[#out + 1] = "--verbosity"
        out[#out + 1] = "debug"
      end
    end
    return out
  end

  --- Fails when any secret (or a recognisable piece of one) is in text.
  local function no_secret(text, secrets, where)
    for _, s in ipairs(secrets) do
      assert.is_nil((text or ""):find(s, 1, true), where .. " shows a secret: " .. s)
    end
  end

  it("stays home when the auth configuration names a foreign token endpoint", function()
    local other = h.sandbox({ "--accept-any-token" })
    local home = CREDENTIALS.refresh()
    box.sb:faults({ auth_domain_url = other.url .. "/" })
    local r = h.run({ "organization", "list", "--verbosity", "debug" }, { home = home })
    box.sb:faults({ auth_domain_url = json_null })
    local seen = other:requests()
    other:stop()
    assert.are.equal(1, r.code)
    assert.are.same({}, seen)
    no_secret(r.stdout .. r.stderr, { TOKEN, REFRESH, EXPIRED }, "a refresh refused")
  end)

  it("is out of a script's reach through the client", function()
    local path = file("probe.lua", [[
local c = assert(astro.client())
local seen = {}
for k, v in pairs(c) do seen[#seen + 1] = tostring(k) .. "=" .. tostring(v) end
for _, k in ipairs({ "base_url", "organization", "domain", "source", "dry_run", "authorization", "token",
                     "_headers", "headers", "secret", "auth" }) do
  seen[#seen + 1] = k .. "=" .. tostring(c[k])
end
for k, v in pairs(c.context or {}) do seen[#seen + 1] = "context." .. k .. "=" .. tostring(v) end
print(table.concat(seen, "\n"))
print(pcall(getmetatable, c))
print(pcall(function() return astro.request("GET", "/organizations", { headers = { Authorization = "x" } }) end))
]])
    for _, cred in ipairs({ "config", "api_token" }) do
      local home, env = CREDENTIALS[cred]()
      local r = h.run({ "run", path }, { home = home, env = env })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("base_url=http://127%.0%.0%.1", r.stdout)
      no_secret(r.stdout .. r.stderr, { TOKEN, REFRESH, EXPIRED, API, API_PAYLOAD, CLAIM }, "a probing script")
    end
  end)

  for _, cred in ipairs({ "config", "refresh", "api_token" }) do
    for _, cmd in ipairs(COMMANDS) do
      it(cmd[1] .. " with the " .. cred .. " credential, plain and debug, succeeding and failing", function()
        local runs = 0
        for _, mode in ipairs({ "plain", "flag", "env" }) do
          for _, fault in ipairs({ false, true }) do
            local home, env = CREDENTIALS[cred]()
            local args, reports = cmd[2]()
            if mode == "flag" then args = with_debug_flag(args) end
            if mode == "env" then env.ASTRO_DEBUG = "1" end
            -- The failing answer echoes the credential it was sent in its message, as some servers do.
            if fault then box.sb:faults({ fail_next = 1, fail_status = 500, echo_token = true }) end
            local r = h.run(args, { home = home, env = env })
            if fault then box.sb:faults({ fail_next = 0, echo_token = false }) end
            runs = runs + 1
            local where = table.concat(args, " ") .. " [" .. cred .. ", " .. mode .. (fault and ", 500" or "") .. "]"
            -- The secrets: the canaries, and the token a refresh minted (read back from the file).
            local secrets = { TOKEN, REFRESH, EXPIRED, API, API_PAYLOAD, CLAIM }
            local saved = assert(config.read(home .. "/.astro/config.yaml")).contexts.localhost.token
            if saved ~= "Bearer " .. TOKEN and saved ~= "Bearer " .. EXPIRED then
              secrets[#secrets + 1] = saved:match("^Bearer (.+)$")
              secrets[#secrets + 1] = saved:match("^Bearer [^.]+%.([^.]+)%.")
            end
            no_secret(r.stdout, secrets, where .. ": stdout")
            no_secret(r.stderr, secrets, where .. ": stderr")
            for _, report in ipairs(reports or {}) do
              local text = h.read_file(report)
              if not fault then assert.is_truthy(text, where .. ": no report written") end
              no_secret(text, secrets, where .. ": " .. report)
            end
            local sends = not cmd.quiet and not (cred == "api_token" and cmd[1] == "organization switch")
            if fault and sends then
              assert.are_not.equal(0, r.code, where .. " should fail")
            elseif not fault and sends then
              assert.are.equal(cmd.ok_code or 0, r.code, where .. ": " .. r.stderr)
            end
            if mode ~= "plain" and sends then
              assert.is_truthy(("\n" .. r.stderr):find("\n> Authorization: <redacted>\n", 1, true), where)
              assert.is_nil(r.stderr:find("Authorization: Bearer", 1, true), where)
            end
            if mode == "plain" then
              assert.is_nil(r.stderr:find("> Authorization", 1, true), where .. ": a trace without debug")
            end
          end
        end
        assert.are.equal(6, runs)
        -- The canaries were really used: the sandbox saw them, so their absence above means something.
        local used = false
        for _, req in ipairs(box.sb:requests()) do
          local auth = req.headers.Authorization or ""
          if (cred == "config" and auth == "Bearer " .. TOKEN) or (cred == "api_token" and auth == "Bearer " .. API) or
             (cred == "refresh" and req.path == "/oauth/token" and req.body:find(REFRESH, 1, true)) then
            used = true
          end
        end
        assert.are.equal(not cmd.quiet and not (cred == "api_token" and cmd[1] == "organization switch"), used)
      end)
    end
  end
end)
