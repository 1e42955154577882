--- Plugins: Lua files (name.lua) or folders (name/init.lua) in the plugins folder of the astro
-- config home (`$ASTRO_HOME/.astro/plugins`, else `~/.astro/plugins`), loaded in sorted order.
-- A plugin returns a command table like the stock commands' (or a list of them), with
-- `command = "organization user offboard"` saying where it goes, and `wrap = true` to wrap
-- an existing command (its run gets the wrapped run as a third argument).
-- Files and folders must belong to the user (or root) and not be writable by group or
-- others, as ssh asks of its keys; anything else is refused with the reason.
local core_config = require("astro.core.config")
local sys = require("astro.core.sys")
local config = require("astro._core.config")

local M = {}

--- What the last load_all() found: { loaded = { {name, path, specs} }, failed = { {name, path, error} } }.
M.report = { loaded = {}, failed = {} }

--- The plugins folder, or nil when no config home is known.
function M.dir()
  local path = core_config.path()
  if not path then return nil end
  return (path:gsub("/[^/]*$", "")) .. "/plugins"
end

--- Checks that a file or folder is safe to load code from: owned by the user (or root) and
-- not writable by group or others. Returns true or nil, reason.
---@param path string
function M.check_safe(path)
  local st, err = sys.stat(path)
  if not st then return nil, err end
  local problem = config.permission_problem(st, true)
  if problem == "owner" then
    return nil, string.format("%s is refused: it belongs to user id %d, not to you (%d)", path, st.uid,
      sys.geteuid())
  elseif problem then
    return nil, string.format("%s is refused: it is writable by %s (mode %03o); run: chmod go-w %s", path,
      problem == "others" and "others" or "its group", st.mode & 511, path)
  end
  return true
end

-- The plugin entries of a folder, sorted: { name, path (the file to load), dir (a folder plugin) }.
local function _entries(dir)
  local names = sys.listdir(dir)
  if not names then return {} end
  local out = {}
  for _, n in ipairs(names) do
    if n:sub(1, 1) ~= "." then
      local full = dir .. "/" .. n
      local st = sys.stat(full)
      if st and st.type == "file" and n:match("%.lua$") then
        out[#out + 1] = { name = n:gsub("%.lua$", ""), path = full }
      elseif st and st.type == "directory" then
        local init = full .. "/init.lua"
        local ist = sys.stat(init)
        if ist and ist.type == "file" then out[#out + 1] = { name = n, path = init, dir = full } end
      end
    end
  end
  return out
end

--- The fields a plugin's command table may have.
M.SPEC_FIELDS = { "command", "use", "aliases", "short", "long", "example", "flags", "args", "mutates",
                  "wrap", "run" }
local known_field = {}
for _, f in ipairs(M.SPEC_FIELDS) do known_field[f] = true end

--- The fields of a flag declaration, and the flag types the command line knows.
M.FLAG_FIELDS = { "name", "short", "type", "default", "help" }
M.FLAG_TYPES = { string = true, bool = true }
local known_flag_field = {}
for _, f in ipairs(M.FLAG_FIELDS) do known_flag_field[f] = true end

-- Checks the flags of a command table. Returns true or nil, message.
local function _check_flags(flags, path)
  if type(flags) ~= "table" then
    return nil, path .. ': flags must be a list such as { { name = "reason", type = "string" } }'
  end
  for i, f in ipairs(flags) do
    local what = string.format("%s: flag %d", path, i)
    if type(f) ~= "table" then return nil, what .. " must be a table such as { name = \"reason\", type = \"string\" }" end
    for k in pairs(f) do
      if not known_flag_field[k] then
        return nil, string.format("%s: unknown field %q (known: %s)", what, tostring(k),
          table.concat(M.FLAG_FIELDS, ", "))
      end
    end
    if type(f.name) ~= "string" or not f.name:match("^%a[%w-]*$") then
      return nil, what .. ": name must be a word such as \"reason\" or \"dry-run\""
    end
    what = string.format("%s: flag --%s", path, f.name)
    local t = f.type or "string"
    if not M.FLAG_TYPES[t] then
      return nil, string.format('%s: type %q is not one the command line knows: use "string" or "bool"',
        what, tostring(f.type))
    end
    if f.short ~= nil and (type(f.short) ~= "string" or not f.short:match("^%a$")) then
      return nil, what .. ": short must be one letter"
    end
    if f.default ~= nil and type(f.default) ~= (t == "bool" and "boolean" or "string") then
      return nil, string.format("%s: default must be a %s", what, t == "bool" and "boolean" or "string")
    end
    if f.help ~= nil and type(f.help) ~= "string" then return nil, what .. ": help must be a string" end
  end
  return true
end

-- Checks the shape of one command table a plugin returned. Returns true or nil, message.
local function _check_spec(spec, path)
  if type(spec) ~= "table" then
    return nil, path .. ": a plugin must return a command table (or a list of them), got " .. type(spec)
  end
  for k in pairs(spec) do
    if not known_field[k] then
      return nil, string.format("%s: unknown field %q in the command table (known: %s)", path, tostring(k),
        table.concat(M.SPEC_FIELDS, ", "))
    end
  end
  if spec.args ~= nil and type(spec.args) ~= "table" then
    return nil, path .. ": args must be a table such as { min = 1, max = 1 }"
  end
  if type(spec.command) ~= "string" or not spec.command:match("%S") then
    return nil, path .. ': the command table needs `command`, e.g. command = "organization user offboard"'
  end
  local last = spec.command:match("(%S+)%s*$")
  if spec.use == nil then
    spec.use = last
  elseif type(spec.use) ~= "string" or spec.use:match("^(%S+)") ~= last then
    return nil, string.format("%s: use %q must start with the command's last word %q", path, tostring(spec.use), last)
  end
  if spec.flags ~= nil then
    local ok, err = _check_flags(spec.flags, path)
    if not ok then return nil, err end
  end
  for _, k in ipairs({ "short", "long", "example" }) do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then return nil, path .. ": " .. k .. " must be a string" end
  end
  if spec.run ~= nil and type(spec.run) ~= "function" then return nil, path .. ": run must be a function" end
  if spec.wrap and type(spec.run) ~= "function" then return nil, path .. ": a wrapping plugin needs a run function" end
  return true
end

-- Loads one plugin entry ({ name, path, dir? }). Returns a list of command tables or nil, message.
local function _load(entry)
  if entry.dir then
    local ok, why = M.check_safe(entry.dir)
    if not ok then return nil, why end
  end
  local ok, why = M.check_safe(entry.path)
  if not ok then return nil, why end
  local userenv = require("astro._core.userenv")    -- loaded only when there is a plugin to load
  local env = userenv.new_env({ name = "plugin " .. entry.path, dir = entry.dir, check = M.check_safe })
  local fn, err = userenv.loadfile(entry.path, env)
  if not fn then return nil, err end
  local ran, result = xpcall(fn, function(e) return tostring(e) end, entry.name)
  if not ran then return nil, result end
  local specs = (type(result) == "table" and type(result[1]) == "table") and result or { result }
  for i = 1, math.max(#specs, 1) do
    local s = specs[i]
    local good, serr = _check_spec(s, entry.path)
    if not good then return nil, serr end
    s.plugin_file = entry.path
  end
  return specs
end

--- Loads one plugin file (or a folder with init.lua) exactly as astro loads those of the plugins
-- folder: source only, the file (and folder) safety rules, its own environment, the command
-- table checks. For specs: returns the list of command tables, or nil and the message
-- `astro plugin list` would show.
---@param path string
---@return table[]|nil specs
---@return string|nil err
function M.load_file(path)
  if type(path) ~= "string" then error("load_file expects a path", 2) end
  local st = sys.stat(path)
  if st and st.type == "directory" then
    return _load({ name = path:match("([^/]+)/*$") or path, path = path .. "/init.lua", dir = path })
  end
  local dir, base = path:match("^(.*)/([^/]+)$")
  if base == "init.lua" then
    return _load({ name = dir:match("([^/]+)$") or dir, path = path, dir = dir })
  end
  return _load({ name = (base or path):gsub("%.lua$", ""), path = path })
end

--- Loads every plugin of the folder (default M.dir()). Returns the report (also kept in
-- M.report): loaded entries with their command tables, and failed ones with the reason.
---@param dir? string
function M.load_all(dir)
  dir = dir or M.dir()
  local report = { loaded = {}, failed = {}, dir = dir }
  M.report = report
  if not dir then return report end
  local st = sys.stat(dir)
  if not st or st.type ~= "directory" then return report end
  local ok, why = M.check_safe(dir)
  if not ok then
    report.failed[1] = { name = "(folder)", path = dir, error = why }
    return report
  end
  for _, e in ipairs(_entries(dir)) do
    local specs, err = _load(e)
    if specs then
      report.loaded[#report.loaded + 1] = { name = e.name, path = e.path, specs = specs }
    else
      report.failed[#report.failed + 1] = { name = e.name, path = e.path, error = err }
    end
  end
  return report
end

return M
