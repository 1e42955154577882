-- astro.cli: the command tree and the cobra/pflag-style argument parser.
local tree_mod = require("astro.cli.tree")
local parse = require("astro.cli.parse")
local help = require("astro.cli.help")

local function tree()
  local specs = {
    ["astro.commands.org"] = { use = "org", aliases = { "o" }, short = "group" },
    ["astro.commands.org.list"] = {
      use = "list", aliases = { "ls" }, short = "List",
      flags = {
        { name = "json", type = "bool" },
        { name = "output", short = "o", type = "string", default = "" },
        { name = "role", short = "r", type = "string", default = "MEMBER" },
        { name = "force", short = "f", type = "bool" },
      },
      args = { max = 1 },
      run = function() return true end,
    },
  }
  local names = {}
  for k in pairs(specs) do names[#names + 1] = k end
  return tree_mod.build(names, function(m) return specs[m] end)
end

describe("astro.cli", function()
  it("finds a command through names and aliases", function()
    local node = assert(parse.parse(tree(), { "o", "ls" }))
    assert.are.equal("astro org list", tree_mod.path(node))
  end)

  it("takes defaults, long flags, --flag=value and short flags", function()
    local _, opts = parse.parse(tree(), { "org", "list", "--json", "-o", "table" })
    assert.is_true(opts.json)
    assert.are.equal("table", opts.output)
    assert.are.equal("MEMBER", opts.role)
    _, opts = parse.parse(tree(), { "org", "list", "--role=OWNER", "-ojson" })
    assert.are.equal("OWNER", opts.role)
    assert.are.equal("json", opts.output)
    _, opts = parse.parse(tree(), { "org", "list", "-fr", "X" })
    assert.is_true(opts.force)
    assert.are.equal("X", opts.role)
    _, opts = parse.parse(tree(), { "org", "list", "-r=Y" })
    assert.are.equal("Y", opts.role)
  end)

  it("accepts flags before the subcommand and positionals between flags", function()
    local node, opts = parse.parse(tree(), { "--verbosity", "debug", "org", "list", "a@b.io", "--json" })
    assert.are.equal("astro org list", tree_mod.path(node))
    assert.are.equal("debug", opts.verbosity)
    assert.are.same({ "a@b.io" }, opts.args)
  end)

  it("treats everything after -- as positional", function()
    local _, opts = parse.parse(tree(), { "org", "list", "--", "--json" })
    assert.is_nil(opts.json)
    assert.are.same({ "--json" }, opts.args)
  end)

  it("rejects unknown flags and missing values as usage errors", function()
    local node, err = parse.parse(tree(), { "org", "list", "--bogus" })
    assert.is_nil(node)
    assert.are.equal("unknown flag: --bogus", err.message)
    assert.are.equal(2, err.exit)
    _, err = parse.parse(tree(), { "org", "list", "-x" })
    assert.are.equal("unknown shorthand flag: 'x' in -x", err.message)
    _, err = parse.parse(tree(), { "org", "list", "--role" })
    assert.are.equal("flag needs an argument: --role", err.message)
    _, err = parse.parse(tree(), { "org", "list", "--json=maybe" })
    assert.matches('invalid argument "maybe" for "%-%-json" flag', err.message)
  end)

  it("rejects an unknown subcommand of a group", function()
    local node, err = parse.parse(tree(), { "org", "nope" })
    assert.is_nil(node)
    assert.are.equal('unknown command "nope" for "astro org"', err.message)
  end)

  it("refuses a name declared twice in one group", function()
    local specs = {
      ["astro.commands.a"] = { use = "a" },
      ["astro.commands.a.x"] = { use = "x", aliases = { "y" }, run = print },
      ["astro.commands.a.y"] = { use = "y", run = print },
    }
    assert.has_error(function()
      tree_mod.build({ "astro.commands.a", "astro.commands.a.x", "astro.commands.a.y" },
        function(m) return specs[m] end)
    end)
  end)

  it("renders help with usage, aliases, flags and subcommands", function()
    local root = tree()
    local text = help.help(root.by_name.org)
    assert.matches("Usage:\n  astro org %[command%]", text)
    assert.matches("Aliases:\n  org, o", text)
    assert.matches("Available Commands:\n  list", text)
    assert.matches('Use "astro org %[command%] %-%-help"', text)
    text = help.help(root.by_name.org.by_name.list)
    assert.matches("  %-o, %-%-output string", text)
    assert.matches('%(default "MEMBER"%)', text)
  end)
end)
