--- The command tree: a node per command, built from the command modules (astro.commands.*)
-- and the plugins. Each command module returns a command table in the plugin format
-- (docs/automation.md), whose `command` names its place, e.g. "organization user invite":
--   command  "organization switch"   (optional for tests; must match the module's place)
--   use      "switch [organization name/id]"  (first word is the command's name)
--   aliases  { "sw" }
--   short, long, example   help texts
--   flags    { { name = "role", short = "r", type = "string"|"bool", default = ..., help = ... } }
--   args     { min = 0, max = 1 }   (positional arguments required / accepted; default 0 and 0)
--   mutates  true when it changes something (it gets --dry-run)
--   stdout_data  true when its standard output carries data, as an API answer: dry-run plan
--            lines then go to stderr, as they do for --json
--   run      function(opts, ctx) -> nil | true | exit code | nil, err
-- A table without `run` is a group: it only holds subcommands and prints its help.
--
-- The tree is lazy: a node's child modules are loaded when a word names one (only that one when
-- the word is its name; all of them to look for an alias), or when the whole group is needed
-- (help, mounting a plugin), so a command line loads only the commands on its path.
-- Plugins are mounted in it by astro.cli.mount.
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
  { name = "organization", type = "string",
    help = "Organization (name or id) to work on instead of the current context's, for this command only (env ASTRO_ORGANIZATION)" },
  { name = "verbosity", type = "string", default = "warning",
    help = "Log level (debug, info, warn, error, fatal, panic" },
}

--- The -h/--help flag every command has.
M.HELP_FLAG = { name = "help", short = "h", type = "bool" }

--- The words the command line answers itself at the top, as cobra does: `help [command...]`
-- (astro.cli) and `completion SHELL` (astro.cli.complete, mounted only when a command line
-- starts with it). Root help lists them, completion offers them, a typo is told about them.
M.BUILTINS = {
  { name = "help", short = "Help about any command" },
  { name = "completion", short = "Generate the autocompletion script for the specified shell" },
}

--- The entries of M.BUILTINS that node answers without a node of their own: at the root, those
-- no command (a plugin's, or completion once mounted) has taken; elsewhere none.
---@param node table
---@return table[]
function M.builtins(node)
  local out = {}
  if node.parent ~= nil then return out end
  for _, b in ipairs(M.BUILTINS) do
    if not node.by_name[b.name] then out[#out + 1] = b end
  end
  return out
end

--- The flag of node (its own, else a global one, else --help) named name, or with the short
-- name short; nil when there is none.
---@param node table
---@param name? string
---@param short? string
function M.find_flag(node, name, short)
  for _, set in ipairs({ node.flags, M.GLOBAL_FLAGS, { M.HELP_FLAG } }) do
    for _, f in ipairs(set) do
      if (name and f.name == name) or (short and f.short == short) then return f end
    end
  end
  return nil
end

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

--- Makes a node for a command table under parent (module: the stock module it came from).
function M.new_node(spec, parent, module)
  local node = { spec = spec, name = _name_of(spec), parent = parent, module = module,
                 children = {}, by_name = {}, flags = M.node_flags(spec) }
  return node
end

--- Adds a child node under parent; a name or alias taken twice is a programming error.
function M.add_child(parent, child)
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

-- Loads the pending child module of node whose last word is name, and adds it.
local function _load_child(node, name)
  local m = node.pending[name]
  node.pending[name] = nil
  local spec = node.loader(m)
  if type(spec) ~= "table" then error("command module " .. m .. " did not return a table", 0) end
  local child = M.new_node(spec, node, m)
  if child.name ~= name then
    error(string.format("command module %s declares use %q; its name must be %q", m, child.name, name), 0)
  end
  local place = m:sub(#"astro.commands." + 1):gsub("%.", " ")
  if spec.command ~= nil and spec.command ~= place then
    error(string.format("command module %s declares command %q; its place is %q", m, tostring(spec.command), place), 0)
  end
  child.loader, child.pending = node.loader, node.pending_of[place] or {}
  child.pending_of = node.pending_of
  M.add_child(node, child)
  return child
end

--- Loads every pending child of a node (for its help, or before a plugin is mounted in it).
function M.load_all(node)
  local names = {}
  for name in pairs(node.pending or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do _load_child(node, name) end
end

--- The child of node named (or aliased) word, loading its module when needed; or nil.
function M.child(node, word)
  local c = node.by_name[word]
  if c then return c end
  if not node.pending or next(node.pending) == nil then return nil end
  if node.pending[word] then return _load_child(node, word) end
  M.load_all(node)
  return node.by_name[word]
end

--- The children of node, sorted by name, all loaded.
function M.children(node)
  M.load_all(node)
  return node.children
end

-- The edit distance of a and b (insertions, deletions, substitutions), as cobra counts it.
local function _distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The subcommands of node a mistyped word may have meant, as cobra suggests them: those whose
-- name is at most 2 edits from it (case ignored) or starts with it. Sorted names. At the top,
-- the words the command line answers itself (M.builtins) count too.
---@param node table
---@param word string
---@return string[]
function M.suggestions(node, word)
  local w = word:lower()
  local out, seen = {}, {}
  local names = {}
  for _, c in ipairs(M.children(node)) do names[#names + 1] = c.name end
  for _, b in ipairs(M.builtins(node)) do names[#names + 1] = b.name end
  for _, n in ipairs(names) do
    local name = n:lower()
    if not seen[name] and (_distance(w, name) <= 2 or (#w > 0 and name:sub(1, #w) == w)) then
      out[#out + 1] = n
      seen[name] = true
    end
  end
  table.sort(out)
  return out
end

--- Tells whether node has subcommands, without loading them.
function M.has_children(node)
  return #node.children > 0 or (node.pending ~= nil and next(node.pending) ~= nil)
end

--- Makes the command tree of module names such as "astro.commands.organization.list", lazily:
-- nothing is loaded until a word names a command. `load(modname)` returns the command table
-- (default: require).
---@param modules string[]
---@param load? fun(name: string): table
---@return table root
function M.new(modules, load)
  local root = M.new_node(M.ROOT_SPEC, nil, "astro.cli")
  local names = {}
  for _, m in ipairs(modules) do
    if m:match("^astro%.commands%.") then names[#names + 1] = m end
  end
  local places, pending_of = {}, {}
  for _, m in ipairs(names) do places[m:sub(#"astro.commands." + 1)] = true end
  for _, m in ipairs(names) do
    local rel = m:sub(#"astro.commands." + 1)
    local parent_rel, last = rel:match("^(.*)%.([^.]+)$")
    if parent_rel and not places[parent_rel] then
      error("command module " .. m .. " has no parent group module", 0)
    end
    local key = parent_rel and parent_rel:gsub("%.", " ") or ""
    pending_of[key] = pending_of[key] or {}
    pending_of[key][last or rel] = m
  end
  root.loader = load or require
  root.pending_of = pending_of
  root.pending = pending_of[""] or {}
  return root
end

--- Builds the whole command tree at once (every module loaded; a name declared twice raises).
---@param modules string[]
---@param load? fun(name: string): table
---@return table root
function M.build(modules, load)
  local root = M.new(modules, load)
  local function all(node)
    for _, c in ipairs(M.children(node)) do all(c) end
  end
  all(root)
  return root
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

return M
