-- astro.roles: the three organization roles the CLI accepts and the astro CLI's message for others.
local roles = require("astro.roles")
local errors = require("astro.errors")

-- Reference §8.1, trailing space included.
local INVALID = "requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER "

describe("astro.roles", function()
  it("knows exactly the three roles of the astro CLI, in its order, member by default", function()
    assert.are.same({ "ORGANIZATION_MEMBER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_OWNER" }, roles.VALID)
    assert.are.equal("ORGANIZATION_MEMBER", roles.DEFAULT)
  end)

  it("accepts each valid role as it is", function()
    for _, r in ipairs({ "ORGANIZATION_MEMBER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_OWNER" }) do
      assert.is_true(roles.is_valid(r))
      local got, err = roles.validate(r)
      assert.are.equal(r, got)
      assert.is_nil(err)
    end
  end)

  it("is case-sensitive and does not trim", function()
    for _, r in ipairs({ "organization_member", "Organization_Owner", "ORGANIZATION_member",
                         " ORGANIZATION_MEMBER", "ORGANIZATION_MEMBER ", "ORGANIZATION_MEMBER\n" }) do
      assert.is_false(roles.is_valid(r), r)
      assert.is_nil((roles.validate(r)), r)
    end
  end)

  it("refuses the roles the API knows but the CLI does not offer", function()
    for _, r in ipairs({ "ORGANIZATION_OBSERVE_ADMIN", "ORGANIZATION_OBSERVE_MEMBER", "WORKSPACE_OWNER" }) do
      assert.is_false(roles.is_valid(r), r)
      assert.is_nil((roles.validate(r)), r)
    end
  end)

  it("refuses empty and non-string values", function()
    for _, r in ipairs({ "", 1, true, {} }) do
      assert.is_false(roles.is_valid(r))
      assert.is_nil((roles.validate(r)))
    end
    assert.is_false(roles.is_valid(nil))
    assert.is_nil((roles.validate(nil)))
  end)

  it("explains an invalid role with the astro CLI's message, trailing space included", function()
    local got, err = roles.validate("ADMIN")
    assert.is_nil(got)
    assert.is_true(errors.is(err))
    assert.are.equal(INVALID, err.message)
    assert.are.equal(INVALID, tostring(err))
    assert.are.equal(" ", err.message:sub(-1))
    assert.are.equal(INVALID, roles.INVALID_MESSAGE)
    assert.are.equal("role", err.code)
  end)

  it("makes the error a usage error (exit 2) when the role came from a flag", function()
    local got, err = roles.validate("ADMIN", true)
    assert.is_nil(got)
    assert.are.equal(INVALID, err.message)
    assert.are.same({ "usage", 2 }, { err.code, err.exit })
    assert.are.equal("ORGANIZATION_OWNER", roles.validate("ORGANIZATION_OWNER", true))
  end)
end)
