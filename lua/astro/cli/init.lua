--- The command line: the entry point of the astro binary (src/main.c calls astro.cli.main).
-- Builds the command tree (astro.cli.tree) from the stock command modules and the plugins,
-- parses the arguments (astro.cli.parse), prints help (astro.cli.help) or runs the command with
-- its context, and turns errors into "Error: <message>" and exit statuses.
local env = require("astro.core.env")
local host = require("astro.core.host")
local sys = require("astro.core.sys")
local astro = require("astro")
local errors = require("astro.errors")
local output = require("astro.output")
local config = require("astro._core.config")
local dryrun = require("astro._core.dryrun")
local secrets = require("astro._core.secrets")
local plugins = require("astro._core.plugins")
-- The help texts, loaded only when a run prints help.
local function _help() return require("astro.cli.help") end
local parse = require("astro.cli.parse")
local tree = require("astro.cli.tree")

local M = {}

local TRACEBACK = "\nstack traceback:\n"

--- Makes an error message safe for a terminal, on one line: every control character (newline
-- and tab included), C1 control, bidi control and byte that is not UTF-8 is shown escaped
-- (output.printable), so neither the API's text nor a command-line argument the message repeats
-- can drive the terminal or print a line of its own. With ASTRO_DEBUG on, a Lua traceback after
-- the message (from its last "stack traceback:" line on) keeps its lines and tabs.
local function _printable(message)
  if env.flag("ASTRO_DEBUG") then
    local at, from = nil, 1
    while true do
      local a = message:find(TRACEBACK, from, true)
      if not a then break end
      at, from = a, a + 1
    end
    if at then
      return output.printable(message:sub(1, at - 1)) .. "\n" ..
        output.printable(message:sub(at + 1), { lines = true })
    end
  end
  return output.printable(message)
end

--- Prints an error as "Error: <message>" on stderr, escaped (_printable), whether stderr is a
-- terminal or not: the line is for people. An error's `details` (text from elsewhere, such as
-- the API's message) follow on "Details: " after a blank line, escaped the same way. A usage
-- error (code "usage": exit 2 unless it names another) is followed by one line naming the help
-- of the command it was found at, as cobra's "Run '<command> --help' for usage." (not the whole
-- usage), unless the error says hint = false. Returns the exit status.
local function _report(ctx, err, node)
  -- After Ctrl-C the host prints the one "Error: interrupted" line and exits 130; the error that
  -- the interruption caused on its way out (a cut transfer, a prompt's ended input) is not news.
  if sys.interrupted() then return 130 end
  err = errors.wrap(err)
  ctx.stderr:write("Error: ", _printable(secrets.redact(err.message)), "\n")
  if type(err.details) == "string" then ctx.stderr:write("\nDetails: ", _printable(secrets.redact(err.details)), "\n") end
  if type(err.suggestions) == "table" and #err.suggestions > 0 then
    ctx.stderr:write("\nDid you mean this?\n")
    for _, s in ipairs(err.suggestions) do ctx.stderr:write("\t", _printable(s), "\n") end
    ctx.stderr:write("\n")
  end
  if err.code ~= "usage" then return err.exit or 1 end
  if err.hint ~= false then
    ctx.stderr:write("Run '", _printable(node and tree.path(node) or "astro"), " --help' for usage.\n")
  end
  return err.exit or 2
end

--- The log levels --verbosity takes (logrus's, in any case).
M.LEVELS = { panic = true, fatal = true, error = true, warn = true, warning = true, info = true, debug = true,
             trace = true }

--- The log level of a run, as the astro CLI picks it: --verbosity, or when that is left at its
-- default, the config file's `verbosity` key (a config that cannot be read, or is refused as
-- unsafe, is left to the command to report). Returns the level in lower case, or nil, err for a
-- level logrus refuses: a usage error when --verbosity gave it, a plain error (exit 1) when the
-- config file did.
---@param opts table parsed options
---@return string|nil level
---@return table|nil err
function M.verbosity(opts)
  local level, make = opts.verbosity or "warning", errors.usage
  if level == "warning" then
    local cfg = config.load()
    local v = cfg and cfg.tree.verbosity
    if type(v) == "string" and v ~= "" then level, make = v, errors.new end
  end
  if not M.LEVELS[level:lower()] then
    return nil, make(string.format("not a valid logrus Level: %q", level))
  end
  return level:lower()
end

--- Tells whether a run's standard output carries data (--json, -o json or csv, --clean-output, a command
-- whose arguments pass through to a script, such as astro run, or one whose table says
-- stdout_data, such as astro api): dry-run plan lines then go
-- to stderr, so that the data stays whole.
---@param node table
---@param opts table parsed options
function M.stdout_carries_data(node, opts)
  if opts.json == true or opts.clean_output == true or node.spec.stdout_data == true then return true end
  if type(opts.output) == "string" and opts.output ~= "" and opts.output ~= "table" then return true end
  return node.spec.args ~= nil and node.spec.args.passthrough == true
end

--- Makes the context a command's run function receives: streams, the command, and lazily
-- built services (the API client). --dry-run is decided here, once for the process
-- (astro._core.dryrun): nothing later can turn it off.
function M.context(node, opts, level)
  local ctx = {
    stdout = io.stdout, stderr = io.stderr, stdin = io.stdin,
    command = node, path = tree.path(node),
  }
  level = level or opts.verbosity
  ctx.debug = level == "debug" or level == "trace" or env.flag("ASTRO_DEBUG")
  dryrun.set_plan_stream(M.stdout_carries_data(node, opts) and ctx.stderr or ctx.stdout)
  if opts.dry_run == true then dryrun.enable() end
  ctx.dry_run = dryrun.is_on()
  astro.configure({ debug = ctx.debug, stderr = ctx.stderr })
  --- The API client for the current context (astro.client()), or nil, err.
  function ctx.api() return astro.client() end
  return ctx
end

-- Message handler of a command's run: the error as text, with the traceback kept apart.
local function _internal(e)
  local text = type(e) == "string" and e or (type(e) == "table" and type(e.message) == "string" and e.message)
    or tostring(e)
  return { message = text, traceback = debug.traceback(text, 2) }
end

-- Prints a raised (internal) error as one "Error: internal error in <where>: ..." line, with
-- the traceback after it under ASTRO_DEBUG=1. Returns the exit status: 1, or 130 after Ctrl-C.
local function _internal_report(stderr, where, e)
  if sys.interrupted() then return 130 end
  local debug_on = env.flag("ASTRO_DEBUG")
  stderr:write("Error: ", _printable(string.format("internal error in %s: %s; %s", where, e.message,
    debug_on and "the traceback follows" or "run with ASTRO_DEBUG=1 for details")), "\n")
  if debug_on then stderr:write(_printable(e.traceback), "\n") end
  return 1
end

--- Runs a parsed command. Returns the exit status. An error the command raises (a bug, not a
-- refusal: those come back as values) ends in one "Error: internal error in <command>: ..."
-- line and status 1; ASTRO_DEBUG=1 adds the traceback.
function M.execute(node, opts, ctx)
  local ok, res, err = xpcall(node.spec.run, _internal, opts, ctx)
  if not ok then return _internal_report(ctx.stderr, ctx.path or tree.path(node), res) end
  if res == nil and err ~= nil then return _report(ctx, err, node) end
  if math.type(res) == "integer" then return res end
  if res == false then return 1 end
  return 0
end

-- Reports an unknown command word; one at the top level is first handed to the astro CLI
-- (astro._core.passthrough), with the command line as typed (argv): that returns only when
-- nothing was handed over, with the error to report.
local function _unknown(errctx, err, node, argv)
  if err.word and node and node.parent == nil then
    err = require("astro._core.passthrough").hand_over(argv, err)
  end
  return _report(errctx, err, node)
end

-- The body of M.main.
local function _main(args)
  local argv = args
  if args[1] == "--version" and args[2] == nil then args = { "version" } end
  -- `astro help [command...]` is `astro [command...] --help`, as with cobra (unless a plugin
  -- took the word `help` for a command of its own).
  local help_words = args[1] == "help" and { table.unpack(args, 2) } or nil
  local root = tree.new(host.modules())
  local report = plugins.load_all()
  if #report.loaded > 0 then require("astro.cli.mount").add_plugins(root, report) end
  -- Shell completion (astro.cli.complete) says nothing of plugins that did not load: not in the
  -- user's command line at each Tab (__complete), nor at each shell start (completion SHELL).
  local quiet = args[1] == "plugin" or args[1] == "__complete" or args[1] == "completion"
  if not quiet then
    for _, f in ipairs(report.failed) do
      io.stderr:write("astro: plugin not loaded: ", output.printable(f.error), "\n")
    end
  end
  if args[1] == "__complete" then
    return require("astro.cli.complete").complete(root, { table.unpack(args, 2) }, io.stdout)
  end
  if help_words and not tree.child(root, "help") then
    help_words[#help_words + 1] = "--help"
    args = help_words
  end
  if args[1] == "completion" and not tree.child(root, "completion") then require("astro.cli.complete").mount(root) end
  local node, opts, at = parse.parse(root, args)
  local errctx = { stderr = io.stderr }
  if not node then return _unknown(errctx, opts, at, argv) end
  if opts.help or not node.spec.run then
    if not opts.help and #opts.args > 0 then
      return _unknown(errctx, parse.unknown_command(node, opts.args[1]), node, argv)
    end
    io.stdout:write(_help().help(node))
    return 0
  end
  local max = (node.spec.args and node.spec.args.max) or 0
  local min = (node.spec.args and node.spec.args.min) or 0
  if #opts.args > max then
    return _report(errctx,
      errors.usage(string.format("accepts at most %d arg(s), received %d", max, #opts.args)), node)
  end
  if #opts.args < min then
    return _report(errctx,
      errors.usage(string.format("requires at least %d arg(s), only received %d", min, #opts.args)), node)
  end
  local late, lerr = parse.late_dry_run(node, opts)
  if not late then return _report(errctx, lerr, node) end
  if opts.organization ~= nil or (node.spec.args and node.spec.args.passthrough) then
    local ok, oerr = require("astro.cli.organization").apply(node, opts)
    if not ok then return _report(errctx, oerr, node) end
  end
  local level, verr = M.verbosity(opts)
  if not level then return _report(errctx, verr, node) end
  local ctx = M.context(node, opts, level)
  collectgarbage("restart") -- the host holds the collector back while the modules load
  return M.execute(node, opts, ctx)
end

--- Entry point: parses args, prints help or runs the command. Returns the exit status. An
-- error raised on the way (a bug) is one "Error: internal error in astro: ..." line, status 1.
---@param args string[]
---@return integer
function M.main(args)
  local ok, code = xpcall(_main, _internal, args)
  if ok then return code end
  return _internal_report(io.stderr, "astro", code)
end

return M
