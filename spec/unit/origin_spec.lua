-- Where a credential may go: URL origins, the Astro-domain check (whole names), the token
-- endpoint an auth configuration may name, the transport's refusals, and the redaction of
-- secrets a server echoes.
local client = require("astro._core.client")
local config = require("astro._core.config")
local auth = require("astro._core.auth")
local transport = require("astro._core.transport")
local secrets = require("astro._core.secrets")
local dryrun = require("astro._core.dryrun")

describe("client.origin", function()
  it("is scheme://host:port in lower case, with the default port", function()
    assert.are.equal("https://api.astronomer.io:443", client.origin("https://API.astronomer.io/v1/x?y#z"))
    assert.are.equal("http://127.0.0.1:8871", client.origin("http://127.0.0.1:8871/v1"))
    assert.are.equal("http://localhost:80", client.origin("HTTP://localhost"))
    assert.are.equal("http://[::1]:8080", client.origin("http://[::1]:8080/v1"))
    assert.are.equal("https://h:443", client.origin("https://h:0443/"))
  end)

  it("is nil for user info, other schemes and missing hosts", function()
    for _, u in ipairs({ "http://user:pw@h/v1", "http://api.astronomer.io@evil.test/", "ftp://h/", "file:///etc/passwd",
                         "//h/x", "h/x", "http:///x", "http://:80/", "", 5 }) do
      assert.is_nil(client.origin(u), tostring(u))
    end
  end)

  it("refuses a client whose base URL has none", function()
    assert.has_error(function() client.new({ base_url = "http://a@evil.test/v1", authorization = "Bearer t" }) end)
    assert.has_error(function() client.new({ base_url = "gopher://h/v1" }) end)
  end)
end)

describe("config.is_cloud", function()
  it("takes whole Astro names", function()
    for _, d in ipairs({ "localhost", "astronomer.io", "cloud.astronomer.io", "https://cloud.astronomer.io/",
                         "astronomer-dev.io", "pr1234.astronomer-dev.io", "astronomer-stage.io", "astronomer-perf.io" }) do
      assert.is_true(config.is_cloud(d, "cloud"), d)
    end
  end)

  it("refuses names that only contain them", function()
    for _, d in ipairs({ "localhost.evil.test", "evil-localhost.test", "mylocalhost", "localhost:8080",
                         "astronomer.io.evil.test", "evilastronomer.io", "astronomer.io.", "cloud.evil.io" }) do
      assert.is_false(config.is_cloud(d, "cloud"), d)
    end
    assert.is_false(config.is_cloud("localhost", "software"))
    assert.is_false(config.is_cloud(5))
  end)
end)

describe("auth.check_auth_url", function()
  local API = "https://api.astronomer.io/v1"

  it("takes https on the context's Astro domain or a subdomain of it", function()
    assert.are.equal("https://auth.astronomer.io/", auth.check_auth_url("https://auth.astronomer.io", "astronomer.io", API))
    assert.are.equal("https://auth.astronomer.io/", auth.check_auth_url("https://auth.astronomer.io/", "cloud.astronomer.io", API))
    assert.truthy(auth.check_auth_url("https://astronomer.io/", "astronomer.io", API))
    assert.truthy(auth.check_auth_url("https://auth.astronomer-dev.io/", "pr1234.astronomer-dev.io", API))
  end)

  it("refuses plain http, other domains and look-alikes", function()
    for _, u in ipairs({ "http://auth.astronomer.io/", "https://auth.astronomer.io.evil.test/", "https://evilastronomer.io/",
                         "https://auth.astronomer-dev.io/", "https://user@auth.astronomer.io/", "ftp://auth.astronomer.io/",
                         "https://auth.astronomer.io/?x=1", "https://auth.astronomer.io/\n" }) do
      local ok, err = auth.check_auth_url(u, "astronomer.io", API)
      assert.is_nil(ok, u)
      assert.matches("nothing was sent to it", err.message)
      assert.is_nil(err.message:find("\n", 1, true))
    end
  end)

  it("takes only local.core's origin for the localhost context", function()
    local base = "http://127.0.0.1:8871/v1"
    assert.truthy(auth.check_auth_url("http://127.0.0.1:8871/", "localhost", base))
    assert.is_nil(auth.check_auth_url("http://127.0.0.1:8872/", "localhost", base))
    assert.is_nil(auth.check_auth_url("https://127.0.0.1:8871/", "localhost", base))
    assert.is_nil(auth.check_auth_url("http://localhost:8871/", "localhost", base))
  end)
end)

describe("transport refusals", function()
  after_each(function() dryrun._reset_for_tests() end)

  it("refuse a credential for another origin, unsent", function()
    local res, err = transport.request({ method = "GET", url = "http://127.0.0.1:9/v1/x",
                                         auth = { header = "Bearer t", origin = "http://127.0.0.1:8871" } })
    assert.is_nil(res)
    assert.are.equal("credential", err.code)
    assert.matches("refused to send the credential to http://127%.0%.0%.1:9", err.message)
  end)

  it("refuse an Authorization header that is not the client's", function()
    local res, err = transport.request({ method = "GET", url = "http://127.0.0.1:9/v1/x",
                                         headers = { authorization = "Bearer t" } })
    assert.is_nil(res)
    assert.are.equal("credential", err.code)
  end)

  it("refuse a change under --dry-run, whoever asks, but not the token refresh", function()
    dryrun.enable()
    for _, m in ipairs({ "POST", "DELETE", "PATCH", "PUT" }) do
      local res, err = transport.request({ method = m, url = "http://127.0.0.1:9/v1/x" })
      assert.is_nil(res)
      assert.are.equal("dry_run", err.code)
    end
    local _, err = transport.request({ method = "POST", url = "http://127.0.0.1:9/oauth/token", token_refresh = true,
                                       timeout = 2, connect_timeout = 2 })
    assert.are_not.equal("dry_run", err and err.code)
  end)
end)

describe("secrets.redact", function()
  it("hides a registered bearer value, its token and a JWT's payload and signature", function()
    secrets.add("Bearer aaaaaaaaaa.bbbbbbbbbbbb.cccccccccccc")
    assert.are.equal("x <redacted> y", secrets.redact("x Bearer aaaaaaaaaa.bbbbbbbbbbbb.cccccccccccc y"))
    assert.are.equal("<redacted>", secrets.redact("aaaaaaaaaa.bbbbbbbbbbbb.cccccccccccc"))
    assert.are.equal("p=<redacted> s=<redacted>", secrets.redact("p=bbbbbbbbbbbb s=cccccccccccc"))
    assert.are.equal("short ab", secrets.redact("short ab"))
    assert.are.equal(5, secrets.redact(5))
  end)
end)
