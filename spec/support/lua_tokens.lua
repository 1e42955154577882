-- A small Lua 5.4 tokenizer for the layer spec: enough to tell code from comments and string
-- literals, so that a `require` or `os.getenv` is only counted where it is code.
--   tokens(src)       -> { { kind = "name"|"string"|"number"|"op", value = ..., line = n }, ... }
--                        or nil, message (an unfinished string or long comment)
--   requires(tokens)  -> literal, dynamic: literal = { { name = "astro.x", line = n }, ... } for
--                        require("x"), require "x", require 'x', require [[x]]; dynamic =
--                        { { line = n } } for any other use of the global require (a name, an
--                        expression, require passed around as a value)
--   field_uses(tokens, object, field) -> the lines of object.field / object:field / object["field"]
local M = {}

local OPS3 = { ["..."] = true }
local OPS2 = { ["=="] = true, ["~="] = true, ["<="] = true, [">="] = true, ["//"] = true, ["::"] = true,
               ["<<"] = true, [">>"] = true, [".."] = true }

-- The end of the long bracket opened at i ("[", "=" * level, "["), or nil when there is none
-- there; returns the position after the closing bracket and the text inside.
local function long_bracket(src, i)
  local eqs = src:match("^%[(=*)%[", i)
  if not eqs then return nil end
  local open_end = i + #eqs + 2
  local close = "]" .. eqs .. "]"
  local j = src:find(close, open_end, true)
  if not j then return false end
  return j + #close, src:sub(open_end, j - 1)
end

local function count_lines(s)
  local _, n = s:gsub("\n", "")
  return n
end

function M.tokens(src)
  local out = {}
  local i, n, line = 1, #src, 1
  -- A first line starting with # (a shebang) is not Lua.
  if src:sub(1, 1) == "#" then
    i = (src:find("\n", 1, true) or n + 1)
  end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" then
      line = line + 1
      i = i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local after, body = long_bracket(src, i + 2)
      if after == false then return nil, "unfinished long comment at line " .. line end
      if after then
        line = line + count_lines(body)
        i = after
      else
        i = src:find("\n", i, true) or n + 1
      end
    elseif c == "[" and src:match("^%[=*%[", i) then
      local after, body = long_bracket(src, i)
      if not after then return nil, "unfinished long string at line " .. line end
      -- A newline right after the opening bracket is not part of the string.
      out[#out + 1] = { kind = "string", value = (body:gsub("^\r?\n", "")), line = line }
      line = line + count_lines(body)
      i = after
    elseif c == '"' or c == "'" then
      local start_line = line
      local j = i + 1
      local parts = {}
      while true do
        local d = src:sub(j, j)
        if d == "" or d == "\n" then return nil, "unfinished string at line " .. start_line end
        if d == c then break end
        if d == "\\" then
          local e = src:sub(j + 1, j + 1)
          if e == "\n" then line = line + 1 end
          if e == "z" then
            -- \z skips the whitespace (newlines included) that follows.
            local ws = src:match("^%s*", j + 2)
            line = line + count_lines(ws)
            j = j + 2 + #ws
          else
            parts[#parts + 1] = e
            j = j + 2
          end
        else
          parts[#parts + 1] = d
          j = j + 1
        end
      end
      out[#out + 1] = { kind = "string", value = table.concat(parts), line = start_line }
      i = j + 1
    elseif c:match("[%a_]") then
      local name = src:match("^[%w_]+", i)
      out[#out + 1] = { kind = "name", value = name, line = line }
      i = i + #name
    elseif c:match("%d") or (c == "." and src:sub(i + 1, i + 1):match("%d")) then
      local num = src:match("^0[xX][%x%.]*[pP][+-]?%d+", i) or src:match("^0[xX][%x%.]*", i)
               or src:match("^[%d%.]+[eE][+-]?%d+", i) or src:match("^[%d%.]+", i)
      out[#out + 1] = { kind = "number", value = num, line = line }
      i = i + #num
    else
      local op = src:sub(i, i + 2)
      if not OPS3[op] then
        op = src:sub(i, i + 1)
        if not OPS2[op] then op = c end
      end
      out[#out + 1] = { kind = "op", value = op, line = line }
      i = i + #op
    end
  end
  return out
end

local function is_op(t, v) return t and t.kind == "op" and t.value == v end

function M.requires(tokens)
  local literal, dynamic = {}, {}
  for k, t in ipairs(tokens) do
    local prev = tokens[k - 1]
    -- `x.require` and `x:require` are fields, not the global require.
    if t.kind == "name" and t.value == "require" and not is_op(prev, ".") and not is_op(prev, ":") then
      local a, b, c = tokens[k + 1], tokens[k + 2], tokens[k + 3]
      if a and a.kind == "string" then
        literal[#literal + 1] = { name = a.value, line = t.line }
      elseif is_op(a, "(") and b and b.kind == "string" and is_op(c, ")") then
        literal[#literal + 1] = { name = b.value, line = t.line }
      else
        dynamic[#dynamic + 1] = { line = t.line }
      end
    end
  end
  return literal, dynamic
end

function M.field_uses(tokens, object, field)
  local lines = {}
  for k, t in ipairs(tokens) do
    local prev = tokens[k - 1]
    if t.kind == "name" and t.value == object and not is_op(prev, ".") and not is_op(prev, ":") then
      local a, b, c = tokens[k + 1], tokens[k + 2], tokens[k + 3]
      if (is_op(a, ".") or is_op(a, ":")) and b and b.kind == "name" and b.value == field then
        lines[#lines + 1] = t.line
      elseif is_op(a, "[") and b and b.kind == "string" and b.value == field and is_op(c, "]") then
        lines[#lines + 1] = t.line
      end
    end
  end
  return lines
end

return M
