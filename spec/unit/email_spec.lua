-- astro.email: addresses are trimmed, lower-cased and checked before any request is sent.
local email = require("astro.email")
local errors = require("astro.errors")

--- The message normalize gives for s (failing the spec if s is accepted).
local function refusal(s)
  local got, err = email.normalize(s)
  assert.is_nil(got, "accepted: " .. tostring(s))
  assert.is_true(errors.is(err))
  return err.message
end

local function msg(shown, why) return string.format('invalid email address "%s": %s', shown, why) end

local NO_AT = "expected one @ between a name and a domain, like name@example.com"
local BAD_LOCAL = "the part before @ has characters an address cannot have"
local BAD_DOMAIN = "the domain after @ is not a valid domain name"

describe("astro.email.normalize", function()
  it("accepts ordinary addresses unchanged", function()
    for _, s in ipairs({ "jane.doe@acme.io", "a@b.co", "first.last+tag@sub.example.co.uk",
                         "o'brien@example.com", "x_y-z@my-host.example", "1234@123.example",
                         "user!#$%&*/=?^`{|}~@example.org" }) do
      assert.are.equal(s, email.normalize(s))
    end
  end)

  it("lower-cases and trims", function()
    assert.are.equal("jane.doe@acme.io", email.normalize("Jane.Doe@ACME.io"))
    assert.are.equal("new@example.com", email.normalize("  New@Example.COM  "))
    assert.are.equal("tab@example.com", email.normalize("\ttab@example.com\r\n"))
  end)

  it("accepts the longest allowed parts: 64 before @, 63 per label, 254 in all", function()
    local l64 = string.rep("a", 64)
    assert.are.equal(l64 .. "@x.io", email.normalize(l64 .. "@x.io"))
    local lab = string.rep("b", 63)
    assert.are.equal("a@" .. lab .. ".io", email.normalize("a@" .. lab .. ".io"))
    local s = l64 .. "@" .. lab .. "." .. lab .. "." .. string.rep("c", 61) -- 64+1+63+1+63+1+61 = 254
    assert.are.equal(254, #s)
    assert.are.equal(s, email.normalize(s))
  end)

  it("refuses an empty or blank address", function()
    assert.are.equal(msg("", NO_AT), refusal(""))
    assert.are.equal(msg("   ", NO_AT), refusal("   "))
  end)

  it("refuses spaces inside the address", function()
    assert.are.equal(msg("jane doe@acme.io", "it contains spaces"), refusal("jane doe@acme.io"))
    assert.are.equal(msg("jane@acme .io", "it contains spaces"), refusal("jane@acme .io"))
  end)

  it("wants exactly one @ with text on both sides", function()
    for _, s in ipairs({ "jane.acme.io", "a@b@c.io", "@acme.io", "jane@", "@" }) do
      assert.are.equal(msg(s, NO_AT), refusal(s))
    end
  end)

  it("wants a dot in the domain", function()
    assert.are.equal(msg("jane@localhost", "the domain after @ has no dot"), refusal("jane@localhost"))
  end)

  it("refuses bad domain labels", function()
    for _, s in ipairs({ "a@-acme.io", "a@acme-.io", "a@acme..io", "a@.acme.io", "a@acme.io.",
                         "a@ac_me.io", "a@ac+me.io", "a@" .. string.rep("d", 64) .. ".io" }) do
      assert.are.equal(msg(s, BAD_DOMAIN), refusal(s))
    end
  end)

  it("refuses bad local parts", function()
    for _, s in ipairs({ ".jane@acme.io", "jane.@acme.io", "ja..ne@acme.io", "ja(ne)@acme.io",
                         'ja"ne@acme.io', "ja,ne@acme.io", "ja;ne@acme.io" }) do
      assert.are.equal(msg(s, BAD_LOCAL), refusal(s))
    end
    local l65 = string.rep("a", 65) .. "@x.io"
    assert.are.equal(msg(l65, "the part before @ is longer than 64 characters"), refusal(l65))
  end)

  it("refuses more than 254 characters and shortens the address it shows", function()
    local lab = string.rep("b", 63)
    local s = string.rep("a", 64) .. "@" .. lab .. "." .. lab .. "." .. string.rep("c", 62) -- 255
    assert.are.equal(255, #s)
    assert.are.equal(msg(s:sub(1, 77) .. "...", "longer than 254 characters"), refusal(s))
  end)

  it("refuses non-ASCII addresses", function()
    assert.are.equal(msg("jürgen@example.de", "only ASCII addresses are supported"), refusal("jürgen@example.de"))
    assert.are.equal(msg("a@exämple.de", "only ASCII addresses are supported"), refusal("a@exämple.de"))
  end)

  it("refuses control characters and shows them escaped", function()
    local why = "it contains control characters"
    assert.are.equal(msg("ja\\x09ne@acme.io", why), refusal("ja\tne@acme.io"))
    assert.are.equal(msg("jane@acme.io\\x00", why), refusal("jane@acme.io\0"))
    assert.are.equal(msg("\\x1b[31mjane@acme.io", why), refusal("\27[31mjane@acme.io"))
    assert.are.equal(msg("jane\\x7f@acme.io", why), refusal("jane\127@acme.io"))
    assert.are.equal(msg("ja\\x0ane@acme.io", why), refusal("ja\nne@acme.io"))
    assert.is_nil(refusal("\27[31mjane@acme.io"):find("\27", 1, true))
  end)

  it("tags its errors as email errors", function()
    local _, err = email.normalize("nope")
    assert.are.equal("email", err.code)
  end)
end)
