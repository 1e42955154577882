-- `astro organization switch` against the sandbox API: the organization chosen, the requests,
-- and the config file afterwards.
local h = require("spec.helpers")
local config = require("astro.core.config")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH
local ANALYTICS, MLOPS = h.ids.ANALYTICS, h.ids.MLOPS
local OPERATIONS, TPS = h.ids.OPERATIONS, h.ids.TPS
local SWITCHED = "\nSuccessfully switched organization\n"
local SAME = "You selected the same organization as the current one. No switch was made\n"
-- fixtures/expected/organization-switch.selection-table.txt (no colour off a terminal), then "\n> ".
local ORG_MENU =
  " #     NAME                   ID                            \n" ..
  " 1     Acme Data Platform     clt0acme000010bhys38c6ryb     \n" ..
  " 2     Globex                 clu7glbx000020j7zc6npf32j     \n" ..
  " 3     Initech Sandbox        clv2init000030es9qjsmo8nu     \n" ..
  "\n> "
local WS_MENU = "\nPlease choose a workspace:\n" ..
  " #     NAME          ID                            \n" ..
  " 1     Analytics     clwanly000010uxapiyuxv50n     \n" ..
  " 2     ML Ops        clwmlops000201ra423vdshc4     \n" ..
  "\n> "
local NO_DEFAULT = "\nNo default workspace detected, you can list workspaces with \n\tastro workspace list\n" ..
  "and set your default workspace with \n\tastro workspace switch [WORKSPACEID]\n\n"
-- The other context, top-level blocks and context key the switch must leave alone.
local OTHER = "  astronomer_io:\n    domain: astronomer.io\n    organization: clzother00000000000000000\n" ..
  "    token: Bearer other-token\n    workspace: clwother00000000000000000\n"
local EXTRA = 'telemetry:\n  enabled: "false"\nmy_plugin:\n  setting: keep-me\n  list: [a, b]\n'

local function context_table(ws)
  return string.format(" %-36s%-36s\n %-36s%-36s\n", "CONTROLPLANE", "WORKSPACE", "localhost", ws)
end

--- "METHOD path?query" of every recorded request.
local function trace(sb)
  local out = {}
  for i, r in ipairs(sb:requests()) do
    out[i] = r.method .. " " .. r.path .. (r.query ~= "" and ("?" .. r.query) or "")
    assert.are.equal("Bearer test-token", r.headers.Authorization)
  end
  return out
end

local function ws_list(org) return "GET /v1/organizations/" .. org .. "/workspaces?limit=1000&offset=0&sorts=name%3Aasc" end
local ORGS = "GET /v1/organizations?limit=1000&offset=0"
local SELF = "GET /v1/users/self?createIfNotExist=true"

describe("astro organization switch", function()
  local box = h.use_sandbox({ home = false })

  --- A home on organization `org` (default Acme) with another context, unknown keys and
  -- the given workspace/last_used_workspace. Returns home, config path, original text.
  local function home(org, workspace, last_used)
    local dir = box.sb:home({ organization = org or ACME, extra = EXTRA })
    local path = dir .. "/.astro/config.yaml"
    local text = h.read_file(path):gsub("contexts:\n", "contexts:\n" .. OTHER, 1)
      :gsub("  localhost:\n", "  localhost:\n    custom_key: keep-me\n", 1)
      :gsub('last_used_workspace: ""', "last_used_workspace: " .. (last_used or '""'), 1)
      :gsub('\n    workspace: ""', "\n    workspace: " .. (workspace or '""'), 1)
    h.write_file(path, text)
    return dir, path, text
  end

  local function switch(dir, args, opts)
    local full = { "organization", "switch" }
    for _, a in ipairs(args) do full[#full + 1] = a end
    opts = opts or {}
    opts.home = dir
    return h.run(full, opts)
  end

  --- Checks what must survive every switch in the config file and returns the switched keys:
  -- { organization, organization_product, workspace, last_used_workspace }.
  local function after(path)
    local tree = assert(config.read(path))
    assert.are.same({ domain = "astronomer.io", organization = "clzother00000000000000000",
                      token = "Bearer other-token", workspace = "clwother00000000000000000" }, tree.contexts.astronomer_io)
    assert.are.same({ enabled = "false" }, tree.telemetry)
    assert.are.same({ setting = "keep-me", list = { "a", "b" } }, tree.my_plugin)
    assert.are.equal("localhost", tree.context)
    local c = tree.contexts.localhost
    assert.are.same({ "keep-me", "Bearer test-token", "sandbox-refresh-token", "jane.doe@acme.io", "localhost" },
      { c.custom_key, c.token, c.refreshtoken, c.user_email, c.domain })
    assert.are.equal("600", h.capture("stat -c %a " .. path):gsub("%s+$", ""))
    return { c.organization, c.organization_product, c.workspace, c.last_used_workspace }
  end

  it("switches by exact name: lists, checks the session, lists workspaces, takes the only one", function()
    local dir, path = home(ACME, ANALYTICS, ANALYTICS)
    local r = switch(dir, { "Globex" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal('"Operations" Workspace found. This is your default Workspace.\n', r.stderr)
    assert.are.same({ ORGS, SELF, ws_list(GLOBEX) }, trace(box.sb))
    assert.are.same({ GLOBEX, "HYBRID", OPERATIONS, OPERATIONS }, after(path))
    assert.is_nil((r.stdout .. r.stderr):find("test-token", 1, true))
  end)

  it("switches by id with one GET of that organization, no query, also through the alias sw", function()
    local dir, path = home(GLOBEX)
    local r = h.run({ "org", "sw", INITECH }, { home = dir })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal('"TPS Reports" Workspace found. This is your default Workspace.\n', r.stderr)
    assert.are.same({ "GET /v1/organizations/" .. INITECH, SELF, ws_list(INITECH) }, trace(box.sb))
    assert.are.same({ INITECH, "HOSTED", TPS, TPS }, after(path))
  end)

  it("compares names exactly, looks ids up, and leaves the config untouched when none matches", function()
    local dir, path, before = home()
    for _, name in ipairs({ "globex", "Globex ", "Acme", "Nope" }) do
      local r = switch(dir, { name })
      assert.are.equal(1, r.code, name)
      assert.are.equal("", r.stdout)
      assert.are.equal("Error: invalid organization name\n", r.stderr)
    end
    local r = switch(dir, { "clzzzzzzzzzzzzzzzzzzzzzzz" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: Organization not found\n", r.stderr)
    assert.are.same({ ORGS, ORGS, ORGS, ORGS, "GET /v1/organizations/clzzzzzzzzzzzzzzzzzzzzzzz" }, trace(box.sb))
    assert.are.equal(before, h.read_file(path))
  end)

  it("offers a menu on stderr without an argument and switches to the chosen row", function()
    local dir, path = home()
    local r = switch(dir, {}, { stdin = "2\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal(ORG_MENU .. '"Operations" Workspace found. This is your default Workspace.\n', r.stderr)
    assert.are.same({ GLOBEX, "HYBRID", OPERATIONS, OPERATIONS }, after(path))
  end)

  it("offers the menu for an empty argument too, as the astro CLI does (reference 2.2)", function()
    local dir, path, before = home()
    local r = switch(dir, { "" }, { stdin = "3\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal(ORG_MENU .. '"TPS Reports" Workspace found. This is your default Workspace.\n', r.stderr)
    assert.are.same({ ORGS, SELF, ws_list(INITECH) }, trace(box.sb))
    assert.are.same({ INITECH, "HOSTED", TPS, TPS }, after(path))
    -- A script's empty variable with no one to answer: the menu fails at once, nothing changes.
    h.write_file(path, before)
    r = h.run({ "org", "sw", "" }, { home = dir })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal(ORG_MENU .. "\nError: no organization choice given: standard input ended; " ..
      "pass the organization's name or id as an argument\n", r.stderr)
    assert.are.equal(before, h.read_file(path))
    -- Only the empty string: blanks are a name (none matches).
    r = switch(dir, { " " }, { stdin = "3\n" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: invalid organization name\n", r.stderr)
  end)

  it("accepts only a row number at the menu, fails at end of input, and leaves the config untouched", function()
    local dir, path, before = home()
    for _, answer in ipairs({ "0", "4", " 2", "2.0", "Globex", "" }) do
      local r = switch(dir, {}, { stdin = answer .. "\n" })
      assert.are.equal(1, r.code, answer)
      assert.are.equal("", r.stdout)
      assert.are.equal(ORG_MENU .. "Error: invalid organization selection\n", r.stderr)
    end
    for _, t in ipairs(trace(box.sb)) do assert.are.equal(ORGS, t) end
    local r = switch(dir, {})
    assert.are.equal(1, r.code)
    assert.are.equal(ORG_MENU .. "\nError: no organization choice given: standard input ended; " ..
      "pass the organization's name or id as an argument\n", r.stderr)
    assert.are.equal(before, h.read_file(path))
  end)

  it("changes nothing when the organization is already the current one", function()
    local dir, path, before = home(ACME, MLOPS, MLOPS)
    for _, arg in ipairs({ "Acme Data Platform", ACME }) do
      local r = switch(dir, { arg })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(SAME, r.stdout)
      assert.are.equal("", r.stderr)
    end
    assert.are.same({ ORGS, "GET /v1/organizations/" .. ACME }, trace(box.sb))
    assert.are.equal(before, h.read_file(path))
  end)

  it("keeps the last used workspace when the new organization has it", function()
    local dir, path = home(GLOBEX, OPERATIONS, MLOPS)
    local r = switch(dir, { "Acme Data Platform" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal('"ML Ops" Workspace found. This is your default Workspace.\n', r.stderr)
    assert.are.same({ ACME, "HOSTED", MLOPS, MLOPS }, after(path))
  end)

  it("asks on stderr which workspace to use when there are several and none was used", function()
    local dir, path = home(GLOBEX, OPERATIONS, OPERATIONS)
    local r = switch(dir, { "Acme Data Platform" }, { stdin = "2\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(WS_MENU, r.stderr)
    assert.are.same({ ACME, "HOSTED", MLOPS, MLOPS }, after(path))
  end)

  it("prints the context table after a workspace is chosen from the menu (reference 6.6)", function()
    local dir = home(GLOBEX)
    local r = switch(dir, { "Acme Data Platform" }, { stdin = "1\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(context_table(ANALYTICS) .. SWITCHED, r.stdout)
  end)

  it("still switches without a default workspace when the workspace menu gets no valid answer", function()
    for _, case in ipairs({ { stdin = nil, echo = "\n" }, { stdin = "3\n", echo = "" } }) do
      local dir, path = home(GLOBEX, OPERATIONS, OPERATIONS)
      local r = switch(dir, { "Acme Data Platform" }, { stdin = case.stdin })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(SWITCHED, r.stdout)
      assert.are.equal(WS_MENU .. case.echo .. NO_DEFAULT, r.stderr)
      assert.are.same({ ACME, "HOSTED", "", OPERATIONS }, after(path))
    end
  end)

  it("sets the workspace named or numbered by --workspace-id and prints the context table", function()
    local dir, path = home(GLOBEX, OPERATIONS, OPERATIONS)
    local r = switch(dir, { "Acme Data Platform", "--workspace-id", "ML Ops" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED .. context_table(MLOPS), r.stdout)
    assert.are.same({ ORGS, SELF, ws_list(ACME) }, trace(box.sb))
    assert.are.same({ ACME, "HOSTED", MLOPS, MLOPS }, after(path))
  end)

  it("sets the workspace with --workspace-id even when the organization stays", function()
    local dir, path = home(ACME, ANALYTICS, ANALYTICS)
    local r = switch(dir, { ACME, "-w", MLOPS })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SAME .. context_table(MLOPS), r.stdout)
    assert.are.same({ "GET /v1/organizations/" .. ACME, ws_list(ACME) }, trace(box.sb))
    assert.are.same({ ACME, "HOSTED", MLOPS, MLOPS }, after(path))
  end)

  it("refuses an unknown --workspace-id and leaves the config untouched", function()
    local dir, path, before = home(GLOBEX, OPERATIONS, OPERATIONS)
    local r = switch(dir, { "Acme Data Platform", "--workspace-id", "Operations" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: workspace id/name could not be found\n", r.stderr)
    assert.are.equal(before, h.read_file(path))
  end)

  it("leaves the config untouched when the session check or the workspace listing fails", function()
    local dir, path, before = home()
    box.sb:faults({ fail_next = 1, fail_status = 403, fault_path_prefix = "/v1/users/self" })
    local r = switch(dir, { "Globex" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: Forbidden\n", r.stderr)
    box.sb:faults({ fail_next = 1, fail_status = 500, fault_path_prefix = "/v1/organizations/" .. GLOBEX .. "/workspaces" })
    r = switch(dir, { "Globex" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: Internal Server Error\n", r.stderr)
    assert.are.equal(before, h.read_file(path))
  end)

  it("refuses --login-link and ASTRO_API_TOKEN before sending or writing anything", function()
    local dir, path, before = home()
    local r = switch(dir, { "Globex", "--login-link" })
    assert.are.equal(1, r.code)
    assert.matches("^Error: %-%-login%-link is not supported", r.stderr)
    r = switch(dir, { "Globex" }, { env = { ASTRO_API_TOKEN = "api-token-value" } })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: cannot switch organization while ASTRO_API_TOKEN is set", r.stderr)
    assert.is_nil(r.stderr:find("api-token-value", 1, true))
    assert.are.equal(0, #box.sb:requests())
    assert.are.equal(before, h.read_file(path))
  end)

  it("says how to log in without credentials, and refuses two arguments with exit 2", function()
    local dir, path = home()
    h.write_file(path, (h.read_file(path):gsub("token: Bearer test%-token", 'token: ""')))
    local r = switch(dir, { "Globex" })
    assert.are.equal(1, r.code)
    assert.matches("^Error: no credentials: set ASTRO_API_TOKEN", r.stderr)
    r = switch(dir, { "Globex", "Initech Sandbox" })
    assert.are.equal(2, r.code)
    assert.matches("^Error: accepts at most 1 arg%(s%), received 2\n", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)
end)

describe("astro organization switch with unusual organizations", function()
  local HOME_ORG, BARE, TWIN1, TWIN2 = "clhome0000000000000000000", "clbare0000000000000000000",
    "cltwin1000000000000000000", "cltwin2000000000000000000"
  local W1, W2, W3 = "clwtwin100000000000000000", "clwtwin200000000000000000", "clwsolo000000000000000000"
  local dir, path

  -- A sandbox seeded with these organizations and workspaces alone.
  local box = h.use_sandbox({ home = false, reset = false, flags = function()
    local seed = h.tmpdir() .. "/seed.json"
    h.write_file(seed, require("astro.json").encode({
      self = { id = "clrjane00000109s3nj4egnyn", username = "jane.doe@acme.io", fullName = "Jane Doe" },
      organizations = { { id = HOME_ORG, name = "Home", product = "HOSTED" }, { id = BARE, name = "Bare" },
                        { id = TWIN1, name = "Twin", product = "HOSTED" }, { id = TWIN2, name = "Twin", product = "HYBRID" } },
      workspaces = { [HOME_ORG] = { { id = W1, name = "Twin" }, { id = W2, name = "Twin" }, { id = W3, name = "Solo" } } },
    }))
    return { "--seed", seed }
  end })
  before_each(function()
    dir = box.sb:home({ organization = HOME_ORG })
    path = dir .. "/.astro/config.yaml"
    h.write_file(path, (h.read_file(path):gsub('\n    workspace: ""', "\n    workspace: " .. W3)))
  end)

  it("clears the workspace for an organization without workspaces and defaults its product to HYBRID", function()
    local r = h.run({ "organization", "switch", "Bare" }, { home = dir })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SWITCHED, r.stdout)
    assert.are.equal("", r.stderr)
    local c = assert(config.read(path)).contexts.localhost
    assert.are.equal(BARE, c.organization)
    assert.are.equal("HYBRID", c.organization_product)
    assert.are.equal("", c.workspace)
  end)

  it("takes the first organization with that name", function()
    local r = h.run({ "organization", "switch", "Twin" }, { home = dir })
    assert.are.equal(0, r.code, r.stderr)
    local c = assert(config.read(path)).contexts.localhost
    assert.are.equal(TWIN1, c.organization)
    assert.are.equal("HOSTED", c.organization_product)
  end)

  it("takes the last workspace with the name given to --workspace-id", function()
    local r = h.run({ "organization", "switch", "Home", "--workspace-id", "Twin" }, { home = dir })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(SAME .. context_table(W2), r.stdout)
    local c = assert(config.read(path)).contexts.localhost
    assert.are.equal(W2, c.workspace)
    assert.are.equal(W2, c.last_used_workspace)
  end)
end)
