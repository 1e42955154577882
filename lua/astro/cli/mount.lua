--- Plugins in the command tree: mounts the command tables of the loaded plugins
-- (astro._core.plugins) as new commands or as wrappers of existing ones, all of a plugin or
-- none of it. Loaded by astro.cli only when there is a plugin to mount.
local tree = require("astro.cli.tree")

local M = {}

local function _describe_origin(node)
  if node.spec.plugin_file then return node.spec.plugin_file end
  return "lua/" .. (node.module or "astro"):gsub("%.", "/") .. ".lua (built in)"
end

-- Commands no plugin may wrap: `astro plugin list` shows what the plugins do, so none can
-- change what it shows.
local UNWRAPPABLE = { ["astro plugin list"] = "it shows what the plugins do" }

-- Wraps a command node with a plugin's run: the plugin's run gets (opts, ctx, wrapped_run).
local function _wrap(node, spec)
  local why = UNWRAPPABLE[tree.path(node)]
  if why then
    return nil, string.format('%s: "%s" cannot be wrapped: %s', spec.plugin_file, tree.path(node), why)
  end
  local inner = node.spec.run
  if type(inner) ~= "function" then
    return nil, string.format('%s: "%s" is a group of commands and cannot be wrapped', spec.plugin_file, tree.path(node))
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
        return nil, string.format('%s: flag --%s is already a flag of "%s"', spec.plugin_file, f.name, tree.path(node))
      end
    end
    flags[#flags + 1] = f
  end
  wrapped.flags = flags
  wrapped.wrapped_by = { table.unpack(node.spec.wrapped_by or {}) }
  wrapped.wrapped_by[#wrapped.wrapped_by + 1] = spec.plugin_file
  local old_spec, old_flags = node.spec, node.flags
  node.spec = wrapped
  node.flags = tree.node_flags(wrapped)
  return true, function() node.spec, node.flags = old_spec, old_flags end
end

-- Removes a child node added by tree.add_child (undo of a mount).
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
    local nxt = tree.child(parent, words[i])
    if not nxt then
      return nil, string.format('%s: there is no command "%s %s" to put "%s" under', spec.plugin_file,
        tree.path(parent), words[i], words[#words])
    end
    parent = nxt
  end
  tree.load_all(parent)
  local existing = parent.by_name[words[#words]]
  if existing then
    if spec.wrap then return _wrap(existing, spec) end
    return nil, string.format('%s declares "%s", which %s already provides; set wrap = true to wrap it',
      spec.plugin_file, tree.path(existing), _describe_origin(existing))
  end
  if spec.wrap then
    return nil, string.format('%s wraps "%s %s", which does not exist', spec.plugin_file, tree.path(parent), words[#words])
  end
  local node = tree.new_node(spec, parent, nil)
  local ok, err = pcall(tree.add_child, parent, node)
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

return M
