-- The layers of the Lua tree: which module may require which. Module names come from files
-- (lua/astro/x/y.lua is "astro.x.y", lua/astro/x/init.lua is "astro.x"); every require of a
-- literal name in code (not in comments or strings) is an edge of the module graph.
--   0  astro.core.*       C primitives (no Lua file), and the external cjson, cjson.safe
--   1  astro.<name>       public library modules (lua/astro/<name>.lua), except the facades
--   2  astro._core.*      private machinery
--   3  FACADES below      public modules built on the private machinery
--   4  astro.commands.*   stock commands: they may require public modules (1 and 3) only
--   5  astro.cli, astro.cli.*   the command-line machinery
-- A module may require modules of its own layer or below, the graph has no cycle, a require
-- of a computed name is for astro.cli* and astro._core.userenv only, and the environment is
-- read in one place (the C module astro.core.env). User code (`astro run`, plugins) gets the
-- public modules, layers 1 and 3, and nothing else.
local h = require("spec.helpers")
local lex = require("spec.support.lua_tokens")

-- The facade set, layer 3: the public modules built on the private machinery (astro._core.*).
-- A public module (astro.<name>) that is not here is a library module of layer 1, which may not
-- require astro._core.* or a facade.
local FACADES = { ["astro"] = true, ["astro.http"] = true, ["astro.people"] = true, ["astro.teams"] = true,
                  ["astro.tokens"] = true }

-- Modules from outside the tree that any module may require (layer 0).
local EXTERNAL = { ["cjson"] = true, ["cjson.safe"] = true }
FACADES["astro.audit_logs"] = true -- built on the client's raw sending (its answer is not JSON)

-- Modules that may require a name they compute: the command line (it loads the command modules)
-- and the module that serves public modules to user code.
local function may_require_dynamically(name)
  return name == "astro.cli" or name:find("^astro%.cli%.") ~= nil or name == "astro._core.userenv"
end

local LAYER_NAMES = {
  [0] = "layer 0, C primitive", [1] = "layer 1, public library", [2] = "layer 2, private machinery",
  [3] = "layer 3, public facade", [4] = "layer 4, stock command", [5] = "layer 5, command line",
}

local function is_public(layer) return layer == 1 or layer == 3 end

--- The layer of module `name` whose file is `rel` (relative to lua/, nil for a module with no
-- Lua file), or nil and why it fits none.
local function layer_of(name, rel)
  if EXTERNAL[name] then return 0 end
  if name == "astro.core" or name:find("^astro%.core%.") then
    if rel then return nil, "astro.core.* are C primitives; a Lua module may not take that name" end
    return 0
  end
  if FACADES[name] then return 3 end
  if name == "astro.cli" or name:find("^astro%.cli%.") then return 5 end
  if name == "astro.commands" or name:find("^astro%.commands%.") then return 4 end
  if name == "astro._core" or name:find("^astro%._core%.") then return 2 end
  local word = name:match("^astro%.([%w_]+)$")
  if word and word:sub(1, 1) ~= "_" then
    if rel ~= "astro/" .. word .. ".lua" then
      return nil, "a public library module is a file at the top of lua/astro/ (lua/astro/" .. word .. ".lua)"
    end
    return 1
  end
  return nil, "it is none of astro.<name>, astro._core.*, astro.commands.*, astro.cli* or a facade"
end

local function describe_layer(layer) return LAYER_NAMES[layer] or "no layer" end

-- Reads the Lua tree: modules[name] = { name, rel, file, layer, why, edges = { {target, line} },
-- dynamic = { lines }, tokens }, plus the sorted list of names and the problems found on the way.
local function scan_tree()
  local root = h.root .. "/lua"
  local files = h.lines(h.capture("cd " .. h.shell_quote(root) .. " && find . -type f -name '*.lua' | LC_ALL=C sort"))
  local modules, names, problems = {}, {}, {}
  for _, f in ipairs(files) do
    local rel = f:gsub("^%./", "")
    local name = rel:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    local file = "lua/" .. rel
    if modules[name] then
      problems[#problems + 1] = string.format("%s and %s are both module %s", modules[name].file, file, name)
    else
      local text = assert(h.read_file(root .. "/" .. rel), "cannot read " .. file)
      local tokens, terr = lex.tokens(text)
      if not tokens then
        problems[#problems + 1] = file .. ": cannot tokenize: " .. terr
        tokens = {}
      end
      local literal, dynamic = lex.requires(tokens)
      local layer, why = layer_of(name, rel)
      modules[name] = { name = name, rel = rel, file = file, layer = layer, why = why, edges = literal,
                        dynamic = dynamic, tokens = tokens }
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return modules, names, problems
end

local modules, names, scan_problems = scan_tree()

-- The C primitives the host registers (package.preload of this binary), sorted.
local function c_primitives()
  local out = {}
  for name in pairs(package.preload) do
    if name:find("^astro%.core%.") and not modules[name] then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

--- The layer of an edge's target: a module of the tree, a C primitive or an external module.
local function target_layer(target)
  local m = modules[target]
  if m then return m.layer end
  if EXTERNAL[target] then return 0 end
  if target:find("^astro%.core%.") and package.preload[target] then return 0 end
  return nil
end

-- Each edge of the tree as { from = module, to = name, line = n }, in file and line order.
local function all_edges()
  local out = {}
  for _, name in ipairs(names) do
    local m = modules[name]
    for _, e in ipairs(m.edges) do out[#out + 1] = { from = m, to = e.name, line = e.line } end
  end
  return out
end

local function fail_with(problems, title)
  if #problems > 0 then
    error(title .. " (" .. #problems .. "):\n  " .. table.concat(problems, "\n  "), 0)
  end
end

describe("the layers of lua/astro", function()
  lazy_teardown(h.cleanup)

  it("finds the modules of the tree", function()
    assert.is_true(#names > 0, "no Lua module found under " .. h.root .. "/lua")
    assert.is_truthy(modules["astro"], "lua/astro/init.lua (module astro) is missing")
    fail_with(scan_problems, "the tree cannot be read")
  end)

  it("reads requires from code only: comments and strings do not count", function()
    local src = table.concat({
      '#!/usr/bin/env astro',
      'local a = require("astro.a")',
      'local b = require "astro.b"',
      "local c = require 'astro.c'",
      'local d = require("astro.d").f',
      'local e, f = require("astro.e"), require("astro.f")',
      '-- require("astro.comment")',
      '--[[ require("astro.long_comment")',
      '  still a comment ]] local g = require [[astro.g]]',
      '--[==[ ]] require("astro.level_comment") ]==]',
      'local s = "-- not a comment" .. require("astro.h")',
      'local t = "require(\\"astro.in_string\\")"',
      "local u = [[ require('astro.in_long_string') ]]",
      'local function lazy() return require("astro.i") end',
      'local dyn = require(name)',
      'local dyn2 = require("astro." .. name)',
      'local loader = load or require',
      'env.require = function(n) end',
      'local r = opts.required',
      'local x = "a\\',
      'b" .. require("astro.j")',
    }, "\n")
    local tokens = assert(lex.tokens(src))
    local literal, dynamic = lex.requires(tokens)
    local got = {}
    for i, e in ipairs(literal) do got[i] = e.name .. ":" .. e.line end
    assert.are.same({ "astro.a:2", "astro.b:3", "astro.c:4", "astro.d:5", "astro.e:6", "astro.f:6",
                      "astro.g:9", "astro.h:11", "astro.i:14", "astro.j:21" }, got)
    local lines = {}
    for i, d in ipairs(dynamic) do lines[i] = d.line end
    assert.are.same({ 15, 16, 17 }, lines)
    local env_tokens = assert(lex.tokens('local v = os.getenv("X") -- os.getenv\nlocal w = "os.getenv"\n' ..
      'local g = os["getenv"]\nlocal q = myos.getenv\n'))
    assert.are.same({ 1, 3 }, lex.field_uses(env_tokens, "os", "getenv"))
  end)

  it("puts every module of lua/ in a layer, and every facade is a module of lua/", function()
    local problems = {}
    for _, name in ipairs(names) do
      local m = modules[name]
      if not m.layer then problems[#problems + 1] = string.format("%s (%s): no layer: %s", name, m.file, m.why) end
    end
    local facades = {}
    for name in pairs(FACADES) do facades[#facades + 1] = name end
    table.sort(facades)
    for _, name in ipairs(facades) do
      if not modules[name] then
        problems[#problems + 1] = "facade " .. name .. " (in FACADES of this spec) is not a module under lua/"
      end
    end
    fail_with(problems, "modules outside the layer rule")
  end)

  it("requires only modules of lua/, C primitives (astro.core.*) and cjson", function()
    local problems = {}
    for _, e in ipairs(all_edges()) do
      if not modules[e.to] and target_layer(e.to) == nil then
        problems[#problems + 1] = string.format("%s:%d: %s requires %s, which is neither a module of lua/ " ..
          "nor a C primitive of the host nor cjson", e.from.file, e.line, e.from.name, e.to)
      end
    end
    fail_with(problems, "requires of unknown modules")
  end)

  it("requires nothing from a higher layer", function()
    local problems = {}
    for _, e in ipairs(all_edges()) do
      local from, to = e.from.layer, target_layer(e.to)
      if from and to and to > from then
        problems[#problems + 1] = string.format("%s:%d: %s (%s) requires %s (%s)", e.from.file, e.line,
          e.from.name, describe_layer(from), e.to, describe_layer(to))
      end
    end
    fail_with(problems, "requires of a higher layer")
  end)

  it("lets stock commands require public modules only (layers 1 and 3)", function()
    local problems = {}
    for _, e in ipairs(all_edges()) do
      if e.from.layer == 4 then
        local to = target_layer(e.to)
        if not is_public(to) then
          problems[#problems + 1] = string.format("%s:%d: %s requires %s (%s); a stock command may require " ..
            "only public modules (layers 1 and 3), as a plugin may", e.from.file, e.line, e.from.name, e.to,
            describe_layer(to))
        end
      end
    end
    fail_with(problems, "stock commands that reach past the public API")
  end)

  it("has no cycle of requires", function()
    -- The facade's LAZY table (lua/astro/init.lua) loads a public module when its field is first
    -- read, once `astro` is loaded: such a module may require `astro` back, so the edges of
    -- that table's lines are no load-time dependency and take no part in cycles.
    local lazy = {}
    local init_text = h.read_file(h.root .. "/lua/astro/init.lua") or ""
    local n, inside = 0, false
    for line in (init_text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if line:match("^local LAZY = {") then inside = true
      elseif inside and line:match("^}") then inside = false
      elseif inside then lazy[n] = true end
    end
    local succ = {}
    for _, name in ipairs(names) do succ[name] = {} end
    local where = {}
    for _, e in ipairs(all_edges()) do
      if modules[e.to] and not (e.from.name == "astro" and lazy[e.line]) then
        local key = e.from.name .. "\0" .. e.to
        if not where[key] then
          where[key] = e.from.file .. ":" .. e.line
          table.insert(succ[e.from.name], e.to)
        end
      end
    end
    local index, low, on_stack, stack, next_index, sccs = {}, {}, {}, {}, 0, {}
    local function connect(v)
      index[v], low[v] = next_index, next_index
      next_index = next_index + 1
      stack[#stack + 1] = v
      on_stack[v] = true
      for _, w in ipairs(succ[v]) do
        if index[w] == nil then
          connect(w)
          low[v] = math.min(low[v], low[w])
        elseif on_stack[w] then
          low[v] = math.min(low[v], index[w])
        end
      end
      if low[v] == index[v] then
        local scc = {}
        repeat
          local w = table.remove(stack)
          on_stack[w] = nil
          scc[#scc + 1] = w
        until w == v
        sccs[#sccs + 1] = scc
      end
    end
    for _, name in ipairs(names) do
      if index[name] == nil then connect(name) end
    end
    -- For each component with a cycle, the shortest cycle through its first module (by name).
    local problems = {}
    for _, scc in ipairs(sccs) do
      local inside = {}
      for _, v in ipairs(scc) do inside[v] = true end
      table.sort(scc)
      local start = scc[1]
      local self_loop = where[start .. "\0" .. start] ~= nil
      if #scc > 1 or self_loop then
        local parent, queue, found = { [start] = false }, { start }, nil
        local qi = 1
        while qi <= #queue and not found do
          local v = queue[qi]
          qi = qi + 1
          for _, w in ipairs(succ[v]) do
            if w == start then found = v break end
            if inside[w] and parent[w] == nil then
              parent[w] = v
              queue[#queue + 1] = w
            end
          end
        end
        local path = {}
        local v = found
        while v do
          table.insert(path, 1, v)
          v = parent[v]
        end
        path[#path + 1] = start
        local parts = { path[1] }
        for i = 2, #path do
          parts[#parts + 1] = string.format("-> %s (%s)", path[i], where[path[i - 1] .. "\0" .. path[i]])
        end
        problems[#problems + 1] = table.concat(parts, " ")
      end
    end
    fail_with(problems, "cycles of requires (each edge names the file:line of its require)")
  end)

  it("computes required names only in astro.cli* and astro._core.userenv", function()
    local problems = {}
    for _, name in ipairs(names) do
      local m = modules[name]
      if not may_require_dynamically(name) then
        for _, d in ipairs(m.dynamic) do
          problems[#problems + 1] = string.format("%s:%d: %s uses require with a name that is not a string " ..
            "literal; only astro.cli* and astro._core.userenv may", m.file, d.line, name)
        end
      end
    end
    fail_with(problems, "dynamic requires")
  end)

  it("reads environment variables only in src/env.c (astro.core.env): no os.getenv in lua/", function()
    local problems = {}
    for _, name in ipairs(names) do
      local m = modules[name]
      for _, line in ipairs(lex.field_uses(m.tokens, "os", "getenv")) do
        problems[#problems + 1] = string.format("%s:%d: %s calls os.getenv; read the environment through " ..
          "astro.core.env", m.file, line, name)
      end
    end
    fail_with(problems, "environment reads in Lua")
  end)

  it("reads environment variables only in src/env.c: no getenv( in any other file of src/", function()
    -- C source with its comments, string and character literals blanked (newlines kept).
    local function code_of(text)
      local out, i, n = {}, 1, #text
      while i <= n do
        local c, two = text:sub(i, i), text:sub(i, i + 1)
        if two == "/*" then
          local j = text:find("*/", i + 2, true) or n - 1
          out[#out + 1] = text:sub(i, j + 1):gsub("[^\n]", " ")
          i = j + 2
        elseif two == "//" then
          local j = text:find("\n", i, true) or n + 1
          out[#out + 1] = string.rep(" ", j - i)
          i = j
        elseif c == '"' or c == "'" then
          local j = i + 1
          while j <= n and text:sub(j, j) ~= c and text:sub(j, j) ~= "\n" do
            j = j + (text:sub(j, j) == "\\" and 2 or 1)
          end
          out[#out + 1] = c .. text:sub(i + 1, j - 1):gsub("[^\n]", " ") .. c
          i = j + 1
        else
          out[#out + 1] = c
          i = i + 1
        end
      end
      return table.concat(out)
    end
    local sample = 'x = 1; /*\n getenv( */\ny("getenv("); // getenv(\nz = getenv ("HOME");'
    local blanked = code_of(sample)
    assert.are.equal(#sample, #blanked)
    assert.are.equal('x = 1;', blanked:sub(1, 6))
    assert.are.equal(1, select(2, blanked:gsub("getenv", "")))   -- only the call on the last line

    local files = h.lines(h.capture("cd " .. h.shell_quote(h.root) ..
      " && find src -type f \\( -name '*.c' -o -name '*.h' \\) | LC_ALL=C sort"))
    assert.is_true(#files > 0, "no C file found under " .. h.root .. "/src")
    local problems = {}
    for _, f in ipairs(files) do
      if f ~= "src/env.c" then
        local code = code_of(assert(h.read_file(h.root .. "/" .. f)))
        local lineno = 0
        for line in (code .. "\n"):gmatch("([^\n]*)\n") do
          lineno = lineno + 1
          if line:find("%f[%w_]getenv%s*%(") or line:find("%f[%w_]secure_getenv%s*%(") then
            problems[#problems + 1] = string.format("%s:%d: calls getenv; environment variables are read in " ..
              "src/env.c (astro.core.env) only", f, lineno)
          end
        end
      end
    end
    fail_with(problems, "environment reads in C outside src/env.c")
  end)

  it("serves user code (astro run) the public modules, layers 1 and 3, and refuses every other", function()
    local wanted = {}
    for _, name in ipairs(names) do
      if modules[name].layer then wanted[#wanted + 1] = name end
    end
    local primitives = c_primitives()
    assert.is_truthy(package.preload["astro.core.http"], "this host has no astro.core.http primitive")
    for _, name in ipairs(primitives) do wanted[#wanted + 1] = name end
    local quoted = {}
    for i, name in ipairs(wanted) do quoted[i] = string.format("%q", name) end
    local dir = h.tmpdir()
    local script = dir .. "/require_all.lua"
    h.write_file(script, "local names = { " .. table.concat(quoted, ", ") .. " }\n" .. [[
for _, name in ipairs(names) do
  local ok, err = pcall(require, name)
  if ok then
    print("loaded", name)
  else
    print("refused", name, (tostring(err):gsub("%s+", " ")))
  end
end
]])
    local r = h.run({ "run", script }, { home = dir })
    assert.are.equal(0, r.code, "astro run " .. script .. " failed:\n" .. tostring(r.stderr))
    local seen = {}
    for _, line in ipairs(h.lines(r.stdout)) do
      local outcome, name, msg = line:match("^(%a+)\t([^\t]+)\t?(.*)$")
      if outcome then seen[name] = { outcome = outcome, message = msg } end
    end
    local problems = {}
    for _, name in ipairs(wanted) do
      local layer = target_layer(name)
      local got = seen[name]
      if not got then
        problems[#problems + 1] = name .. ": the script printed nothing for it (stdout:\n" .. r.stdout .. ")"
      elseif is_public(layer) and got.outcome ~= "loaded" then
        problems[#problems + 1] = string.format("%s (%s) is public but user code cannot require it: %s", name,
          describe_layer(layer), got.message)
      elseif not is_public(layer) and got.outcome ~= "refused" then
        problems[#problems + 1] = string.format("%s (%s) is not public but user code could require it", name,
          describe_layer(layer))
      end
    end
    fail_with(problems, "modules user code gets wrong")
  end)
end)
