--- Interactive input: one-line questions and numbered menus, as the astro CLI asks them.
-- Prompts and menus are written to stderr, so stdout carries only the command's result. A
-- prompt never waits on a closed or empty standard input: at end of input it returns an error
-- that says which value was missing and how to pass it instead.
local errors = require("astro.errors")
local output = require("astro.output")

local M = {}

--- Asks a question and reads one line from ctx.stdin (trailing "\r\n" removed). The question is
-- shown through output.printable with its lines kept (newline and tab; any other control
-- character, C1 or bidi control escaped).
-- Returns the answer, or nil and an error when standard input has ended.
---@param ctx table {stdin, stderr}
---@param text string the prompt, e.g. "enter email address to invite a user: "
---@param missing string what the answer is, for the error (e.g. "an email address")
---@param hint? string how to give it without a prompt (e.g. "pass it as an argument")
function M.ask(ctx, text, missing, hint)
  ctx.stderr:write(output.printable(text, { lines = true }))
  ctx.stderr:flush()
  local line = ctx.stdin:read("L")
  if line == nil then
    ctx.stderr:write("\n")
    return nil, errors.new(string.format("no %s given: standard input ended%s", missing,
      hint and ("; " .. hint) or ""), { code = "input" })
  end
  return (line:gsub("[\r\n]+$", ""))
end

--- Shows a numbered menu (a table whose first column is "#", cells escaped by output.table)
-- and reads the choice.
-- Returns the chosen row's index, or nil and an error: `invalid` (the astro CLI's message)
-- for an answer that is not a row number, or an input error at end of input.
---@param ctx table
---@param headers string[] columns after "#"
---@param rows string[][]
---@param opts {invalid: string, missing: string, hint?: string, highlight?: fun(row: string[]): boolean}
function M.menu(ctx, headers, rows, opts)
  local h = { "#" }
  for _, x in ipairs(headers) do h[#h + 1] = x end
  local numbered = {}
  for i, r in ipairs(rows) do
    local row = { tostring(i) }
    for _, x in ipairs(r) do row[#row + 1] = x end
    numbered[i] = row
  end
  local highlight = opts.highlight and function(row) return opts.highlight({ table.unpack(row, 2) }) end
  ctx.stderr:write(output.table(h, numbered, { color = output.color_enabled("stderr"), highlight = highlight }))
  local answer, err = M.ask(ctx, "\n> ", opts.missing, opts.hint)
  if not answer then return nil, err end
  local n = answer:match("^[1-9]%d*$") and tonumber(answer)
  if not n or n > #rows then return nil, errors.new(opts.invalid, { code = "input" }) end
  return n
end

--- The organization role menu of the astro CLI's create commands: "select a Organization Role
-- for the new <what>:" and a menu of the roles (astro.roles.VALID). Returns the chosen role, or
-- nil and an error: "invalid organization role selection" (code "input") for an answer that
-- is not a row number, or at end of input an error naming --role.
---@param ctx table {stdin, stderr}
---@param what string "team", "API token"
function M.role(ctx, what)
  local valid = require("astro.roles").VALID
  ctx.stderr:write("select a Organization Role for the new ", what, ":\n")
  local rows = {}
  for i, r in ipairs(valid) do rows[i] = { r } end
  local n, err = M.menu(ctx, { "ROLE" }, rows, { invalid = "invalid organization role selection",
    missing = "role choice", hint = "pass it with --role" })
  if not n then return nil, err end
  return valid[n]
end

return M
