-- The shipped examples (examples/*.lua), run with `astro run` against the sandbox.
local h = require("spec.helpers")
local json = require("astro.json")

local function mutations(sb) return h.recorded(sb, { except = "GET" }) end

describe("shipped examples", function()
  local box = h.use_sandbox()
  local dir

  lazy_setup(function()
    dir = h.tmpdir()
  end)

  local run = box.run

  describe("bulk_invite.lua", function()
    local csv = "\239\187\191email,role\r\n" ..
      "Jane.Doe@acme.io,ORGANIZATION_OWNER\r\n" ..     -- already a member
      "new1@acme.io,\r\n" ..                           -- default role
      "\r\n" ..
      "bad-email,ORGANIZATION_MEMBER\r\n" ..           -- invalid email
      '"new2@acme.io",ORGANIZATION_BILLING_ADMIN\r\n' ..
      "new3@acme.io,owner\r\n" ..                      -- invalid role
      "new1@acme.io,ORGANIZATION_MEMBER\r\n"           -- duplicate, same role

    it("invites the new people once, skips members, and reports every row with its line", function()
      h.write_file(dir .. "/people.csv", csv)
      local r = run({ "run", "examples/bulk_invite.lua", dir .. "/people.csv" })
      assert.are.equal(1, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.matches("^ LINE +EMAIL +ROLE +RESULT", lines[1])
      assert.matches("^ 2 +jane%.doe@acme%.io +ORGANIZATION_OWNER +skipped: already a member", lines[2])
      assert.matches("^ 3 +new1@acme%.io +ORGANIZATION_MEMBER +invited", lines[3])
      assert.matches('^ 5 +bad%-email +ORGANIZATION_MEMBER +invalid: invalid email address "bad%-email"', lines[4])
      assert.matches("^ 6 +new2@acme%.io +ORGANIZATION_BILLING_ADMIN +invited", lines[5])
      assert.matches("^ 7 +new3@acme%.io +owner +invalid: role owner is not one of", lines[6])
      assert.matches("^ 8 +new1@acme%.io +ORGANIZATION_MEMBER +skipped: duplicate of line 3", lines[7])
      local posts = mutations(box.sb)
      assert.are.equal(2, #posts)
      assert.are.same({ inviteeEmail = "new1@acme.io", role = "ORGANIZATION_MEMBER" }, json.decode(posts[1].body))
      assert.are.same({ inviteeEmail = "new2@acme.io", role = "ORGANIZATION_BILLING_ADMIN" }, json.decode(posts[2].body))
      local gets = #box.sb:requests() - #posts
      assert.are.equal(1, gets)
    end)

    it("invites nobody the second time", function()
      h.write_file(dir .. "/people.csv", csv)
      run({ "run", "examples/bulk_invite.lua", dir .. "/people.csv" })
      box.sb:reset_requests()
      local r = run({ "run", "examples/bulk_invite.lua", dir .. "/people.csv" })
      assert.are.equal(0, #mutations(box.sb))
      assert.matches(" 3 +new1@acme%.io +ORGANIZATION_MEMBER +skipped: already invited", r.stdout)
    end)

    it("reports the API's message and request id for a failed invite", function()
      h.write_file(dir .. "/one.csv", "email\nsolo@acme.io\n")
      box.sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
      local r = run({ "run", "examples/bulk_invite.lua", dir .. "/one.csv" })
      assert.are.equal(1, r.code)
      assert.matches("failed: .+ %(request [%w%-]+%)", r.stdout)
    end)

    it("sends nothing with --dry-run and says what it would do", function()
      h.write_file(dir .. "/people.csv", csv)
      local r = run({ "run", "--dry-run", "examples/bulk_invite.lua", dir .. "/people.csv" })
      assert.are.equal(0, #mutations(box.sb))
      assert.matches('dry run: POST /organizations/clt0acme000010bhys38c6ryb/invites {"inviteeEmail":"new1@acme.io","role":"ORGANIZATION_MEMBER"}', r.stderr, 1, true)
      assert.matches(" 3 +new1@acme%.io +ORGANIZATION_MEMBER +would invite", r.stdout)
    end)

    it("names the line of a malformed file and sends nothing", function()
      h.write_file(dir .. "/broken.csv", 'email,role\n"unterminated@acme.io,ORGANIZATION_MEMBER\n')
      local r = run({ "run", "examples/bulk_invite.lua", dir .. "/broken.csv" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: .*broken%.csv: .*line 2", r.stderr)
      assert.are.equal(0, #box.sb:requests())
    end)
  end)

  describe("role_audit.lua", function()
    it("groups users by role, owners first", function()
      local r = run({ "run", "examples/role_audit.lua" })
      assert.are.equal(0, r.code, r.stderr)
      local owner = r.stdout:find("ORGANIZATION_OWNER (1)", 1, true)
      local billing = r.stdout:find("ORGANIZATION_BILLING_ADMIN (1)", 1, true)
      local member = r.stdout:find("ORGANIZATION_MEMBER (1)", 1, true)
      assert.is_truthy(owner and billing and member)
      assert.is_true(owner < billing and billing < member)
      assert.matches("jane%.doe@acme%.io +Jane Doe +ACTIVE", r.stdout)
      assert.matches("3 users\n$", r.stdout)
    end)

    it("writes CSV with --csv and changes nothing", function()
      local r = run({ "run", "examples/role_audit.lua", "--csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("role,email,full_name,status\n" ..
        "ORGANIZATION_OWNER,jane.doe@acme.io,Jane Doe,ACTIVE\n" ..
        "ORGANIZATION_BILLING_ADMIN,mei.lin@acme.io,Mei Lin,ACTIVE\n" ..
        "ORGANIZATION_MEMBER,raj.patel@acme.io,Raj Patel,ACTIVE\n", r.stdout)
      assert.are.equal(0, #mutations(box.sb))
      assert.are.equal(1, #box.sb:requests())
    end)
  end)

  describe("reconcile_roles.lua", function()
    local plan = "email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\nmei.lin@acme.io,ORGANIZATION_BILLING_ADMIN\n"

    it("shows the plan and changes nothing without --apply", function()
      h.write_file(dir .. "/roles.csv", plan)
      local r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches(" 2 +raj%.patel@acme%.io +ORGANIZATION_MEMBER +ORGANIZATION_OWNER +change", r.stdout)
      assert.matches(" 3 +mei%.lin@acme%.io +ORGANIZATION_BILLING_ADMIN +ORGANIZATION_BILLING_ADMIN +keep", r.stdout)
      assert.matches("run again with %-%-apply", r.stderr)
      assert.are.equal(0, #mutations(box.sb))
    end)

    it("applies only the changes with --apply, then has nothing left to do", function()
      h.write_file(dir .. "/roles.csv", plan)
      local r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv", "--apply" })
      assert.are.equal(0, r.code, r.stderr)
      local posts = mutations(box.sb)
      assert.are.equal(1, #posts)
      assert.matches("/users/clrraj0000002019nj9w0ji6b/roles$", posts[1].path)
      assert.are.equal('{"organizationRole":"ORGANIZATION_OWNER"}', posts[1].body)
      box.sb:reset_requests()
      r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv", "--apply" })
      assert.are.equal(0, #mutations(box.sb))
      assert.matches("raj%.patel@acme%.io +ORGANIZATION_OWNER +ORGANIZATION_OWNER +keep", r.stdout)
    end)

    it("reports people who are not in the organization and invalid rows, exit 1", function()
      h.write_file(dir .. "/roles.csv", "email,role\nghost@acme.io,ORGANIZATION_MEMBER\nraj.patel@acme.io,admin\n")
      local r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv", "--apply" })
      assert.are.equal(1, r.code)
      assert.matches("ghost@acme%.io .*missing: not in the organization", r.stdout)
      assert.matches("raj%.patel@acme%.io .*invalid: role admin", r.stdout)
      assert.are.equal(0, #mutations(box.sb))
    end)

    it("keeps a row repeated with the same role, as user update --file does, and refuses a conflict", function()
      h.write_file(dir .. "/roles.csv", "email,role\nmei.lin@acme.io,ORGANIZATION_BILLING_ADMIN\n" ..
        "Mei.Lin@acme.io,ORGANIZATION_BILLING_ADMIN\n")
      local r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches(" 3 +mei%.lin@acme%.io .*keep: duplicate of line 2", r.stdout)
      h.write_file(dir .. "/roles.csv", "email,role\nmei.lin@acme.io,ORGANIZATION_BILLING_ADMIN\n" ..
        "mei.lin@acme.io,ORGANIZATION_OWNER\n")
      r = run({ "run", "examples/reconcile_roles.lua", dir .. "/roles.csv", "--apply" })
      assert.are.equal(1, r.code)
      assert.matches("invalid: mei%.lin@acme%.io is also on line 2 with ORGANIZATION_BILLING_ADMIN", r.stdout)
    end)
  end)

  describe("sync_team.lua", function()
    local TEAM = "clmteamde00101f1sxbrxz86t" -- Acme "Data Engineering": Jane and Raj (sandbox_teams.py)
    local MEMBERS = "/v1/organizations/" .. h.ids.ACME .. "/teams/" .. TEAM .. "/members"

    local function members()
      local ids = {}
      for _, m in ipairs(box.sb:state().teamMembers[TEAM]) do ids[#ids + 1] = m.userId or m end
      table.sort(ids)
      return ids
    end

    it("shows the plan under --dry-run and sends nothing", function()
      h.write_file(dir .. "/members.csv", "email\njane.doe@acme.io\nmei.lin@acme.io\n")
      local before = members()
      local r = run({ "run", "examples/sync_team.lua", TEAM, dir .. "/members.csv", "--exact", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("mei%.lin@acme%.io .* added +dry run: not sent", r.stdout)
      assert.matches("raj%.patel@acme%.io .* removed +dry run: not sent", r.stdout)
      assert.are.same({}, mutations(box.sb))
      assert.are.same(before, members())
    end)

    it("adds who is missing, and with --exact removes who the file does not name", function()
      h.write_file(dir .. "/members.csv", "email\njane.doe@acme.io\nmei.lin@acme.io\n")
      local r = run({ "run", "examples/sync_team.lua", TEAM, dir .. "/members.csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ "POST " .. MEMBERS }, h.trace(mutations(box.sb)))
      assert.are.same({ "clrjane00000109s3nj4egnyn", h.ids.MEI, h.ids.RAJ }, members())
      r = run({ "run", "examples/sync_team.lua", TEAM, dir .. "/members.csv", "--exact" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("jane%.doe@acme%.io .* skipped", r.stdout)
      assert.are.same({ "clrjane00000109s3nj4egnyn", h.ids.MEI }, members())
      assert.are.equal("DELETE " .. MEMBERS .. "/" .. h.ids.RAJ, h.trace(mutations(box.sb))[2])
    end)
  end)

  describe("audit_roles_across_orgs.lua", function()
    local GLOBEX = h.ids.GLOBEX

    it("lists the owners and billing admins of every organization, changing nothing", function()
      local cfg = box.home .. "/.astro/config.yaml"
      local before = h.read_file(cfg)
      local r = run({ "run", "examples/audit_roles_across_orgs.lua" })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.matches("^ ORGANIZATION +ROLE +EMAIL", lines[1])
      assert.matches("^ Acme Data Platform +ORGANIZATION_OWNER +jane%.doe@acme%.io", lines[2])
      assert.matches("^ Acme Data Platform +ORGANIZATION_BILLING_ADMIN +mei%.lin@acme%.io", lines[3])
      assert.matches("^ Globex +ORGANIZATION_OWNER +hank%.scorpio@globex%.io", lines[4])
      assert.matches("^ Initech Sandbox +ORGANIZATION_BILLING_ADMIN +bill%.lumbergh@initech%.io", lines[#lines - 1])
      assert.matches("^3 organizations, %d+ owners and billing admins$", lines[#lines])
      assert.are.same({ "GET /v1/organizations", "GET /v1/organizations/" .. h.ids.ACME .. "/users",
        "GET /v1/organizations/" .. GLOBEX .. "/users", "GET /v1/organizations/" .. h.ids.INITECH .. "/users" },
        h.trace(box.sb:requests()))
      assert.are.equal(before, h.read_file(cfg))
    end)

    it("audits the organizations named, reports one it cannot reach, and exits 1", function()
      local r = run({ "run", "examples/audit_roles_across_orgs.lua", "--csv", "Globex", "Nope" })
      assert.are.equal(1, r.code)
      assert.are.equal("organization,organization_id,role,email,full_name\n" ..
        "Globex," .. GLOBEX .. ",ORGANIZATION_OWNER,hank.scorpio@globex.io,Hank Scorpio\n" ..
        "Globex," .. GLOBEX .. ",ORGANIZATION_OWNER,jane.doe@acme.io,Jane Doe\n", r.stdout)
      assert.matches('^Nope: no organization you can see has the name or id "Nope"', r.stderr)
      assert.are.equal(0, #mutations(box.sb))
    end)
  end)
end)
