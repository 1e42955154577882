--- Arguments parsed the way the astro CLI (cobra/pflag) parses them, against the command tree:
-- command words (names and aliases), long and short flags (-abc, -ovalue, -o=value, -o value,
-- --name=value, --name value), "--", positionals. opts holds each flag under its name with
-- "-" turned into "_", plus opts.args (positionals). A flag of type "strings" may be given
-- many times: opts holds the list of its values in order (pflag's stringArray).
local errors = require("astro.errors")
local tree = require("astro.cli.tree")

local M = {}

local function _flags_of(node)
  local list = {}
  for _, f in ipairs(node.flags) do list[#list + 1] = f end
  return list
end

local _find_flag = tree.find_flag

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
  elseif f.type == "strings" then
    local list = opts[f.name:gsub("-", "_")]
    list[#list + 1] = value
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
    elseif #positional == 0 and tree.child(node, a) then
      node = tree.child(node, a)
    elseif not node.spec.run and #positional == 0 and tree.has_children(node) then
      return nil, M.unknown_command(node, a), node
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  -- Pass 2: flags against the command that was found.
  local opts = {}
  for _, f in ipairs(_flags_of(node)) do
    if f.type == "strings" then opts[f.name:gsub("-", "_")] = {}
    elseif f.default ~= nil then opts[f.name:gsub("-", "_")] = f.default end
  end
  for _, f in ipairs(tree.GLOBAL_FLAGS) do opts[f.name:gsub("-", "_")] = f.default end
  -- A flag given twice with different values is a mistake (which one was meant?), not "last wins".
  local given = {}
  local function set(f, value, shown)
    local err = _set_flag(opts, f, value, shown)
    if err then return err end
    if f.type == "strings" then return nil end
    local v = opts[f.name:gsub("-", "_")]
    if given[f.name] ~= nil and given[f.name] ~= v then
      return errors.usage("flag --" .. f.name .. " given twice")
    end
    given[f.name] = v
    return nil
  end
  local k = 1
  -- Sets flag f to value; when f needs a value and value is nil, to the next argument (nxt, a
  -- table when there is one), or fails with the usage error `missing`. Returns nil or the error.
  local function set_or_take(f, value, missing, nxt)
    if f.type ~= "bool" and value == nil then
      if type(nxt) ~= "table" then return errors.usage(missing) end
      value = nxt.value
      k = k + 1
    end
    return set(f, value, _flag_label(f))
  end
  while k <= #flag_tokens do
    local tok = flag_tokens[k]
    local nxt = flag_tokens[k + 1]
    local long, value = tok:match("^%-%-([^=]+)=(.*)$")
    if not long then long = tok:match("^%-%-(.+)$") end
    if long then
      local f = _find_flag(node, long)
      if not f then return nil, errors.usage("unknown flag: --" .. long), node end
      local err = set_or_take(f, value, "flag needs an argument: --" .. long, nxt)
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
          local err = set_or_take(f, rest ~= "" and rest or nil,
            string.format("flag needs an argument: '%s' in %s", c, tok), nxt)
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

--- For a command whose arguments pass through to a script (astro run FILE ARGS): takes astro's
-- own flag --<name> typed after FILE, up to a "--", out of the script's arguments (opts.args,
-- FILE first), calling take(value) for each: `--name=value`, or `--name` alone ("true" for a
-- flag without a value, else the next word). take returns nil, or a usage error that ends the
-- scan. Returns true, or nil and that error (or "flag needs an argument" for a value flag
-- last on the line).
---@param opts table
---@param name string
---@param wants_value boolean
---@param take fun(value: string): table|nil
function M.take_late(opts, name, wants_value, take)
  if #opts.args < 2 then return true end
  local long = "--" .. name
  local prefix = long .. "="
  local kept, looking, i = { opts.args[1] }, true, 2
  while i <= #opts.args do
    local a = opts.args[i]
    if a == "--" then looking = false end
    local value = looking and a:sub(1, #prefix) == prefix and a:sub(#prefix + 1) or nil
    if looking and a == long then
      if not wants_value then
        value = "true"
      elseif i == #opts.args then
        return nil, errors.usage("flag needs an argument: " .. long)
      else
        i = i + 1
        value = opts.args[i]
      end
    end
    if value then
      local err = take(value)
      if err then return nil, err end
    else
      kept[#kept + 1] = a
    end
    i = i + 1
  end
  opts.args = kept
  return true
end

--- A command whose arguments pass through to a script (astro run FILE ARGS) takes --dry-run
-- typed after FILE as its own, as people type flags after the file with cobra, gh or kubectl:
-- a dry run asked for must never run for real. The words after FILE up to a "--" are looked
-- at; `--dry-run` and `--dry-run=<bool>` are taken out of the script's arguments and set
-- opts.dry_run (a script reads astro.dry_run()). Returns true, or nil and a usage error for a
-- value that is not a boolean.
---@param node table the command found
---@param opts table its parsed options (opts.args: FILE first)
function M.late_dry_run(node, opts)
  local spec = node.spec
  if not (spec.args and spec.args.passthrough and spec.mutates) then return true end
  return M.take_late(opts, "dry-run", false, function(value)
    local b = _parse_bool(value)
    if b == nil then
      return errors.usage(string.format('invalid argument "%s" for "--dry-run" flag: not a boolean (true or false)',
        value))
    end
    if b then opts.dry_run = true end
  end)
end

--- The usage error of a word that names no subcommand of node, with cobra's suggestions
-- (err.suggestions: the names a mistyped word may have meant, shown as "Did you mean this?")
-- and the word itself (err.word).
---@param node table
---@param word string
function M.unknown_command(node, word)
  local err = errors.usage(string.format('unknown command "%s" for "%s"', word, tree.path(node)))
  err.word = word
  local s = tree.suggestions(node, word)
  if #s > 0 then err.suggestions = s end
  return err
end

return M
