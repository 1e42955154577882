--- The command line: builds the command tree from the command modules (astro.commands.*),
-- parses arguments the way the astro CLI (cobra/pflag) does, prints help, and runs a command.
--
-- A command module returns a table:
--   use      "switch [organization name/id]"  (first word is the command's name)
--   aliases  { "sw" }
--   short, long, example   help texts
--   flags    { { name = "role", short = "r", type = "string"|"bool", default = ..., help = ... } }
--   args     { min = 0, max = 1 }   (positional arguments required / accepted; default 0 and 0)
--   run      function(opts, ctx) -> nil | true | exit code | nil, err
-- A module without `run` is a group: it only holds subcommands and prints its help.
-- opts holds each flag under its name with "-" turned into "_", plus opts.args (positionals).
local errors = require("astro.errors")

local M = {}

M.ROOT_SPEC = {
  use = "astro",
  short = "Manage Astro Organizations from the command line",
  long = "astro manages the users of an Astronomer Astro Organization.\n" ..
         "Commands are Lua scripts you can read, wrap and extend (see docs/automation.md).\n" ..
         "astro --lua FILE [ARGS] runs a Lua file inside the host, e.g. busted for specs.",
}

--- Flags every command accepts.
M.GLOBAL_FLAGS = {
  { name = "verbosity", type = "string", default = "warning",
    help = "Log level (debug, info, warn, error, fatal, panic" },
}

local HELP_FLAG = { name = "help", short = "h", type = "bool" }

--- The flag every command that changes something (spec.mutates = true) gets.
M.DRY_RUN_FLAG = { name = "dry-run", type = "bool",
  help = "Print each request that would change something (method, path, body) instead of sending it" }

local function _name_of(spec)
  return (spec.use or ""):match("^(%S+)") or ""
end

--- The flags of a command spec: its own, plus --dry-run when it changes something.
function M.node_flags(spec)
  local flags = {}
  for _, f in ipairs(spec.flags or {}) do flags[#flags + 1] = f end
  if spec.mutates then flags[#flags + 1] = M.DRY_RUN_FLAG end
  return flags
end

local function _new_node(spec, parent, module)
  local node = { spec = spec, name = _name_of(spec), parent = parent, module = module,
                 children = {}, by_name = {}, flags = M.node_flags(spec) }
  return node
end

--- Adds a child node under parent; a name or alias taken twice is a programming error.
local function _add_child(parent, child)
  for _, key in ipairs({ child.name, table.unpack(child.spec.aliases or {}) }) do
    if parent.by_name[key] then
      error(string.format("command %q is declared twice under %q (%s and %s)", key,
        M.path(parent), parent.by_name[key].spec.plugin_file or parent.by_name[key].module or "?",
        child.spec.plugin_file or child.module or "?"), 0)
    end
    parent.by_name[key] = child
  end
  parent.children[#parent.children + 1] = child
  table.sort(parent.children, function(a, b) return a.name < b.name end)
end

--- Builds the command tree from module names such as "astro.commands.organization.list".
-- `load(modname)` returns the command table (default: require).
---@param modules string[]
---@param load? fun(name: string): table
---@return table root
function M.build_tree(modules, load)
  load = load or require
  local root = _new_node(M.ROOT_SPEC, nil, "astro.cli")
  local names = {}
  for _, m in ipairs(modules) do
    if m:match("^astro%.commands%.") then names[#names + 1] = m end
  end
  -- Parents sort before their children ("a.b" < "a.b.c").
  table.sort(names)
  local nodes = {}
  for _, m in ipairs(names) do
    local rel = m:sub(#"astro.commands." + 1)
    local parent_rel, last = rel:match("^(.*)%.([^.]+)$")
    local parent = root
    if parent_rel then
      parent = nodes[parent_rel]
      if not parent then error("command module " .. m .. " has no parent group module", 0) end
    else
      last = rel
    end
    local spec = load(m)
    if type(spec) ~= "table" then error("command module " .. m .. " did not return a table", 0) end
    local node = _new_node(spec, parent, m)
    if node.name ~= last then
      error(string.format("command module %s declares use %q; its name must be %q", m, node.name, last), 0)
    end
    _add_child(parent, node)
    nodes[rel] = node
  end
  return root
end

local function _describe_origin(node)
  if node.spec.plugin_file then return node.spec.plugin_file end
  return "lua/" .. (node.module or "astro"):gsub("%.", "/") .. ".lua (built in)"
end

-- Wraps a command node with a plugin's run: the plugin's run gets (opts, ctx, wrapped_run).
local function _wrap(node, spec)
  local inner = node.spec.run
  if type(inner) ~= "function" then
    return nil, string.format('%s: "%s" is a group of commands and cannot be wrapped', spec.plugin_file, M.path(node))
  end
  local wrapped = {}
  for k, v in pairs(node.spec) do wrapped[k] = v end
  wrapped.run = function(opts, ctx) return spec.run(opts, ctx, inner) end
  wrapped.mutates = node.spec.mutates or spec.mutates
  local flags = {}
  for _, f in ipairs(node.spec.flags or {}) do flags[#flags + 1] = f end
  for _, f in ipairs(spec.flags or {}) do
    for _, g in ipairs(flags) do
      if g.name == f.name or (f.short and g.short == f.short) then
        return nil, string.format('%s: flag --%s is already a flag of "%s"', spec.plugin_file, f.name, M.path(node))
      end
    end
    flags[#flags + 1] = f
  end
  wrapped.flags = flags
  wrapped.wrapped_by = { table.unpack(node.spec.wrapped_by or {}) }
  wrapped.wrapped_by[#wrapped.wrapped_by + 1] = spec.plugin_file
  local old_spec, old_flags = node.spec, node.flags
  node.spec = wrapped
  node.flags = M.node_flags(wrapped)
  return true, function() node.spec, node.flags = old_spec, old_flags end
end

-- Removes a child node added by _add_child (undo of a mount).
local function _remove_child(parent, child)
  for key, n in pairs(parent.by_name) do
    if n == child then parent.by_name[key] = nil end
  end
  for i, n in ipairs(parent.children) do
    if n == child then table.remove(parent.children, i) break end
  end
end

--- Mounts one plugin command table in the tree. Returns true and a function that undoes the
-- mount, or nil, message.
function M.mount(root, spec)
  local words = {}
  for w in spec.command:gmatch("%S+") do words[#words + 1] = w end
  local parent = root
  for i = 1, #words - 1 do
    local nxt = parent.by_name[words[i]]
    if not nxt then
      return nil, string.format('%s: there is no command "%s %s" to put "%s" under', spec.plugin_file,
        M.path(parent), words[i], words[#words])
    end
    parent = nxt
  end
  local existing = parent.by_name[words[#words]]
  if existing then
    if spec.wrap then return _wrap(existing, spec) end
    return nil, string.format('%s declares "%s", which %s already provides; set wrap = true to wrap it',
      spec.plugin_file, M.path(existing), _describe_origin(existing))
  end
  if spec.wrap then
    return nil, string.format('%s wraps "%s %s", which does not exist', spec.plugin_file, M.path(parent), words[#words])
  end
  local node = _new_node(spec, parent, nil)
  local ok, err = pcall(_add_child, parent, node)
  if not ok then
    _remove_child(parent, node)
    return nil, spec.plugin_file .. ": " .. tostring(err)
  end
  return true, function() _remove_child(parent, node) end
end

--- Mounts every loaded plugin (astro.plugins report) in order. A plugin is mounted whole or
-- not at all: when one of its commands cannot be mounted, the others are taken back and the
-- plugin moves to report.failed. Returns the report.
function M.add_plugins(root, report)
  local kept = {}
  for _, p in ipairs(report.loaded) do
    local ok, err, undos = true, nil, {}
    for _, spec in ipairs(p.specs) do
      local undo
      ok, undo = M.mount(root, spec)
      if not ok then err = undo break end
      undos[#undos + 1] = undo
    end
    if not ok then
      for i = #undos, 1, -1 do undos[i]() end
    end
    if ok then kept[#kept + 1] = p else report.failed[#report.failed + 1] = { name = p.name, path = p.path, error = err } end
  end
  report.loaded = kept
  table.sort(report.failed, function(a, b) return a.path < b.path end)
  return report
end

--- The full command path of a node, e.g. "astro organization list".
function M.path(node)
  local parts = {}
  while node do
    table.insert(parts, 1, node.name)
    node = node.parent
  end
  return table.concat(parts, " ")
end

local function _flags_of(node)
  local list = {}
  for _, f in ipairs(node.flags) do list[#list + 1] = f end
  return list
end

local function _find_flag(node, name, short)
  local sets = { node.flags, M.GLOBAL_FLAGS, { HELP_FLAG } }
  for _, set in ipairs(sets) do
    for _, f in ipairs(set) do
      if (name and f.name == name) or (short and f.short == short) then return f end
    end
  end
  return nil
end

local function _parse_bool(s)
  if s == "true" or s == "1" or s == "t" or s == "T" or s == "TRUE" or s == "True" then return true end
  if s == "false" or s == "0" or s == "f" or s == "F" or s == "FALSE" or s == "False" then return false end
  return nil
end

local function _set_flag(opts, f, value, shown)
  if f.type == "bool" then
    local b = true
    if value ~= nil then
      b = _parse_bool(value)
      if b == nil then
        return errors.usage(string.format('invalid argument "%s" for "%s" flag: not a boolean (true or false)',
          value, shown))
      end
    end
    opts[f.name:gsub("-", "_")] = b
  else
    opts[f.name:gsub("-", "_")] = value
  end
  return nil
end

local function _flag_label(f)
  return (f.short and ("-" .. f.short .. ", ") or "") .. "--" .. f.name
end

-- For a short-flag token body ("fr" of "-fr"), the value flag that takes the next word, if any.
local function _short_wants_next(node, body)
  for j = 1, #body do
    local f = _find_flag(node, nil, body:sub(j, j))
    if not f then return nil end
    if f.type ~= "bool" then return j == #body and f or nil end
  end
  return nil
end

--- Parses args against the tree. Returns node, opts, or nil, err, node (a usage error).
---@param root table
---@param args string[]
function M.parse(root, args)
  local node = root
  local i, n = 1, #args
  local flag_tokens, positional = {}, {}
  local done_flags = false
  -- Pass 1: walk the command words; keep flag tokens (with their values) for pass 2.
  while i <= n do
    local a = args[i]
    if done_flags or (#positional > 0 and node.spec.args and node.spec.args.passthrough) then
      positional[#positional + 1] = a
    elseif a == "--" then
      done_flags = true
    elseif a:sub(1, 1) == "-" and #a > 1 then
      flag_tokens[#flag_tokens + 1] = a
      -- A known value flag in "--name value" or "-x value" form consumes the next word.
      local long = a:match("^%-%-([^=]+)$")
      local f = long and _find_flag(node, long)
      if not a:find("^%-%-") then f = _short_wants_next(node, a:sub(2)) end
      if f and f.type ~= "bool" and i < n then
        i = i + 1
        flag_tokens[#flag_tokens + 1] = { value = args[i] }
      end
    elseif #positional == 0 and node.by_name[a] then
      node = node.by_name[a]
    elseif not node.spec.run and #positional == 0 and #node.children > 0 then
      return nil, errors.usage(string.format('unknown command "%s" for "%s"', a, M.path(node))), node
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  -- Pass 2: flags against the command that was found.
  local opts = {}
  for _, f in ipairs(_flags_of(node)) do
    if f.default ~= nil then opts[f.name:gsub("-", "_")] = f.default end
  end
  for _, f in ipairs(M.GLOBAL_FLAGS) do opts[f.name:gsub("-", "_")] = f.default end
  -- A flag given twice with different values is a mistake (which one was meant?), not "last wins".
  local given = {}
  local function set(f, value, shown)
    local err = _set_flag(opts, f, value, shown)
    if err then return err end
    local v = opts[f.name:gsub("-", "_")]
    if given[f.name] ~= nil and given[f.name] ~= v then
      return errors.usage("flag --" .. f.name .. " given twice")
    end
    given[f.name] = v
    return nil
  end
  local k = 1
  while k <= #flag_tokens do
    local tok = flag_tokens[k]
    local nxt = flag_tokens[k + 1]
    local has_next = type(nxt) == "table"
    local long, value = tok:match("^%-%-([^=]+)=(.*)$")
    if not long then long = tok:match("^%-%-(.+)$") end
    if long then
      local f = _find_flag(node, long)
      if not f then return nil, errors.usage("unknown flag: --" .. long), node end
      if f.type ~= "bool" and value == nil then
        if not has_next then return nil, errors.usage("flag needs an argument: --" .. long), node end
        value = nxt.value
        k = k + 1
      end
      local err = set(f, value, _flag_label(f))
      if err then return nil, err, node end
    else
      -- Short flags: -abc (bools), -ovalue, -o=value, -o value.
      local body = tok:sub(2)
      local j = 1
      while j <= #body do
        local c = body:sub(j, j)
        local f = _find_flag(node, nil, c)
        if not f then
          return nil, errors.usage(string.format("unknown shorthand flag: '%s' in %s", c, tok)), node
        end
        if f.type == "bool" then
          local err = set(f, nil, _flag_label(f))
          if err then return nil, err, node end
          j = j + 1
        else
          local rest = body:sub(j + 1)
          if rest:sub(1, 1) == "=" then rest = rest:sub(2) end
          if rest == "" then
            if not has_next then
              return nil, errors.usage(string.format("flag needs an argument: '%s' in %s", c, tok)), node
            end
            rest = nxt.value
            k = k + 1
          end
          local err = set(f, rest, _flag_label(f))
          if err then return nil, err, node end
          break
        end
      end
    end
    k = k + 1
  end
  opts.args = positional
  return node, opts
end

-- Help ------------------------------------------------------------------------------------

local function _flag_lines(flags, help_for)
  local rows = {}
  local sorted = { table.unpack(flags) }
  table.sort(sorted, function(a, b) return a.name < b.name end)
  for _, f in ipairs(sorted) do
    local left = (f.short and ("  -" .. f.short .. ", ") or "      ") .. "--" .. f.name
    if f.type ~= "bool" then left = left .. " " .. (f.type or "string") end
    local help = f.help or ""
    if f.name == "help" then help = "help for " .. help_for end
    if f.type ~= "bool" and f.default ~= nil and f.default ~= "" then
      help = help .. string.format(' (default "%s")', tostring(f.default))
    end
    rows[#rows + 1] = { left, help }
  end
  local w = 0
  for _, r in ipairs(rows) do w = math.max(w, #r[1]) end
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = r[1] .. string.rep(" ", w - #r[1] + 3) .. r[2] end
  return table.concat(out, "\n")
end

--- The usage block of a node (what follows the description in help, and follows usage errors).
function M.usage(node)
  local spec = node.spec
  local path = M.path(node)
  local out = { "Usage:" }
  if spec.run then
    local rest = (spec.use or ""):match("^%S+%s+(.*)$")
    if spec.args and spec.args.passthrough then
      -- Words after the first argument go to the command itself, so astro's flags come first.
      out[#out + 1] = "  " .. path .. " [flags]" .. (rest and (" " .. rest) or "")
    else
      out[#out + 1] = "  " .. path .. (rest and (" " .. rest) or "") .. " [flags]"
    end
  end
  if #node.children > 0 then out[#out + 1] = "  " .. path .. " [command]" end
  if spec.aliases and #spec.aliases > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Aliases:"
    out[#out + 1] = "  " .. table.concat({ node.name, table.unpack(spec.aliases) }, ", ")
  end
  if spec.example and spec.example ~= "" then
    out[#out + 1] = ""
    out[#out + 1] = "Examples:"
    out[#out + 1] = spec.example
  end
  if #node.children > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Available Commands:"
    local w = 11
    for _, c in ipairs(node.children) do w = math.max(w, #c.name + 1) end
    for _, c in ipairs(node.children) do
      out[#out + 1] = "  " .. c.name .. string.rep(" ", w - #c.name) .. (c.spec.short or "")
    end
  end
  local flags = _flags_of(node)
  table.insert(flags, 1, HELP_FLAG)
  out[#out + 1] = ""
  out[#out + 1] = "Flags:"
  out[#out + 1] = _flag_lines(flags, node.name)
  out[#out + 1] = ""
  out[#out + 1] = "Global Flags:"
  out[#out + 1] = _flag_lines(M.GLOBAL_FLAGS, node.name)
  if #node.children > 0 then
    out[#out + 1] = ""
    out[#out + 1] = string.format('Use "%s [command] --help" for more information about a command.', path)
  end
  return table.concat(out, "\n") .. "\n"
end

--- The whole help text of a node.
function M.help(node)
  local spec = node.spec
  local text = spec.long or spec.short or ""
  if text == "" then return "Current Context: Astro\n\n" .. M.usage(node) end
  return text .. "\n\nCurrent Context: Astro\n\n" .. M.usage(node)
end

-- Running ---------------------------------------------------------------------------------

local function _hex(c) return string.format("\\x%02x", c:byte()) end

--- Makes an error message safe for a terminal: a command-line argument of argv (or the value
-- of a --flag=value) holding control characters is shown escaped (\x1b, \x0a) wherever the
-- message repeats it, and every other control character but newline and tab is escaped too.
local function _printable(message, argv)
  local pieces = {}
  for _, a in ipairs(argv or {}) do
    if a:find("[%c\127]") then
      pieces[#pieces + 1] = a
      local value = a:match("^%-[^=]*=(.*)$")
      if value and value:find("[%c\127]") then pieces[#pieces + 1] = value end
    end
  end
  table.sort(pieces, function(a, b) return #a > #b end)
  for _, p in ipairs(pieces) do
    local out, i = {}, 1
    while true do
      local a, b = message:find(p, i, true)
      if not a then break end
      out[#out + 1] = message:sub(i, a - 1) .. p:gsub("[%c\127]", _hex)
      i = b + 1
    end
    out[#out + 1] = message:sub(i)
    message = table.concat(out)
  end
  return (message:gsub("[\0-\8\11-\31\127]", _hex))
end

--- Prints an error as "Error: <message>" on stderr; a usage error is followed by the usage.
local function _report(ctx, err, node)
  -- After Ctrl-C the host prints the one "Error: interrupted" line and exits 130; the error that
  -- the interruption caused on its way out (a cut transfer, a prompt's ended input) is not news.
  if require("astro.core.sys").interrupted() then return 130 end
  err = errors.wrap(err)
  ctx.stderr:write("Error: ", _printable(err.message, ctx.argv), "\n")
  if err.code == "usage" and node then ctx.stderr:write(M.usage(node)) end
  return err.exit or 1
end

--- The log levels --verbosity takes (logrus's, in any case).
M.LEVELS = { panic = true, fatal = true, error = true, warn = true, warning = true, info = true, debug = true,
             trace = true }

--- The log level of a run, as the astro CLI picks it: --verbosity, or when that is left at its
-- default, the config file's `verbosity` key (a config that cannot be read, or is refused as
-- unsafe, is left to the command to report). Returns the level in lower case, or nil, err for a
-- level logrus refuses.
---@param opts table parsed options
---@return string|nil level
---@return table|nil err
function M.verbosity(opts)
  local level = opts.verbosity or "warning"
  if level == "warning" then
    local cfg = require("astro.config").load()
    local v = cfg and cfg.tree.verbosity
    if type(v) == "string" and v ~= "" then level = v end
  end
  if not M.LEVELS[level:lower()] then
    return nil, errors.new(string.format("not a valid logrus Level: %q", level))
  end
  return level:lower()
end

--- Makes the context a command's run function receives: streams, the command, and lazily
-- built services (the API client).
function M.context(node, opts, level)
  local ctx = {
    stdout = io.stdout, stderr = io.stderr, stdin = io.stdin,
    command = node, path = M.path(node),
  }
  level = level or opts.verbosity
  ctx.debug = level == "debug" or level == "trace" or (os.getenv("ASTRO_DEBUG") or "") ~= ""
  ctx.dry_run = opts.dry_run == true
  local astro = require("astro")
  astro.configure({ debug = ctx.debug, stderr = ctx.stderr, dry_run = ctx.dry_run, plan = ctx.stdout })
  --- The API client for the current context (astro.client()), or nil, err.
  function ctx.api() return astro.client() end
  return ctx
end

--- Runs a parsed command. Returns the exit status.
function M.execute(node, opts, ctx)
  local res, err = node.spec.run(opts, ctx)
  if res == nil and err ~= nil then return _report(ctx, err, node) end
  if math.type(res) == "integer" then return res end
  if res == false then return 1 end
  return 0
end

--- Entry point: parses args, prints help or runs the command. Returns the exit status.
---@param args string[]
---@return integer
function M.main(args)
  if args[1] == "--version" and args[2] == nil then args = { "version" } end
  local root = M.build_tree(require("astro.core.host").modules())
  local report = M.add_plugins(root, require("astro.plugins").load_all())
  local quiet = args[1] == "plugin"
  if not quiet then
    for _, f in ipairs(report.failed) do
      io.stderr:write("astro: plugin not loaded: ", f.error, "\n")
    end
  end
  local node, opts, at = M.parse(root, args)
  local errctx = { stderr = io.stderr, argv = args }
  if not node then return _report(errctx, opts, at) end
  if opts.help or not node.spec.run then
    if not opts.help and #opts.args > 0 then
      return _report(errctx,
        errors.usage(string.format('unknown command "%s" for "%s"', opts.args[1], M.path(node))), node)
    end
    io.stdout:write(M.help(node))
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
  local level, verr = M.verbosity(opts)
  if not level then return _report(errctx, verr) end
  local ctx = M.context(node, opts, level)
  ctx.argv = args
  return M.execute(node, opts, ctx)
end

return M
