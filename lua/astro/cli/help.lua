--- Help texts in cobra's layout: usage, aliases, examples, subcommands, flags, global flags.
local tree = require("astro.cli.tree")

local M = {}

local function _flag_lines(flags, help_for)
  local rows = {}
  local sorted = { table.unpack(flags) }
  table.sort(sorted, function(a, b) return a.name < b.name end)
  for _, f in ipairs(sorted) do
    local left = (f.short and ("  -" .. f.short .. ", ") or "      ") .. "--" .. f.name
    if f.type ~= "bool" then left = left .. " " .. (f.type == "strings" and "stringArray" or f.type or "string") end
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

--- The usage block of a node (what follows the description in help).
function M.usage(node)
  local spec = node.spec
  local path = tree.path(node)
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
  local children = tree.children(node)
  if #children > 0 then out[#out + 1] = "  " .. path .. " [command]" end
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
  if #children > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Available Commands:"
    local rows = {}
    for _, c in ipairs(children) do rows[#rows + 1] = { c.name, c.spec.short or "" } end
    -- The root lists `help` and `completion` too, as cobra does (tree.builtins).
    for _, b in ipairs(tree.builtins(node)) do rows[#rows + 1] = { b.name, b.short } end
    table.sort(rows, function(a, b) return a[1] < b[1] end)
    local w = 11
    for _, r in ipairs(rows) do w = math.max(w, #r[1] + 1) end
    for _, r in ipairs(rows) do
      out[#out + 1] = "  " .. r[1] .. string.rep(" ", w - #r[1]) .. r[2]
    end
  end
  local flags = { tree.HELP_FLAG, table.unpack(node.flags) }
  out[#out + 1] = ""
  out[#out + 1] = "Flags:"
  out[#out + 1] = _flag_lines(flags, node.name)
  out[#out + 1] = ""
  out[#out + 1] = "Global Flags:"
  out[#out + 1] = _flag_lines(tree.GLOBAL_FLAGS, node.name)
  if #children > 0 then
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

return M
