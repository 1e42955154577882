--- `user invite --file` and `user update --file`: many rows from a CSV file (email, role),
-- validated before anything is sent, planned against ONE listing of the organization's
-- users, sent concurrently at the API's pace (astro.bulk), and reported row by row as
-- invited, updated, skipped or failed. Running the same file twice changes nothing the
-- second time; a report file can be fed back, and then only its failed rows are tried again.
local astro = require("astro")
local bulk = require("astro.bulk")
local csv = require("astro.csv")
local errors = require("astro.errors")
local output = require("astro.output")
local roles = require("astro.roles")
local email = require("astro.email")
local json = require("astro.json")

local M = {}

M.REPORT_HEADER = { "email", "role", "line", "result", "message", "request_id" }

--- The flags `user invite` and `user update` take for files.
M.FLAGS = require("astro.bulk_flags").FLAGS

--- For `user invite` / `user update`: runs the --file form when --file is given and returns
-- true plus its results; returns false when the single form should run, or true, nil, err
-- when the flags are misused (file flags without --file, an email with --file).
---@param kind "invite"|"update"
function M.dispatch(kind, opts, ctx)
  if opts.file ~= "" then
    if #opts.args > 0 then return true, nil, errors.usage("give either an email or --file, not both") end
    return true, M.run(kind, opts, ctx)
  end
  for _, f in ipairs({ "strict", "json" }) do
    if opts[f] then return true, nil, errors.usage("--" .. f .. " goes with --file") end
  end
  if opts.report ~= "" or opts.rate_limit ~= "" then
    return true, nil, errors.usage("--report and --rate-limit go with --file")
  end
  return false
end

--- Reads the CSV rows of path ("-" for standard input). Returns rows or nil, err.
---@param path string
---@param required string[]
---@param stdin file*
function M.read_rows(path, required, stdin)
  local text, ferr
  if path == "-" then
    text = stdin:read("a") or ""
  else
    local f
    f, ferr = io.open(path, "rb")
    if not f then return nil, errors.new("cannot read " .. tostring(ferr), { code = "io" }) end
    text = f:read("a")
    f:close()
  end
  if not text:find("%S") then
    return nil, errors.new((path == "-" and "standard input" or path) .. " is empty (or closed): it needs a " ..
      "header line naming the columns (" .. table.concat(required, ",") .. ") and a row per person", { code = "csv" })
  end
  local rows, err = csv.parse(text, { required = required })
  if not rows then
    local message = tostring(err.message or err)
    local first = text:match("^[^\r\n]*") or ""
    if message:find("missing required column", 1, true) and first:find("@", 1, true) then
      -- The first line holds an address: the file has no header line at all.
      message = message .. "; the first line must be a header naming the columns, such as " ..
        table.concat(required, ",") .. (#required == 1 and ",role" or "")
    end
    return nil, errors.new((path == "-" and "standard input" or path) .. ": " .. message, { code = "csv" })
  end
  return rows
end

-- This tool writes CSV cells that would start a formula with a leading "'" (a report, or
-- `user list -o csv`); reading any file takes it off again, so such a file fed back names the
-- same addresses.
local _unneutralize = csv.unneutralize

local function _entry(row, default_role)
  local e = { line = row._line, email = _unneutralize(row.email or ""), role = _unneutralize(row.role or "") }
  if e.role == "" and default_role then e.role = default_role end
  return e
end

-- Validates every row (email, role, duplicates, an earlier report's result column). Marks
-- entries with result "failed" or "skipped"; returns the number of invalid rows. A row that
-- a report of this same command says was done (invited, updated) is skipped; every other row
-- (failed, skipped, held back by --strict, or a report of the other command) is planned again
-- against the listing, which skips what needs nothing.
local function _validate(entries, kind, has_result_column, rows)
  local first, invalid = {}, 0
  local done_word = kind == "invite" and "invited" or "updated"
  for i, e in ipairs(entries) do
    local prior = has_result_column and rows[i].result
    local norm, err = email.normalize(e.email)
    if prior == done_word then
      e.result, e.message = "skipped", "done in an earlier run (" .. prior .. ")"
    elseif not norm then
      e.result, e.message = "failed", err.message
    elseif e.role == "" then
      e.result, e.message = "failed", "no role given: fill in the role column, or give --role for every row without one"
    elseif not roles.is_valid(e.role) then
      e.result, e.message = "failed", roles.INVALID_MESSAGE:gsub("%s+$", "")
    else
      e.email = norm
      local f = first[norm]
      if f and f.conflict then
        e.result, e.message = "failed", string.format("line %d gives %s other roles", f.line, norm)
      elseif f and f.role ~= e.role then
        f.conflict = true
        e.result, e.message = "failed", string.format("line %d gives %s the role %s", f.line, norm, f.role)
        if f.result == nil then
          f.result, f.message = "failed", string.format("line %d gives %s the role %s", e.line, norm, e.role)
          invalid = invalid + 1
        end
      elseif f then
        e.result, e.message = "skipped", "duplicate of line " .. f.line
      else
        first[norm] = e
      end
    end
    if e.result == "failed" then invalid = invalid + 1 end
  end
  return invalid
end

-- Index of the organization's users by lower-cased email.
local function _index(users)
  local by = {}
  for _, u in ipairs(users) do
    if type(u.username) == "string" then by[u.username:lower()] = u end
  end
  return by
end

-- Plans each still-open entry against the users; returns the jobs and the entry of each job.
local function _plan(entries, kind, by_email, client)
  local jobs, owners = {}, {}
  local base = assert(client:org_path(""))
  for _, e in ipairs(entries) do
    if e.result == nil then
      local u = by_email[e.email]
      if kind == "invite" then
        if u and u.status == "PENDING" then
          e.result, e.message = "skipped", "already invited"
        elseif u then
          e.result, e.message = "skipped", "already a member" ..
            ((u.organizationRole and u.organizationRole ~= e.role) and (" (role " .. u.organizationRole .. ")") or "")
        else
          jobs[#jobs + 1] = { method = "POST", path = base .. "/invites", body = { inviteeEmail = e.email, role = e.role } }
          owners[#jobs] = e
        end
      else
        if not u then
          e.result, e.message = "failed", "no user was found for the email you provided"
        elseif u.organizationRole == e.role then
          e.result, e.message = "skipped", "already " .. e.role
        else
          jobs[#jobs + 1] = { method = "POST", idempotent = true,
                              path = base .. "/users/" .. require("astro.api").escape_path(u.id) .. "/roles",
                              body = { organizationRole = e.role } }
          owners[#jobs] = e
        end
      end
    end
  end
  return jobs, owners
end

-- Checks, before anything is sent, that the report file can be written, without changing it
-- (it may be the input file, fed back). Returns true or nil, err.
local function _check_report(path)
  local existing = io.open(path, "rb")
  if existing then existing:close() end
  local f, err = io.open(path, "ab")
  if not f then
    return nil, errors.new("cannot write the report: " .. tostring(err) .. "; nothing was sent", { code = "io" })
  end
  f:close()
  if not existing then os.remove(path) end
  return true
end

-- Writes the report: into a temporary file beside it, then renamed over it, so that a report
-- is whole or not there (falling back to writing in place when the folder refuses a new file).
-- Returns true or nil, err.
local function _write_report(path, entries)
  local tmp = string.format("%s.%d.tmp", path, require("astro.core.sys").getpid())
  local f = io.open(tmp, "wb")
  local target = f and tmp or path
  if not f then
    local err
    f, err = io.open(path, "wb")
    if not f then return nil, errors.new("cannot write the report: " .. tostring(err), { code = "io" }) end
  end
  local w = csv.writer(f, M.REPORT_HEADER)
  for _, e in ipairs(entries) do
    w:write({ e.email, e.role, tostring(e.line), e.result, e.message or "", e.requestId or "" })
  end
  local ok, err = f:close()
  if ok and target == tmp then ok, err = os.rename(tmp, path) end
  if not ok then
    if target == tmp then os.remove(tmp) end
    return nil, errors.new("cannot write the report " .. path .. ": " .. tostring(err), { code = "io" })
  end
  return true
end

local function _summary(entries)
  local s = { invited = 0, updated = 0, skipped = 0, failed = 0 }
  for _, e in ipairs(entries) do s[e.result] = (s[e.result] or 0) + 1 end
  return s
end

--- Runs a file of invites or role updates. opts: the command's options (file, role, strict,
-- json, report, rate_limit). Returns an exit status or nil, err.
---@param kind "invite"|"update"
---@param opts table
---@param ctx table
function M.run(kind, opts, ctx)
  local rates = bulk.rates
  if opts.rate_limit and opts.rate_limit ~= "" then
    local r, rerr = bulk.parse_rates(opts.rate_limit)
    if not r then return nil, rerr end
    rates = r
  end
  -- --role is the role of every row without one (invite: ORGANIZATION_MEMBER by default);
  -- a bad one stops the run before the file is read.
  local default_role
  if opts.role and opts.role ~= "" then
    local rerr
    default_role, rerr = roles.validate(opts.role)
    if not default_role then return nil, rerr end
  elseif kind == "invite" then
    default_role = roles.DEFAULT
  end
  local required = default_role and { "email" } or { "email", "role" }
  local rows, err = M.read_rows(opts.file, required, ctx.stdin)
  if not rows then return nil, err end
  local entries = {}
  local has_result = rows[1] ~= nil and rows[1].result ~= nil
  for i, row in ipairs(rows) do entries[i] = _entry(row, default_role) end
  local invalid = _validate(entries, kind, has_result, rows)

  local report = opts.report ~= nil and opts.report ~= "" and opts.report or nil
  if report then
    local ok
    ok, err = _check_report(report)
    if not ok then return nil, err end
  end

  if invalid > 0 and opts.strict then
    for _, e in ipairs(entries) do
      if e.result == nil then e.result, e.message = "skipped", "not sent: the file has invalid rows (--strict)" end
    end
  else
    local client
    client, err = ctx.api()
    if not client then return nil, err end
    local users
    users, err = astro.users.list()
    if not users then return nil, err end
    local jobs, owners = _plan(entries, kind, _index(users), client)
    local progress = bulk.progress(#jobs, kind == "invite" and "inviting" or "updating")
    local done_word = kind == "invite" and "invited" or "updated"
    bulk.run(client, jobs, {
      rates = rates,
      quiet_plan = true,
      on_result = function(i, result)
        local e = owners[i]
        if result.ok then
          e.result = done_word
          if result.dry_run then e.message = "dry run: not sent" end
          if result.confirmed then e.message = "confirmed by listing the users after an unknown outcome" end
          e.requestId = result.requestId
        else
          e.result, e.message = "failed", result.err.message
          e.requestId = result.err.requestId
        end
        progress.step()
      end,
      on_unknown = kind == "invite" and function(items)
        -- Did the invites whose answer was lost take effect? One listing tells.
        local now = client:list(assert(client:org_path("/users")), "users")
        if not now then return nil end   -- cannot tell: send nothing again
        local by, confirmed = _index(now), {}
        for _, it in ipairs(items) do
          if by[it.job.body.inviteeEmail] then confirmed[it.index] = true end
        end
        return confirmed
      end or nil,
    })
    progress.finish()
  end

  local summary = _summary(entries)
  if opts.json then
    local list = json.array({})
    for i, e in ipairs(entries) do
      list[i] = { line = e.line, email = e.email, role = e.role, result = e.result, message = e.message,
                  requestId = e.requestId }
    end
    ctx.stdout:write(output.json({ rows = list, summary = summary },
      { "rows", "summary", "line", "email", "role", "result", "message", "requestId",
        "invited", "updated", "skipped", "failed" }))
  else
    local t = {}
    for i, e in ipairs(entries) do
      t[i] = { tostring(e.line), e.email, e.role, e.result, (e.message or "") ..
        (e.requestId and e.result == "failed" and (" (request " .. e.requestId .. ")") or "") }
    end
    ctx.stdout:write(output.table({ "LINE", "EMAIL", "ROLE", "RESULT", "MESSAGE" }, t))
  end
  local word = kind == "invite" and "invited" or "updated"
  if ctx.stdout.flush then ctx.stdout:flush() end      -- the table before the summary, in a shared log
  ctx.stderr:write(string.format("%d rows: %d %s, %d skipped, %d failed%s\n", #entries, summary[word] or 0, word,
    summary.skipped, summary.failed, astro.dry_run() and " (dry run: nothing was sent)" or ""))
  if report then
    local ok, werr = _write_report(report, entries)
    if not ok then return nil, werr end
  end
  return summary.failed == 0 and 0 or 1
end

return M
