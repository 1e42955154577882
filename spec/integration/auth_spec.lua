-- Credentials end to end: ASTRO_API_TOKEN, the context token, refresh of an expired login
-- token, and no token ever printed.
local h = require("spec.helpers")
local jwt = require("spec.support.jwt")
local config = require("astro.core.config")

local ACME = h.ids.ACME
local GLOBEX = h.ids.GLOBEX

describe("credentials", function()
  local api_token = jwt.make({ exp = os.time() + 3600, apiTokenId = "tokapi1",
                               permissions = { "organizationId:" .. GLOBEX } })
  local expired_api_token = jwt.make({ exp = os.time() - 60, apiTokenId = "tokold1", permissions = {} })
  local box = h.use_sandbox({ flags = { "--token", "test-token", "--token", api_token }, home = false,
                              reset = "requests" })

  it("uses ASTRO_API_TOKEN over the context token, takes its organization, and writes nothing", function()
    local home = box.sb:home({ token = "wrong-token" })
    local path = home .. "/.astro/config.yaml"
    local before = h.read_file(path)
    local r = h.run({ "organization", "list", "--json" }, { home = home, env = { ASTRO_API_TOKEN = api_token } })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches('"id": "' .. GLOBEX .. '",\n      "isCurrent": true', r.stdout)
    assert.are.equal("Bearer " .. api_token, box.sb:requests()[1].headers.Authorization)
    assert.are.equal(before, h.read_file(path))
    assert.is_nil(r.stdout:find(api_token, 1, true))
  end)

  it("refuses an expired API token before sending anything", function()
    local home = box.sb:home()
    local r = h.run({ "organization", "list" }, { home = home, env = { ASTRO_API_TOKEN = expired_api_token } })
    assert.are.equal(1, r.code)
    assert.matches("^Error: API Token is expired %(token tokold1%): create a new API token and set ASTRO_API_TOKEN", r.stderr)
    assert.are.equal(0, #box.sb:requests())
    assert.is_nil(r.stderr:find(expired_api_token, 1, true))
  end)

  it("says how to log in when the context has no token", function()
    local home = box.sb:home({ token = "" })
    local path = home .. "/.astro/config.yaml"
    h.write_file(path, (h.read_file(path):gsub("token: Bearer \n", "token: \"\"\n")))
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("^Error: no credentials: set ASTRO_API_TOKEN", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("with an empty context token says how to log in instead of starting the astro CLI's browser login", function()
    local NO_CREDENTIALS = "Error: no credentials: set ASTRO_API_TOKEN to an Astro API token, or log in with " ..
      "the astro CLI (astro login) so that the current context holds a token\n"
    local home = box.sb:home()
    local path = home .. "/.astro/config.yaml"
    local text = h.read_file(path)
    -- The astro CLI's "not logged in": a token that is empty, or "Bearer " with nothing after it,
    -- or no token at all.
    for _, line in ipairs({ 'token: ""', 'token: "Bearer "', 'token: "Bearer   "', "" }) do
      h.write_file(path, (text:gsub("token: Bearer test%-token", line, 1)))
      for _, args in ipairs({ { "organization", "list" }, { "organization", "user", "invite", "x@acme.io" },
                              { "organization", "switch", "Globex" } }) do
        -- Standard input holds an Enter: nothing asks for it ("Press Enter to open the browser").
        local r = h.run(args, { home = home, stdin = "\n" })
        local where = line .. " " .. table.concat(args, " ")
        assert.are.equal(1, r.code, where)
        assert.are.equal("", r.stdout, where)
        assert.are.equal(NO_CREDENTIALS, r.stderr, where)
      end
    end
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refreshes an expired login token, saves the new one and uses it", function()
    local home = box.sb:home({ expiresin = "2020-01-01T00:00:00Z" })
    local path = home .. "/.astro/config.yaml"
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(3, #reqs)
    assert.are.equal("/private/v1alpha1/cli/auth-config", reqs[1].path)
    assert.are.equal("/oauth/token", reqs[2].path)
    assert.matches("grant_type=refresh_token", reqs[2].body)
    assert.matches("refresh_token=sandbox%-refresh%-token", reqs[2].body)
    local tree = assert(config.read(path))
    local ctx = tree.contexts.localhost
    assert.matches("^Bearer ", ctx.token)
    assert.are_not.equal("Bearer test-token", ctx.token)
    assert.are.equal(ctx.token, reqs[3].headers.Authorization)
    assert.is_true(require("astro._core.auth").parse_time(ctx.expiresin) > os.time() + 3600)
    assert.are.equal(ACME, ctx.organization)
    assert.are.equal("600", h.capture("stat -c %a " .. path):gsub("%s+$", ""))
    assert.is_nil(r.stdout:find(ctx.token:sub(8), 1, true))
    assert.is_nil(r.stderr:find(ctx.token:sub(8), 1, true))
  end)

  it("explains a refresh the auth server refuses", function()
    local home = box.sb:home({ expiresin = "2020-01-01T00:00:00Z", refreshtoken = "revoked" })
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("^Error: your login has expired and could not be refreshed %(.*%): run astro login again\n$", r.stderr)
  end)

  it("explains an expired login with no refresh token", function()
    local home = box.sb:home({ expiresin = "2020-01-01T00:00:00Z", refreshtoken = '""' })
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("^Error: your login to localhost has expired and there is no refresh token", r.stderr)
  end)

  it("traces requests in debug mode with the token redacted", function()
    local canary = "canary-" .. tostring(os.time()) .. "-secret"
    local home = box.sb:home({ token = canary })
    box.sb:control("POST", "/_sandbox/tokens", { token = canary })
    local r = h.run({ "organization", "list", "--verbosity", "debug" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("> GET http://127%.0%.0%.1:%d+/v1/organizations%?limit=1000&offset=0", r.stderr)
    assert.matches("> Authorization: <redacted>", r.stderr)
    assert.matches("< 200 GET", r.stderr)
    assert.is_nil(r.stderr:find(canary, 1, true))
    assert.is_nil(r.stdout:find(canary, 1, true))
    r = h.run({ "organization", "list" }, { home = home, env = { ASTRO_DEBUG = "1" } })
    assert.matches("> Authorization: <redacted>", r.stderr)
    assert.is_nil(r.stderr:find(canary, 1, true))
  end)
end)
