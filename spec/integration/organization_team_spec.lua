-- `astro organization team ...` (list, create, update, delete, user add|remove|list) against
-- the sandbox API (spec/support/sandbox_teams.py: Acme has Data Engineering with Jane and Raj,
-- the IDP-managed okta-platform-admins with Jane, and Analysts with no member).
local h = require("spec.helpers")
local json = require("astro.json")

local ACME, RAJ, MEI = h.ids.ACME, h.ids.RAJ, h.ids.MEI
local JANE = "clrjane00000109s3nj4egnyn"
local DATA_ENG = "clmteamde00101f1sxbrxz86t"
local OKTA = "clmteamsso020nl13is44cceh"
local ANALYSTS = "clmteamana030a8v2k4q6w1zx"
local TEAMS = "/v1/organizations/" .. ACME .. "/teams"
local INVALID_ROLE = "Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \n"
local IDP_QUESTION = "This is an IDP-managed team. Are you sure you want to continue the operation? (y/n) "
local TEAM_MENU = "\nPlease select a team:\n" ..
  " #     TEAMNAME                 ID                            \n" ..
  " 1     Data Engineering         clmteamde00101f1sxbrxz86t     \n" ..
  " 2     okta-platform-admins     clmteamsso020nl13is44cceh     \n" ..
  " 3     Analysts                 clmteamana030a8v2k4q6w1zx     \n" ..
  "\n> "
local TABLE =
  " ID                            NAME                     DESCRIPTION               ORG ROLE                IDP MANAGED     CREATE DATE              \n" ..
  " clmteamde00101f1sxbrxz86t     Data Engineering         Data engineering team     ORGANIZATION_MEMBER     false           2024-01-10T10:00:00Z     \n" ..
  " clmteamsso020nl13is44cceh     okta-platform-admins                               ORGANIZATION_OWNER      true            2024-06-01T00:00:00Z     \n" ..
  " clmteamana030a8v2k4q6w1zx     Analysts                 Reporting and BI          ORGANIZATION_MEMBER     false           2025-02-03T09:15:00Z     \n"

describe("astro organization team", function()
  local box = h.use_sandbox()
  local team = box.command({ "organization", "team" })

  local function state_team(id)
    for _, t in ipairs(box.sb:state().teams[ACME] or {}) do
      if t.id == id then return t end
    end
  end

  local function member_ids(id)
    local out = {}
    for i, m in ipairs(box.sb:state().teamMembers[id] or {}) do out[i] = m.userId end
    return out
  end

  local function no_writes() assert.are.same({}, h.trace(h.writes(box.sb))) end

  describe("list", function()
    it("prints every team as the astro CLI's table, through the aliases too", function()
      for _, args in ipairs({ { "organization", "team", "list" }, { "org", "te", "ls" }, { "org", "teams", "ls" } }) do
        box.sb:reset_requests()
        local r = box.run(args)
        assert.are.equal(0, r.code, r.stderr)
        assert.are.equal(TABLE, r.stdout)
        assert.are.equal("", r.stderr)
        assert.are.same({ "GET " .. TEAMS }, h.trace(box.sb:requests()))
      end
    end)

    it("prints JSON with --json and -o json: empty fields left out, isIdpManaged only when true", function()
      local want = {
        teams = {
          { id = DATA_ENG, name = "Data Engineering", description = "Data engineering team",
            createdAt = "2024-01-10T10:00:00Z", orgRole = "ORGANIZATION_MEMBER" },
          { id = OKTA, name = "okta-platform-admins", createdAt = "2024-06-01T00:00:00Z",
            orgRole = "ORGANIZATION_OWNER", isIdpManaged = true },
          { id = ANALYSTS, name = "Analysts", description = "Reporting and BI", createdAt = "2025-02-03T09:15:00Z",
            orgRole = "ORGANIZATION_MEMBER" },
        },
      }
      for _, flags in ipairs({ { "--json" }, { "-o", "json" } }) do
        local r = team({ "list", table.unpack(flags) })
        assert.are.equal(0, r.code, r.stderr)
        assert.are.same(want, json.decode(r.stdout))
        -- keys in the astro CLI's order
        assert.truthy(r.stdout:find('"id": "' .. OKTA .. '",\n      "name": "okta-platform-admins",\n      ' ..
          '"createdAt": "2024-06-01T00:00:00Z",\n      "orgRole": "ORGANIZATION_OWNER",\n      "isIdpManaged": true', 1, true))
      end
    end)

    it("prints CSV with -o csv", function()
      local r = team({ "list", "-o", "csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("id,name,description,organization_role,idp_managed,created_at\n" ..
        DATA_ENG .. ",Data Engineering,Data engineering team,ORGANIZATION_MEMBER,false,2024-01-10T10:00:00Z\n" ..
        OKTA .. ",okta-platform-admins,,ORGANIZATION_OWNER,true,2024-06-01T00:00:00Z\n" ..
        ANALYSTS .. ",Analysts,Reporting and BI,ORGANIZATION_MEMBER,false,2025-02-03T09:15:00Z\n", r.stdout)
    end)

    it("follows the pages the server serves (max_page_size)", function()
      box.sb:faults({ max_page_size = 1 })
      for _, flags in ipairs({ {}, { "--json" } }) do
        box.sb:reset_requests()
        local r = team({ "list", table.unpack(flags) })
        assert.are.equal(0, r.code, r.stderr)
        local offsets = {}
        for _, q in ipairs(box.sb:requests()) do offsets[#offsets + 1] = q.query:match("offset=(%d+)") end
        table.sort(offsets)
        assert.are.same({ "0", "1", "2" }, offsets)
        if #flags == 0 then assert.are.equal(TABLE, r.stdout) else assert.are.equal(3, #json.decode(r.stdout).teams) end
      end
    end)

    it("refuses a bad format, and --json with -o, before any request", function()
      local r = team({ "list", "-o", "yaml" })
      assert.are.equal(2, r.code)
      assert.matches('invalid format "yaml"', r.stderr)
      r = team({ "list", "--json", "-o", "json" })
      assert.are.equal(2, r.code)
      assert.are.same({}, box.sb:requests())
    end)

    it("prints nothing on stdout when a later page fails (JSON and CSV whole or absent)", function()
      for _, flags in ipairs({ { "--json" }, { "-o", "csv" } }) do
        box.sb:faults({ max_page_size = 1, answer_skip = 1, answer_next = 1, answer_body = "{" })
        local r = team({ "list", table.unpack(flags) })
        assert.are.equal(1, r.code)
        assert.are.equal("", r.stdout)
        assert.matches("^Error: ", r.stderr)
      end
    end)
  end)

  describe("create", function()
    it("posts the name, description and role given as flags", function()
      local r = team({ "create", "--name", "Platform", "--description", "Platform team", "--role", "ORGANIZATION_OWNER" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team Platform was successfully created\n", r.stdout)
      assert.are.equal("", r.stderr)
      local posts = h.recorded(box.sb, { method = "POST" })
      assert.are.equal(1, #posts)
      assert.are.equal(TEAMS, posts[1].path)
      assert.are.same({ description = "Platform team", name = "Platform", organizationRole = "ORGANIZATION_OWNER" },
        json.decode(posts[1].body))
      assert.are.equal(4, #box.sb:state().teams[ACME])
      h.no_secret(r)
    end)

    it("asks for the role (a menu) and the name on stdin, through the alias cr", function()
      local r = box.run({ "org", "te", "cr", "-d", "" }, { stdin = "2\nSupport\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team Support was successfully created\n", r.stdout)
      assert.are.equal("select a Organization Role for the new team:\n" ..
        " #     ROLE                           \n" ..
        " 1     ORGANIZATION_MEMBER            \n" ..
        " 2     ORGANIZATION_BILLING_ADMIN     \n" ..
        " 3     ORGANIZATION_OWNER             \n" ..
        "\n> Please specify a name for your Team\n\nTeam name: ", r.stderr)
      assert.are.same({ description = "", name = "Support", organizationRole = "ORGANIZATION_BILLING_ADMIN" },
        json.decode(h.recorded(box.sb, { method = "POST" })[1].body))
    end)

    it("refuses a bad role before any request, as a usage error", function()
      local r = team({ "create", "--name", "X", "--role", "ORGANIZATION_ADMIN" })
      assert.are.equal(2, r.code)
      assert.are.equal(INVALID_ROLE .. "Run 'astro organization team create --help' for usage.\n", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("refuses a bad menu answer and an empty name, sending nothing", function()
      local r = team({ "create", "--name", "X" }, { stdin = "4\n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: invalid organization role selection\n$", r.stderr)
      r = team({ "create", "--role", "ORGANIZATION_MEMBER" }, { stdin = "\n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: you must give your Team a name\n$", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("never waits on a closed stdin: the error names the flag to pass", function()
      local r = team({ "create", "--name", "X" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no role choice given: standard input ended; pass it with %-%-role\n$", r.stderr)
      r = team({ "create", "--role", "ORGANIZATION_MEMBER" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no team name given: standard input ended; pass it with %-%-name\n$", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("sends nothing under --dry-run and says what it would do", function()
      local r = team({ "create", "-n", "Platform", "-r", "ORGANIZATION_MEMBER", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. "/teams " ..
        '{"description":"","name":"Platform","organizationRole":"ORGANIZATION_MEMBER"}\n' ..
        "Astro Team Platform would be created (dry run: nothing was sent)\n", r.stdout)
      no_writes()
      assert.are.equal(3, #box.sb:state().teams[ACME])
    end)

    it("shows the API's message when it refuses (a name already taken)", function()
      local r = team({ "create", "-n", "analysts", "-r", "ORGANIZATION_MEMBER" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: A team with the name analysts already exists in this organization.\n", r.stderr)
    end)
  end)

  describe("update", function()
    it("fetches the team, posts the new name and keeps its description", function()
      local r = team({ "update", DATA_ENG, "--name", "Data Eng" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team Data Engineering was successfully updated\n", r.stdout)
      assert.are.same({ "GET " .. TEAMS .. "/" .. DATA_ENG, "POST " .. TEAMS .. "/" .. DATA_ENG },
        h.trace(box.sb:requests()))
      assert.are.same({ description = "Data engineering team", name = "Data Eng" },
        json.decode(h.recorded(box.sb, { method = "POST" })[1].body))
      assert.are.equal("Data Eng", state_team(DATA_ENG).name)
    end)

    it("sets the organization role keeping the team's workspace and deployment roles", function()
      local r = team({ "up", DATA_ENG, "-r", "ORGANIZATION_OWNER", "-d", "New" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team Data Engineering was successfully updated\n" ..
        "Astro Team role Data Engineering was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
      local posts = h.recorded(box.sb, { method = "POST" })
      assert.are.equal(2, #posts)
      assert.are.same({ description = "New", name = "Data Engineering" }, json.decode(posts[1].body))
      assert.are.equal(TEAMS .. "/" .. DATA_ENG .. "/roles", posts[2].path)
      assert.are.same({
        organizationRole = "ORGANIZATION_OWNER",
        workspaceRoles = { { role = "WORKSPACE_OPERATOR", workspaceId = "clwanly000010uxapiyuxv50n" } },
        deploymentRoles = { { deploymentId = "cldetl00000101up5fg3ta5ub", role = "DEPLOYMENT_ADMIN" } },
      }, json.decode(posts[2].body))
      local t = state_team(DATA_ENG)
      assert.are.equal("ORGANIZATION_OWNER", t.organizationRole)
      assert.are.equal(1, #t.workspaceRoles)
    end)

    it("sends only organizationRole for a team without other roles, and no description it never had", function()
      box.sb:control("POST", "/_sandbox/seed", {
        organizations = { { id = ACME, name = "Acme Data Platform" } },
        teams = { [ACME] = { { id = "cteamplain", name = "Plain", organizationRole = "ORGANIZATION_MEMBER" } } },
      })
      local r = team({ "update", "cteamplain", "-r", "ORGANIZATION_BILLING_ADMIN" })
      assert.are.equal(0, r.code, r.stderr)
      local posts = h.recorded(box.sb, { method = "POST" })
      assert.are.equal('{"name":"Plain"}', posts[1].body)
      assert.are.equal('{"organizationRole":"ORGANIZATION_BILLING_ADMIN"}', posts[2].body)
    end)

    it("refuses a bad role before any request (the astro CLI updates the name first)", function()
      local r = team({ "update", DATA_ENG, "-n", "Other", "-r", "OWNER" })
      assert.are.equal(2, r.code)
      assert.are.equal("", r.stdout)
      assert.are.equal(INVALID_ROLE .. "Run 'astro organization team update --help' for usage.\n", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("offers the team menu without an id", function()
      local r = team({ "update", "-d", "Chosen" }, { stdin = "3\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(TEAM_MENU, r.stderr)
      assert.are.equal("Astro Team Analysts was successfully updated\n", r.stdout)
      assert.are.equal("Chosen", state_team(ANALYSTS).description)
      r = team({ "update" }, { stdin = "9\n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: invalid team selection\n$", r.stderr)
      r = team({ "update" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no team choice given: standard input ended; pass the team's id", r.stderr)
    end)

    it("asks before changing an IDP-managed team: y goes on, anything else ends with exit 0", function()
      local r = team({ "update", OKTA, "-n", "okta-admins" }, { stdin = "n\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(IDP_QUESTION, r.stderr)
      assert.are.equal("", r.stdout)
      no_writes()
      r = team({ "update", OKTA, "-n", "okta-admins" }, { stdin = "y\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team okta-platform-admins was successfully updated\n", r.stdout)
      assert.are.equal("okta-admins", state_team(OKTA).name)
    end)

    it("with a closed stdin the IDP question fails naming --force; --force skips it", function()
      local r = team({ "update", OKTA, "-n", "x" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no confirmation given: standard input ended; pass %-%-force", r.stderr)
      no_writes()
      r = team({ "update", OKTA, "-n", "x", "--force" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stderr)
      assert.are.equal("x", state_team(OKTA).name)
    end)

    it("says when the id names no team, and takes at most one id", function()
      local r = team({ "update", "cnosuchteam" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: Team not found\n", r.stderr)
      r = team({ "update", DATA_ENG, OKTA })
      assert.are.equal(2, r.code)
      assert.matches("accepts at most 1 arg%(s%), received 2", r.stderr)
    end)

    it("sends nothing under --dry-run", function()
      local r = team({ "update", DATA_ENG, "-n", "X", "-r", "ORGANIZATION_OWNER", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal(4, #lines)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. "/teams/" .. DATA_ENG ..
        ' {"description":"Data engineering team","name":"X"}', lines[1])
      assert.are.equal("Astro Team Data Engineering would be updated (dry run: nothing was sent)", lines[2])
      assert.matches("^dry run: POST /organizations/" .. ACME .. "/teams/" .. DATA_ENG .. "/roles ", lines[3])
      assert.are.equal("Astro Team role Data Engineering would be updated to ORGANIZATION_OWNER (dry run: nothing was sent)",
        lines[4])
      no_writes()
      assert.are.equal("Data Engineering", state_team(DATA_ENG).name)
    end)
  end)

  describe("delete", function()
    it("deletes the team with that id, through the alias de", function()
      local r = box.run({ "org", "te", "de", ANALYSTS })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team Analysts was successfully deleted\n", r.stdout)
      assert.are.same({ "DELETE " .. TEAMS .. "/" .. ANALYSTS }, h.trace(h.writes(box.sb)))
      assert.is_nil(state_team(ANALYSTS))
    end)

    it("offers the menu, asks before deleting an IDP-managed team, and -f skips the question", function()
      local r = team({ "delete" }, { stdin = "2\nno\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(TEAM_MENU .. IDP_QUESTION, r.stderr)
      no_writes()
      r = team({ "delete" }, { stdin = "2\ny\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Team okta-platform-admins was successfully deleted\n", r.stdout)
      box.sb:control("POST", "/_sandbox/reset")
      r = team({ "delete", OKTA, "-f" })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_nil(state_team(OKTA))
    end)

    it("fails on a closed stdin naming --force, on an empty organization, and sends nothing under --dry-run", function()
      local r = team({ "delete", OKTA })
      assert.are.equal(1, r.code)
      assert.matches("pass %-%-force", r.stderr)
      r = team({ "delete", DATA_ENG, "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: DELETE /organizations/" .. ACME .. "/teams/" .. DATA_ENG .. "\n" ..
        "Astro Team Data Engineering would be deleted (dry run: nothing was sent)\n", r.stdout)
      no_writes()
      box.sb:control("POST", "/_sandbox/seed", { organizations = { { id = ACME, name = "Acme" } }, teams = {} })
      r = team({ "delete" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: no teams found in your organization\n", r.stderr)
    end)
  end)

  describe("user list", function()
    it("prints the members of the team as the astro CLI's table", function()
      local r = box.run({ "org", "te", "us", "ls", "-t", DATA_ENG })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(
        " ID                            FullName      Email                 \n" ..
        " clrjane00000109s3nj4egnyn     Jane Doe      jane.doe@acme.io      \n" ..
        " clrraj0000002019nj9w0ji6b     Raj Patel     raj.patel@acme.io     \n", r.stdout)
      assert.are.same({ "GET " .. TEAMS .. "/" .. DATA_ENG, "GET " .. TEAMS .. "/" .. DATA_ENG .. "/members" },
        h.trace(box.sb:requests()))
    end)

    it("says so for a team without members, the team chosen from the menu", function()
      local r = team({ "user", "list" }, { stdin = "3\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("The selected team has no members\n", r.stdout)
      assert.are.equal(TEAM_MENU, r.stderr)
      r = team({ "user", "list", "-t", ANALYSTS, "--json" })
      assert.are.equal('{\n  "members": []\n}\n', r.stdout)
    end)

    it("prints JSON and CSV, over several pages", function()
      box.sb:faults({ max_page_size = 1 })
      local r = team({ "users", "list", "--team-id", DATA_ENG, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ members = {
        { id = JANE, fullName = "Jane Doe", email = "jane.doe@acme.io", createdAt = "2024-01-10T10:00:00Z" },
        { id = RAJ, fullName = "Raj Patel", email = "raj.patel@acme.io", createdAt = "2024-01-10T10:00:00Z" },
      } }, json.decode(r.stdout))
      assert.are.equal(2, #h.recorded(box.sb, { path = TEAMS .. "/" .. DATA_ENG .. "/members" }))
      r = team({ "user", "list", "-t", DATA_ENG, "-o", "csv" })
      assert.are.equal("id,full_name,email,created_at\n" ..
        JANE .. ",Jane Doe,jane.doe@acme.io,2024-01-10T10:00:00Z\n" ..
        RAJ .. ",Raj Patel,raj.patel@acme.io,2024-01-10T10:00:00Z\n", r.stdout)
    end)

    it("fails on a closed stdin naming --team-id", function()
      local r = team({ "user", "list" })
      assert.are.equal(1, r.code)
      assert.matches("pass it with %-%-team%-id\n$", r.stderr)
    end)
  end)

  describe("user add", function()
    it("adds the user with that id to the team", function()
      local r = team({ "user", "add", "--team-id", ANALYSTS, "--user-id", MEI })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro User " .. MEI .. " was successfully added to team Analysts \n", r.stdout)
      assert.are.same({ "GET " .. TEAMS .. "/" .. ANALYSTS, "GET /v1/organizations/" .. ACME .. "/users/" .. MEI,
        "POST " .. TEAMS .. "/" .. ANALYSTS .. "/members" }, h.trace(box.sb:requests()))
      assert.are.equal('{"memberIds":["' .. MEI .. '"]}', h.recorded(box.sb, { method = "POST" })[1].body)
      assert.are.same({ MEI }, member_ids(ANALYSTS))
    end)

    it("offers the team and user menus, and asks about an IDP-managed team", function()
      local r = team({ "user", "add" }, { stdin = "2\ny\n2\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro User " .. RAJ .. " was successfully added to team okta-platform-admins \n", r.stdout)
      assert.truthy(r.stderr:find(TEAM_MENU .. IDP_QUESTION .. "\nPlease select the user:\n", 1, true))
      assert.are.same({ JANE, RAJ }, member_ids(OKTA))
      r = team({ "user", "add", "-t", ANALYSTS }, { stdin = "7\n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: invalid User selected\n$", r.stderr)
      r = team({ "user", "add", "-t", OKTA, "-u", MEI })
      assert.are.equal(1, r.code)
      assert.matches("pass %-%-force", r.stderr)
      r = team({ "user", "add", "-t", ANALYSTS })
      assert.are.equal(1, r.code)
      assert.matches("pass it with %-%-user%-id\n$", r.stderr)
      assert.are.same({ "POST " .. TEAMS .. "/" .. OKTA .. "/members" }, h.trace(h.writes(box.sb)))
    end)

    it("shows the API's messages: an unknown user, a member already there", function()
      local r = team({ "user", "add", "-t", ANALYSTS, "-u", "cnobody" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: User not found\n", r.stderr)
      r = team({ "user", "add", "-t", DATA_ENG, "-u", RAJ })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: User " .. RAJ .. " is already a member of this team.\n", r.stderr)
    end)

    it("sends nothing under --dry-run", function()
      local r = team({ "user", "add", "-t", OKTA, "-u", MEI, "-f", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. "/teams/" .. OKTA .. '/members {"memberIds":["' ..
        MEI .. '"]}\n' ..
        "Astro User " .. MEI .. " would be added to team okta-platform-admins (dry run: nothing was sent)\n", r.stdout)
      no_writes()
    end)
  end)

  describe("user remove", function()
    it("removes the member with that id", function()
      local r = team({ "user", "remove", "-t", DATA_ENG, "-u", RAJ })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro User " .. RAJ .. " was successfully removed from team Data Engineering \n", r.stdout)
      assert.are.same({ "DELETE " .. TEAMS .. "/" .. DATA_ENG .. "/members/" .. RAJ }, h.trace(h.writes(box.sb)))
      assert.are.same({ JANE }, member_ids(DATA_ENG))
    end)

    it("offers the member menu", function()
      local r = team({ "user", "remove", "-t", DATA_ENG }, { stdin = "1\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("\nPlease select the teamMember who's membership you'd like to modify:\n" ..
        " #     FULLNAME      EMAIL                 ID                            \n" ..
        " 1     Jane Doe      jane.doe@acme.io      clrjane00000109s3nj4egnyn     \n" ..
        " 2     Raj Patel     raj.patel@acme.io     clrraj0000002019nj9w0ji6b     \n" ..
        "\n> ", r.stderr)
      assert.are.same({ RAJ }, member_ids(DATA_ENG))
      r = team({ "user", "remove", "-t", DATA_ENG }, { stdin = "5\n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: invalid team member selection\n$", r.stderr)
      r = team({ "user", "remove", "-t", DATA_ENG })
      assert.are.equal(1, r.code)
      assert.matches("pass it with %-%-user%-id\n$", r.stderr)
    end)

    it("says when the user is no member, or the team has none, and sends nothing", function()
      local r = team({ "user", "remove", "-t", DATA_ENG, "-u", MEI })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: user " .. MEI .. " is not a member of team Data Engineering\n", r.stderr)
      r = team({ "user", "remove", "-t", ANALYSTS, "-u", MEI })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: no team members found in team\n", r.stderr)
      no_writes()
    end)

    it("asks about an IDP-managed team (-f skips it) and sends nothing under --dry-run", function()
      local r = team({ "user", "remove", "-t", OKTA, "-u", JANE }, { stdin = "nope\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(IDP_QUESTION, r.stderr)
      no_writes()
      r = team({ "user", "remove", "-t", OKTA, "-u", JANE, "--force", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: DELETE /organizations/" .. ACME .. "/teams/" .. OKTA .. "/members/" .. JANE .. "\n" ..
        "Astro User " .. JANE .. " would be removed from team okta-platform-admins " ..
        "(dry run: nothing was sent)\n", r.stdout)
      no_writes()
      r = team({ "user", "remove", "-t", OKTA, "-u", JANE, "--force" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({}, member_ids(OKTA))
    end)
  end)

  describe("astro.teams (astro run)", function()
    it("checks its arguments before sending anything", function()
      local script = box.file("check.lua", [[
local teams = astro.teams
local function show(ok, err) print(ok and "ok" or err.message) end
show(teams.create({ name = "X", role = "ADMIN" }))
show(teams.create({ name = "  " }))
show(teams.set_role("]] .. DATA_ENG .. [[", "OWNER"))
show(teams.get(""))
show(teams.members.add("]] .. DATA_ENG .. [[", {}))
show(teams.members.add("]] .. DATA_ENG .. [[", { "" }))
show(teams.members.remove("]] .. DATA_ENG .. [[", ""))
print(pcall(teams.get, 42))
]])
      local r = box.run({ "run", script })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal("requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
        "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER ", lines[1])
      assert.are.equal("you must give your Team a name", lines[2])
      assert.matches("^requested role is invalid", lines[3])
      assert.are.equal("team id is empty: give the team id", lines[4])
      assert.are.equal("no user id given: give at least one", lines[5])
      assert.are.equal("user id is empty: give the user id", lines[6])
      assert.are.equal("user id is empty: give the user id", lines[7])
      assert.matches("^false\t.*team id must be a string", lines[8])
      assert.are.same({}, box.sb:requests())
    end)

    it("runs the example of docs/automation.md", function()
      local guide = assert(h.read_file(h.root .. "/docs/automation.md"))
      local example = guide:match("### Teams\n.-```lua\n(.-)```\n")
      local r = box.run({ "run", box.file("example.lua", assert(example)) })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("raj.patel@acme.io\nmanaged by the IDP:\tokta-platform-admins\n", r.stdout)
      local st, created = box.sb:state(), nil
      for _, t in ipairs(st.teams[ACME]) do if t.name == "Platform" then created = t end end
      assert.are.equal("ORGANIZATION_BILLING_ADMIN", created.organizationRole)
      assert.are.equal(RAJ, st.teamMembers[created.id][1].userId)
    end)
  end)

  it("escapes terminal controls of names the API sends", function()
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "Acme" } },
      teams = { [ACME] = { { id = "cteamesc", name = "Evil\27]0;x\7Team", organizationRole = "ORGANIZATION_MEMBER" } } },
    })
    local r = team({ "delete", "cteamesc" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_nil(r.stdout:find("\27", 1, true))
    r = team({ "delete" }, { stdin = "1\n" })
    assert.is_nil(r.stderr:find("\27", 1, true))
  end)
end)
