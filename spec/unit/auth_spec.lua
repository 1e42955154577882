-- astro.core.auth and astro.auth: token resolution, JWT claims, expiry.
local core = require("astro.core.auth")
local auth = require("astro._core.auth")
local h = require("spec.helpers")

local jwt = require("spec.support.jwt").make

describe("astro.core.auth", function()
  it("decodes a JWT's header and payload, with or without the Bearer prefix", function()
    local tok = jwt({ exp = 123, sub = "me" })
    local hdr, payload = core.jwt_decode(tok)
    assert.are.equal('{"alg":"none","typ":"JWT"}', hdr)
    assert.matches('"exp":123', payload)
    local _, p2 = core.jwt_decode("Bearer " .. tok)
    assert.are.equal(payload, p2)
  end)

  it("refuses what is not a JWT, without echoing it", function()
    for _, bad in ipairs({ "", "abc", "a.b", "a..c", "a.b.c.d", "!!!.e30.x", "e30.@@@.x" }) do
      local v, msg, code = core.jwt_decode(bad)
      assert.is_nil(v, bad)
      assert.are.equal("malformed", code)
      if #bad > 3 then assert.is_nil(msg:find(bad, 1, true)) end
    end
  end)

  it("resolves the context token, keeping its Bearer prefix", function()
    local r = h.run({ "--lua", h.root .. "/spec/support/print_resolve.lua", "Bearer abc" })
    assert.are.equal("Bearer abc|config\n", r.stdout)
  end)

  it("adds the Bearer prefix to a context token saved without it, leading spaces dropped", function()
    local r = h.run({ "--lua", h.root .. "/spec/support/print_resolve.lua", "  abc" })
    assert.are.equal("Bearer abc|config\n", r.stdout)
    r = h.run({ "--lua", h.root .. "/spec/support/print_resolve.lua", "abc" })
    assert.are.equal("Bearer abc|config\n", r.stdout)
  end)

  it("prefers ASTRO_API_TOKEN and adds the Bearer prefix to it", function()
    local r = h.run({ "--lua", h.root .. "/spec/support/print_resolve.lua", "Bearer abc" },
      { env = { ASTRO_API_TOKEN = "xyz" } })
    assert.are.equal("Bearer xyz|ASTRO_API_TOKEN\n", r.stdout)
  end)

  it("says how to log in when there is no token at all", function()
    for _, t in ipairs({ "", "Bearer ", "Bearer   " }) do
      local r = h.run({ "--lua", h.root .. "/spec/support/print_resolve.lua", t })
      assert.matches("^nil|no credentials: set ASTRO_API_TOKEN", r.stdout)
    end
  end)
end)

describe("astro.auth", function()
  it("parses RFC 3339 times with fractions and offsets", function()
    assert.are.equal(0, auth.parse_time("1970-01-01T00:00:00Z"))
    assert.are.equal(1786740713, math.floor(auth.parse_time("2026-08-14T16:51:53.123456789-04:00")))
    assert.are.equal(4070908800, auth.parse_time("2099-01-01T00:00:00Z"))
    assert.is_nil(auth.parse_time("yesterday"))
    assert.is_nil(auth.parse_time("2026-13-01T00:00:00Z"))
  end)

  it("reads an API token's organization from its permissions", function()
    local claims = assert(auth.claims(jwt({ permissions = { "workspaceId:w1", "organizationId:org9" } })))
    assert.are.equal("org9", auth.token_organization(claims))
  end)

  it("refuses an expired API token with a message saying what to do", function()
    local tok = jwt({ exp = 1000, apiTokenId = "tok1", permissions = {} })
    -- Run in a child so ASTRO_API_TOKEN is really set in the environment.
    local r = h.run({ "--lua", h.root .. "/spec/support/print_credential.lua" },
      { env = { ASTRO_API_TOKEN = tok } })
    assert.matches("API Token is expired %(token tok1%): create a new API token", r.stdout)
    assert.is_nil(r.stdout:find(tok, 1, true))
  end)

  it("refuses a malformed API token", function()
    local r = h.run({ "--lua", h.root .. "/spec/support/print_credential.lua" },
      { env = { ASTRO_API_TOKEN = "not-a-jwt" } })
    assert.matches("API Token is invalid or malformed", r.stdout)
    assert.is_nil(r.stdout:find("not-a-jwt", 1, true))
  end)
end)
