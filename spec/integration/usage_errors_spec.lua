-- Usage errors: a mistake in how a command was typed (an unknown flag, a flag without its value,
-- a bad flag value, a bad --role, --output or --verbosity, too many arguments, an unknown
-- subcommand) exits 2 and prints `Error: <message>` and one line naming the help to read,
-- `Run '<command> --help' for usage.`, with the command's real path (also when it was typed
-- through an alias), never the whole usage block. Every other error keeps exit 1 and no hint.
local h = require("spec.helpers")

local ACME = h.ids.ACME
local INVALID_ROLE = "requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER "

--- The whole stderr of a usage error of the command at path.
local function usage(message, path)
  return "Error: " .. message .. "\nRun '" .. path .. " --help' for usage.\n"
end

describe("usage errors", function()
  local box = h.use_sandbox({ reset = "requests" })
  local run = box.run

  --- Runs args and expects exit 2, exactly `want` on stderr, nothing on stdout, no request and
  -- the config file unchanged.
  local function refused(args, want, opts)
    local path = box.home .. "/.astro/config.yaml"
    local before = h.read_file(path)
    box.sb:reset_requests()
    local r = run(args, opts)
    local where = table.concat(args, " ")
    assert.are.equal(2, r.code, where .. ": " .. r.stderr)
    assert.are.equal(want, r.stderr, where)
    assert.are.equal("", r.stdout, where)
    assert.are.same({}, box.sb:requests(), where .. " sent a request")
    assert.are.equal(before, h.read_file(path), where)
    return r
  end

  it("from the parser: unknown flag, flag without its value, bad bool, extra arguments", function()
    refused({ "organization", "user", "list", "--bogus" },
      usage("unknown flag: --bogus", "astro organization user list"))
    refused({ "organization", "user", "list", "-x" },
      usage("unknown shorthand flag: 'x' in -x", "astro organization user list"))
    refused({ "organization", "user", "invite", "a@acme.io", "--role" },
      usage("flag needs an argument: --role", "astro organization user invite"))
    refused({ "organization", "user", "list", "-o" },
      usage("flag needs an argument: 'o' in -o", "astro organization user list"))
    refused({ "organization", "list", "--json=maybe" },
      usage('invalid argument "maybe" for "--json" flag: not a boolean (true or false)', "astro organization list"))
    refused({ "organization", "switch", "a", "b" },
      usage("accepts at most 1 arg(s), received 2", "astro organization switch"))
    refused({ "organization", "list", "extra" },
      usage("accepts at most 0 arg(s), received 1", "astro organization list"))
    refused({ "organization", "user", "invite", "a@acme.io", "-r", "ORGANIZATION_OWNER", "-r", "ORGANIZATION_MEMBER" },
      usage("flag --role given twice", "astro organization user invite"))
  end)

  it("names the command's real path when it was typed through aliases", function()
    refused({ "org", "us", "ls", "--bogus" }, usage("unknown flag: --bogus", "astro organization user list"))
    refused({ "org", "te", "user", "ls", "--bogus" }, usage("unknown flag: --bogus", "astro organization team user list"))
    refused({ "org", "to", "cr", "-e", "x" }, usage('invalid argument "x" for "-e, --expiration" flag: ' ..
      'strconv.ParseInt: parsing "x": invalid syntax', "astro organization token create"))
  end)

  it("from an unknown subcommand of a group, after cobra's suggestions", function()
    refused({ "organization", "user", "frobnicate" },
      usage('unknown command "frobnicate" for "astro organization user"', "astro organization user"))
    refused({ "org", "user", "updte" },
      'Error: unknown command "updte" for "astro organization user"\n\nDid you mean this?\n\tupdate\n\n' ..
      "Run 'astro organization user --help' for usage.\n")
    refused({ "organization", "t" },
      'Error: unknown command "t" for "astro organization"\n\nDid you mean this?\n\tteam\n\ttoken\n\n' ..
      "Run 'astro organization --help' for usage.\n")
  end)

  it("from a bad -o, --json with -o, and bad flag values the commands check", function()
    refused({ "organization", "user", "list", "-o", "xml" },
      usage('invalid format "xml" (must be table, json or csv)', "astro organization user list"))
    refused({ "organization", "list", "--json", "-o", "csv" },
      usage("if any flags in the group [json output] are set none of the others can be; [json output] were all set",
        "astro organization list"))
    refused({ "organization", "audit-logs", "export", "-i", "abc" },
      usage('invalid argument "abc" for "-i, --include" flag: not a whole number of days',
        "astro organization audit-logs export"))
    refused({ "organization", "token", "create", "-n", "ci", "-r", "ORGANIZATION_MEMBER", "-e", "5000" },
      usage("the expiration must be a whole number of days from 1 to 3650 (0, or no --expiration, for a token " ..
        "that does not expire)", "astro organization token create"))
  end)

  it("from a bad --role, in every command that takes one, before any prompt or request", function()
    for _, case in ipairs({
      { { "organization", "user", "invite", "new@acme.io", "--role", "OWNER" }, "astro organization user invite" },
      { { "organization", "user", "invite", "--role", "OWNER" }, "astro organization user invite" },
      { { "organization", "user", "update", "raj.patel@acme.io", "-r", "organization_owner" },
        "astro organization user update" },
      { { "organization", "user", "update", "-r", "ORGANIZATION_OBSERVE_MEMBER" }, "astro organization user update" },
      { { "organization", "team", "create", "-n", "T", "-r", "OWNER" }, "astro organization team create" },
      { { "organization", "team", "update", "cteam", "-r", "OWNER" }, "astro organization team update" },
      { { "organization", "token", "create", "-n", "ci", "-r", "OWNER" }, "astro organization token create" },
      { { "organization", "token", "update", "ctok", "-r", "OWNER" }, "astro organization token update" },
      { { "organization", "user", "invite", "--file", box.dir .. "/none.csv", "-r", "OWNER" },
        "astro organization user invite" },
      { { "organization", "user", "update", "--file", box.dir .. "/none.csv", "--role=OWNER" },
        "astro organization user update" },
    }) do
      -- Standard input holds answers: a command that prompted would read them and go on.
      refused(case[1], usage(INVALID_ROLE, case[2]), { stdin = "x@acme.io\nT\n1\n" })
    end
  end)

  it("from a bad --verbosity level; a bad level in the config file is not one (exit 1, no hint)", function()
    refused({ "organization", "list", "--verbosity", "loud" },
      usage('not a valid logrus Level: "loud"', "astro organization list"))
    refused({ "org", "us", "ls", "--verbosity=" }, usage('not a valid logrus Level: ""', "astro organization user list"))
    local home = box.sb:home({ extra = "verbosity: chatty\n" })
    local r = run({ "organization", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.are.equal('Error: not a valid logrus Level: "chatty"\n', r.stderr)
  end)

  it("from astro run without a file; a script's own usage error exits 2 without astro run's hint", function()
    refused({ "run" }, usage("astro run needs a Lua file: astro run FILE [ARGS]", "astro run"))
    local script = box.file("needs_name.lua", 'return nil, astro.errors.usage("usage: needs_name.lua NAME")\n')
    refused({ "run", script }, "Error: usage: needs_name.lua NAME\n")
  end)

  it("from a plugin command, named by its own path", function()
    local home = box.sb:home()
    h.install_plugin(home, "greet.lua", [[
return {
  command = "organization user greet",
  use = "greet NAME",
  short = "Greets",
  args = { min = 1, max = 1 },
  run = function(opts, ctx)
    if opts.args[1] == "" then return nil, astro.errors.usage("greet needs a NAME") end
    if opts.args[1] == "plain" then return nil, astro.errors.new("not a usage error") end
    if opts.args[1] == "coded" then return nil, astro.errors.new("coded as one", { code = "usage" }) end
    ctx.stdout:write("hello ", opts.args[1], "\n")
  end,
}
]])
    local path = "astro organization user greet"
    for _, case in ipairs({
      { { "" }, usage("greet needs a NAME", path) },
      { { "coded" }, usage("coded as one", path) },
      { {}, usage("requires at least 1 arg(s), only received 0", path) },
      { { "a", "b" }, usage("accepts at most 1 arg(s), received 2", path) },
      { { "--nope" }, usage("unknown flag: --nope", path) },
    }) do
      local r = run({ "org", "users", "greet", table.unpack(case[1]) }, { home = home })
      assert.are.equal(2, r.code, case[2])
      assert.are.equal(case[2], r.stderr)
    end
    local r = run({ "organization", "user", "greet", "plain" }, { home = home })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: not a usage error\n", r.stderr)
  end)

  it("are not: a bad role in a --file row, a typed role, an unknown user, an API refusal (exit 1, no hint)", function()
    local file = box.file("rows.csv", "email,role\nraj.patel@acme.io,organization_owner\n")
    local r = run({ "organization", "user", "update", "--file", file })
    assert.are.equal(1, r.code)
    assert.matches("requested role is invalid", r.stdout)
    assert.is_nil(r.stderr:find("--help' for usage", 1, true))
    r = run({ "organization", "user", "update", "raj.patel@acme.io" }, { stdin = "OWNER\n" })
    assert.are.equal(1, r.code)
    assert.matches("Error: " .. INVALID_ROLE:gsub("%p", "%%%0") .. "\n$", r.stderr)
    r = run({ "organization", "user", "update", "nobody@acme.io", "-r", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: no user was found for the email you provided\n", r.stderr)
    r = run({ "organization", "team", "update", "cnoteam", "-r", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.is_nil(r.stderr:find("for usage", 1, true))
    assert.is_nil(r.stderr:find("Usage:", 1, true))
  end)
end)
