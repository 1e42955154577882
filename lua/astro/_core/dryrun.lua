--- --dry-run for the whole process. The command line decides it once (astro.cli, from
-- --dry-run wherever it was typed); nothing turns it off again. While it is on, no request that
-- changes something reaches the network: a client prints it to the plan stream instead
-- (astro._core.client), and the transport refuses any that got past (astro._core.transport).
-- The plan stream is the command line's choice too: stderr whenever stdout carries data
-- (--json, -o json|csv, astro run), else stdout.
local output = require("astro.output")
local secrets = require("astro._core.secrets")

local M = {}

local on = false
local plan_stream

--- Turns dry-run on for the rest of the process; plan, when given, becomes the plan stream.
---@param plan? file*
function M.enable(plan)
  on = true
  if plan then plan_stream = plan end
end

--- Tells whether dry-run is on.
function M.is_on() return on end

--- Sets where plan lines go (the command line's choice), whether dry-run is on or not.
---@param stream file*
function M.set_plan_stream(stream) plan_stream = stream end

--- The stream plan lines go to: the one set, else stderr.
function M.plan_stream() return plan_stream or io.stderr end

--- Writes one plan line ("dry run: ..."), for a person: secrets redacted
-- (astro._core.secrets) and escaped (astro.output.printable), to stream or the plan stream.
---@param line string without its newline
---@param stream? file*
function M.write(line, stream)
  local out = stream or M.plan_stream()
  out:write(output.printable(secrets.redact(line)), "\n")
end

--- Tells whether a method changes something on the server (what dry-run holds back).
function M.is_mutating(method)
  return not (method == "GET" or method == "HEAD" or method == "OPTIONS")
end

--- For specs running many commands in one process: dry-run off and no plan stream again.
-- Nothing outside astro._core can reach it (user code cannot require astro._core.*).
function M._reset_for_tests()
  on, plan_stream = false, nil
end

return M
