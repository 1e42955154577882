--- astro.people: a CSV file of people (a header line, then rows with `email` and `role`) to
-- invite to the organization or to give roles. A set is read and validated with the line of
-- each row, planned against ONE listing of the organization's users, sent through astro.batch
-- at the API's pace, and reported row by row as invited, updated, skipped or failed: as a
-- table, as JSON, or as a CSV report file that can be fed back (then only what still needs
-- doing is sent). `user invite --file` and `user update --file` are people.run; scripts use
-- the same pieces. Two more kinds take the members of a team instead (`team user add|remove
-- --file`): rows name people by `email` and/or `user_id`, planned against the organization's
-- users and the team's members (members already there are skipped on add, non-members on
-- remove):
--
--   local people = require("astro.people")
--   local set = assert(people.read("people.csv", { kind = "invite" }))
--   assert(set:apply({ progress = true }))
--   io.write(set:table())
--
-- Built on the public API (require("astro") and its public modules), and astro.core.sys for the
-- report file (a new file with a random name, never a link someone put there). The CSV reader
-- and the bulk engine are loaded when a file is read or sent, not when this module is.
local astro = require("astro")
local errors = require("astro.errors")
local roles = require("astro.roles")
local sys = require("astro.core.sys")

local M = {}

--- The columns of a report file, in order.
M.REPORT_HEADER = { "email", "role", "line", "result", "message", "request_id" }
--- The columns of a report file of team members (kinds team_add and team_remove), in order.
M.MEMBER_REPORT_HEADER = { "email", "user_id", "line", "result", "message", "request_id" }

--- The flags `user invite` and `user update` take for files (--file, --strict, --json,
-- --report, --rate-limit); a command adds them to its own: `flags = { ..., table.unpack(people.FLAGS) }`.
M.FLAGS = {
  { name = "file", short = "f", type = "string", default = "",
    help = "CSV file of rows to process (header with email and role; - for standard input)" },
  { name = "strict", type = "bool", help = "With --file: send nothing at all if any row is invalid" },
  { name = "json", type = "bool", help = "With --file: print the report as JSON" },
  { name = "report", type = "string", default = "",
    help = "With --file: also write the report as CSV to this file (feed it back to retry the failed rows)" },
  { name = "rate-limit", type = "string", default = "",
    help = "With --file: requests per second per method, e.g. POST=10,GET=25 (the API's limits by default)" },
}

--- The flags `team user add` and `team user remove` take for files: as M.FLAGS, but --file
-- has no short form there (-f is --force).
M.MEMBER_FLAGS = {
  { name = "file", type = "string", default = "",
    help = "CSV file of members (header with email and/or user_id; - for standard input)" },
  table.unpack(M.FLAGS, 2)
}

-- What each kind of set does: the result of a row it did, and the progress bar's label;
-- member kinds work on the members of a team.
local KINDS = {
  invite = { done = "invited", label = "inviting" },
  update = { done = "updated", label = "updating" },
  team_add = { done = "added", label = "adding", member = true },
  team_remove = { done = "removed", label = "removing", member = true },
}

local JSON_ORDER = { "rows", "summary", "line", "email", "userId", "role", "result", "message", "requestId",
                     "invited", "updated", "added", "removed", "skipped", "failed" }

local Set = {}
Set.__index = Set

-- Reading and validating ------------------------------------------------------------------

--- The names a file of people may give its role column: `role`, or `organization_role` as
-- `user list -o csv` writes it (a file naming both is refused).
M.ROLE_COLUMNS = { "role", "organization_role" }

-- The columns read, or written by this tool and known to be left unread (the other columns of
-- `user list -o csv`, `team user list -o csv` and a report), by kind of file; any other column
-- gets a warning.
local KNOWN_COLUMNS = {
  people = { email = true, role = true, organization_role = true, line = true, result = true, message = true,
             request_id = true, full_name = true, id = true, created_at = true, status = true, user_id = true },
  member = { email = true, user_id = true, line = true, result = true, message = true, request_id = true,
             full_name = true, id = true, created_at = true, status = true, role = true, organization_role = true },
}

-- Checks the header of a file of people (header: its lower-cased names, on line `line`): for
-- the kinds with a role, a header naming both role columns, or a column that looks like a
-- role but is not read (its roles would be lost), is an error; any other unknown column is a
-- warning. Returns the list of warnings (text naming the columns) or nil, err.
local function _check_header(header, line, name, member)
  local have, unknown = {}, {}
  for _, c in ipairs(header) do
    have[c] = true
    if not KNOWN_COLUMNS[member and "member" or "people"][c] then
      if not member and c:find("role", 1, true) then
        return nil, errors.new(string.format('%s: line %d: the column "%s" is not read: name the role column ' ..
          '"role" (or "organization_role", as user list -o csv writes it)', name, line, c), { code = "csv" })
      end
      unknown[#unknown + 1] = '"' .. c .. '"'
    end
  end
  if not member and have.role and have.organization_role then
    return nil, errors.new(string.format('%s: line %d: the header names both "role" and "organization_role": ' ..
      "keep one of the two columns", name, line), { code = "csv" })
  end
  if #unknown == 0 then return {} end
  return { string.format("%s: the column%s %s %s not read", name, #unknown > 1 and "s" or "",
    table.concat(unknown, ", "), #unknown > 1 and "are" or "is") }
end

-- Parses the text of a file of people; `name` is what messages call it. Returns the CSV rows
-- and the warnings about its header, or nil, err.
local function _parse_csv(text, name, required, either)
  local shown = {}
  for i, r in ipairs(required) do shown[i] = type(r) == "table" and r[1] or r end
  if not text:find("%S") then
    return nil, errors.new(name .. " is empty (or closed): it needs a header line naming the columns (" ..
      (either and "email and/or user_id" or table.concat(shown, ",")) .. ") and a row per person", { code = "csv" })
  end
  local rows, err, line = require("astro.csv").parse(text, { required = required })
  if rows then
    local have = {}
    for _, c in ipairs(err or {}) do have[c] = true end
    if either and not have.email and not have.user_id then
      return nil, errors.new(name .. ": line 1: the header names neither email nor user_id; the first line must " ..
        "be a header naming the columns, such as email or user_id", { code = "csv" })
    end
    local warnings, herr = _check_header(err or {}, line or 1, name, either)
    if not warnings then return nil, herr end
    return rows, warnings
  end
  local message = tostring(err.message or err)
  local first = text:match("^[^\r\n]*") or ""
  if message:find("missing required column", 1, true) and first:find("@", 1, true) then
    -- The first line holds an address: the file has no header line at all.
    message = message .. "; the first line must be a header naming the columns, such as email,role"
  end
  return nil, errors.new(name .. ": " .. message, { code = "csv" })
end

-- Validates every row (email, role, duplicates, an earlier report's result column): marks rows
-- "failed" or "skipped" with a message and a reason, leaves the others open (result nil).
-- Returns the number of invalid rows. A row that a report of this same kind says was done
-- (invited, updated) is skipped; every other row (failed, skipped, held back, or a report of
-- the other kind) is planned again against the listing, which skips what needs nothing.
local function _validate(rows, kind)
  local first, invalid = {}, 0
  local done_word = KINDS[kind].done
  local email = require("astro.email")
  for _, e in ipairs(rows) do
    local prior = e.columns.result
    local norm, err = email.normalize(e.email)
    if prior == done_word then
      e.result, e.message, e.reason = "skipped", "done in an earlier run (" .. prior .. ")", "done"
    elseif not norm then
      e.result, e.message, e.reason = "failed", err.message, "email"
    elseif e.role == "" then
      e.result, e.reason = "failed", "no_role"
      e.message = "no role given: fill in the role column, or give --role for every row without one"
    elseif not roles.is_valid(e.role) then
      e.result, e.message, e.reason = "failed", roles.INVALID_MESSAGE:gsub("%s+$", ""), "role"
    else
      e.email = norm
      local f = first[norm]
      if f and f.conflict then
        e.result, e.reason, e.other = "failed", "conflict", f
        e.message = string.format("line %d gives %s other roles", f.line, norm)
      elseif f and f.role ~= e.role then
        f.conflict = true
        e.result, e.reason, e.other = "failed", "conflict", f
        e.message = string.format("line %d gives %s the role %s", f.line, norm, f.role)
        if f.result == nil then
          f.result, f.reason, f.other = "failed", "conflict", e
          f.message = string.format("line %d gives %s the role %s", e.line, norm, e.role)
          invalid = invalid + 1
        end
      elseif f then
        e.result, e.message, e.reason, e.other = "skipped", "duplicate of line " .. f.line, "duplicate", f
      else
        first[norm] = e
      end
    end
    if e.result == "failed" then invalid = invalid + 1 end
  end
  for _, e in pairs(first) do e.conflict = nil end
  return invalid
end

-- Validates the rows of a member kind: each names a person by email and/or user_id (a valid
-- address, an id without spaces or control characters); a row a report of this kind says was
-- done is skipped; a second row naming the same email or id is skipped as a duplicate (rows
-- naming one person in two ways are found when planned). Returns the number of invalid rows.
local function _validate_members(rows, kind)
  local invalid, first = 0, {}
  local done_word = KINDS[kind].done
  local email = require("astro.email")
  for _, e in ipairs(rows) do
    local prior = e.columns.result
    if prior == done_word then
      e.result, e.message, e.reason = "skipped", "done in an earlier run (" .. prior .. ")", "done"
    elseif e.email == "" and e.user_id == "" then
      e.result, e.reason = "failed", "no_member"
      e.message = "no email or user_id given: fill in at least one"
    elseif e.user_id ~= "" and e.user_id:find("[%s%c]") then
      e.result, e.message, e.reason = "failed", "the user_id holds spaces or control characters", "user_id"
    else
      local norm, err = true, nil
      if e.email ~= "" then norm, err = email.normalize(e.email) end
      if not norm then
        e.result, e.message, e.reason = "failed", err.message, "email"
      else
        if e.email ~= "" then e.email = norm end
        local key = e.user_id ~= "" and ("id:" .. e.user_id) or ("email:" .. e.email)
        local f = first[key]
        if f then
          e.result, e.message, e.reason, e.other = "skipped", "duplicate of line " .. f.line, "duplicate", f
        else
          first[key] = e
        end
      end
    end
    if e.result == "failed" then invalid = invalid + 1 end
  end
  return invalid
end

-- Checks the options of read/parse. Returns kind, default role or nil, err; raises on misuse.
local function _options(opts, fn)
  if type(opts) ~= "table" or not KINDS[opts.kind] then
    error("people." .. fn .. ' needs opts.kind = "invite" or "update" (or "team_add" / "team_remove" with opts.team)', 3)
  end
  if KINDS[opts.kind].member then
    if type(opts.team) ~= "table" and type(opts.team) ~= "string" then
      error("people." .. fn .. " needs opts.team (a team or a team id) for " .. opts.kind, 3)
    end
    return opts.kind, nil
  end
  -- opts.role is the role of every row without one (invite: ORGANIZATION_MEMBER by default);
  -- a bad one stops before the file is read.
  if opts.role ~= nil and opts.role ~= "" then
    local role, err = roles.validate(opts.role)
    if not role then return nil, err end
    return opts.kind, role
  end
  return opts.kind, opts.kind == "invite" and roles.DEFAULT or nil
end

-- This tool writes CSV cells that would start a formula with a leading "'" (a report, or
-- `user list -o csv`); reading any file takes it off again, so such a file fed back names the
-- same addresses.
local function _new_set(csv_rows, kind, default_role, path, team, warnings)
  local unneutralize = require("astro.csv").unneutralize
  local rows = {}
  for i, r in ipairs(csv_rows) do
    local e = { line = r._line, email = unneutralize(r.email or ""),
                role = unneutralize(r.role or r.organization_role or ""), columns = r }
    if KINDS[kind].member then
      e.role, e.user_id = nil, unneutralize(r.user_id or ""):match("^%s*(.-)%s*$")
    elseif e.role == "" and default_role then
      e.role = default_role
    end
    rows[i] = e
  end
  local set = setmetatable({ kind = kind, path = path, role = default_role, rows = rows, team = team,
                             warnings = warnings or {} }, Set)
  set.invalid = KINDS[kind].member and _validate_members(rows, kind) or _validate(rows, kind)
  return set
end

-- The columns a file of this kind must have (member kinds: checked after parsing).
local function _required(kind, role)
  if KINDS[kind].member then return {} end
  return role and { "email" } or { "email", M.ROLE_COLUMNS }
end

--- Reads a CSV file of people (path, or "-" for standard input) and validates every row.
-- opts.kind: "invite" or "update"; opts.role: the role of rows without one (invite: default
-- ORGANIZATION_MEMBER; without it, update needs a role column); opts.stdin: the file "-" reads
-- (default io.stdin). Or opts.kind "team_add" / "team_remove" with opts.team (a team as listed
-- or fetched, or its id): rows name members by `email` and/or `user_id` (no role).
-- Returns a set, or nil, err (unreadable or malformed file, bad opts.role).
---@param path string
---@param opts {kind: "invite"|"update"|"team_add"|"team_remove", role?: string, team?: table|string, stdin?: file*}
function M.read(path, opts)
  if type(path) ~= "string" then error("people.read needs a path (or \"-\")", 2) end
  local kind, role = _options(opts, "read")
  if not kind then return nil, role end
  local text, name
  if path == "-" then
    text, name = (opts.stdin or io.stdin):read("a") or "", "standard input"
  else
    local f, ferr = io.open(path, "rb")
    if not f then return nil, errors.new("cannot read " .. tostring(ferr), { code = "io" }) end
    text, name = f:read("a"), path
    f:close()
  end
  local rows, err = _parse_csv(text, name, _required(kind, role), KINDS[kind].member)
  if not rows then return nil, err end
  return _new_set(rows, kind, role, path, opts.team, err)
end

--- As people.read, from CSV text already in memory; opts.name is what messages call it
-- (default "the text"). Returns a set or nil, err.
---@param text string
---@param opts {kind: "invite"|"update"|"team_add"|"team_remove", role?: string, team?: table|string, name?: string}
function M.parse(text, opts)
  if type(text) ~= "string" then error("people.parse needs CSV text", 2) end
  local kind, role = _options(opts, "parse")
  if not kind then return nil, role end
  local rows, err = _parse_csv(text, opts.name or "the text", _required(kind, role), KINDS[kind].member)
  if not rows then return nil, err end
  return _new_set(rows, kind, role, nil, opts.team, err)
end

-- Planning and sending --------------------------------------------------------------------

-- Index of users by lower-cased email.
local function _index(users)
  local by = {}
  for _, u in ipairs(users) do
    if type(u.username) == "string" then by[u.username:lower()] = u end
  end
  return by
end

--- Plans every open row against the organization's users (`users`, e.g. from
-- astro.users.list(); listed once when not given): invite skips members and pending invites,
-- update skips rows already of that role and fails unknown users; what is left to send is
-- "planned" (row.user is the user listed for a row). Returns the set or nil, err.
---@param users? table[]
---@param members? table[] member kinds: the team's members (listed once when not given)
function Set:plan(users, members)
  if KINDS[self.kind].member then return self:_plan_members(users, members) end
  if users == nil then
    local err
    users, err = astro.users.list()
    if not users then return nil, err end
  elseif type(users) ~= "table" then
    error("set:plan expects a list of users (or nothing)", 2)
  end
  local by_email = _index(users)
  for _, e in ipairs(self.rows) do
    if e.result == nil or e.result == "planned" then
      local u = by_email[e.email]
      e.user, e.result, e.message, e.reason = u, nil, nil, nil
      if self.kind == "invite" then
        if u and u.status == "PENDING" then
          e.result, e.message, e.reason = "skipped", "already invited", "pending"
        elseif u then
          e.result, e.reason = "skipped", "member"
          e.message = "already a member" ..
            ((u.organizationRole and u.organizationRole ~= e.role) and (" (role " .. u.organizationRole .. ")") or "")
        end
      elseif not u then
        e.result, e.message, e.reason = "failed", "no user was found for the email you provided", "not_found"
      elseif u.organizationRole == e.role then
        e.result, e.message, e.reason = "skipped", "already " .. e.role, "same_role"
      end
      if e.result == nil then e.result = "planned" end
    end
  end
  return self
end

-- The id of the team of a member set.
local function _team_id(set)
  return type(set.team) == "table" and set.team.id or set.team
end

-- Set:plan for the member kinds: each open row's person is found among the organization's
-- users (by user_id, else by email; both given must name the same user), then add skips
-- members already in the team and remove skips people who are not in it; a row naming a
-- person an earlier row named is skipped as a duplicate.
function Set:_plan_members(users, members)
  local err
  if users == nil then
    users, err = astro.users.list()
    if not users then return nil, err end
  end
  if members == nil then
    members, err = require("astro.teams").members.list(_team_id(self))
    if not members then return nil, err end
  end
  local by_email, by_id, member = _index(users), {}, {}
  for _, u in ipairs(users) do
    if type(u.id) == "string" then by_id[u.id] = u end
  end
  for _, m in ipairs(members) do
    if type(m.userId) == "string" then member[m.userId] = true end
  end
  local seen = {}
  for _, e in ipairs(self.rows) do
    if e.result == nil or e.result == "planned" then
      e.user, e.result, e.message, e.reason = nil, nil, nil, nil
      local u = e.user_id ~= "" and by_id[e.user_id] or nil
      local named = e.email ~= "" and by_email[e.email] or nil
      if e.user_id ~= "" and not u and not (self.kind == "team_remove" and member[e.user_id]) then
        e.result, e.message, e.reason = "failed", "no user was found for the ID you provided", "not_found"
      elseif e.user_id == "" and not named then
        e.result, e.message, e.reason = "failed", "no user was found for the email you provided", "not_found"
      elseif u and e.email ~= "" and named ~= u then
        e.result, e.reason = "failed", "conflict"
        e.message = "the user_id and the email name different users"
      else
        u = u or named or { id = e.user_id }
        e.user = u
        if e.user_id == "" then e.user_id = u.id end
        if e.email == "" and type(u.username) == "string" then e.email = u.username end
        if seen[u.id] then
          e.result, e.message, e.reason, e.other = "skipped", "duplicate of line " .. seen[u.id].line, "duplicate",
            seen[u.id]
        elseif self.kind == "team_add" and member[u.id] then
          e.result, e.message, e.reason = "skipped", "already a member of the team", "member"
        elseif self.kind == "team_remove" and not member[u.id] then
          e.result, e.message, e.reason = "skipped", "not a member of the team", "not_member"
        else
          seen[u.id] = e
          e.result = "planned"
        end
      end
    end
  end
  return self
end

--- Marks every row still to plan or send "skipped" with the message (default "not sent: the
-- file has invalid rows"), so that nothing is sent: what --strict does when set.invalid > 0.
---@param message? string
function Set:hold(message)
  for _, e in ipairs(self.rows) do
    if e.result == nil or e.result == "planned" then
      e.result, e.reason = "skipped", "held"
      e.message = message or "not sent: the file has invalid rows"
    end
  end
  return self
end

-- The job of a planned row.
local function _job(set, e)
  local kind = set.kind
  if kind == "team_add" or kind == "team_remove" then
    local path = "/organizations/{org}/teams/" .. astro.escape_path(_team_id(set)) .. "/members"
    if kind == "team_add" then
      return { method = "POST", path = path, body = { memberIds = astro.json.array({ e.user.id }) } }
    end
    return { method = "DELETE", path = path .. "/" .. astro.escape_path(e.user.id) }
  end
  if kind == "invite" then
    return { method = "POST", path = "/organizations/{org}/invites", body = { inviteeEmail = e.email, role = e.role } }
  end
  return { method = "POST", idempotent = true, path = "/organizations/{org}/users/" .. astro.escape_path(e.user.id) .. "/roles",
           body = { organizationRole = e.role } }
end

-- For invites whose answer was lost: did they take effect? One listing tells; nil when it
-- cannot (then nothing is sent again).
local function _confirm_invites(items)
  local now = astro.users.list()
  if not now then return nil end
  local by, confirmed = _index(now), {}
  for _, it in ipairs(items) do
    if by[it.job.body.inviteeEmail] then confirmed[it.index] = true end
  end
  return confirmed
end

-- For member changes whose answer was lost: did they take effect? One listing of the team's
-- members tells (the user is there after an add, gone after a remove); nil when it cannot.
local function _confirm_members(set)
  return function(items)
    local now = require("astro.teams").members.list(_team_id(set))
    if not now then return nil end
    local member, confirmed = {}, {}
    for _, m in ipairs(now) do member[m.userId] = true end
    for _, it in ipairs(items) do
      local id = it.job.body and it.job.body.memberIds[1] or it.job.path:match("/members/([^/]+)$")
      if (set.kind == "team_add") == (member[id] == true) then confirmed[it.index] = true end
    end
    return confirmed
  end
end

--- Sends the planned rows through astro.batch (planning first, with one listing, when rows
-- are still open) and sets each row's result: invited / updated (message "dry run: not
-- sent" under --dry-run), or failed with the API's message and row.requestId. An invite whose
-- answer was lost is checked against a fresh listing before it is sent again. opts: rates
-- (default astro.bulk.rates), concurrency, progress (true: a progress bar on a terminal),
-- quiet_plan (true: under --dry-run, do not print each held-back request), on_row(row) (called
-- as each row ends). Returns the set or nil, err.
---@param opts? {rates?: table, concurrency?: integer, progress?: boolean, quiet_plan?: boolean, on_row?: fun(row: table)}
function Set:apply(opts)
  opts = opts or {}
  for _, e in ipairs(self.rows) do
    if e.result == nil then
      local ok, err = self:plan()
      if not ok then return nil, err end
      break
    end
  end
  local jobs, owners = {}, {}
  for _, e in ipairs(self.rows) do
    if e.result == "planned" then
      jobs[#jobs + 1] = _job(self, e)
      owners[#jobs] = e
    end
  end
  if #jobs == 0 then return self end
  local kind = KINDS[self.kind]
  local progress = opts.progress and astro.output.progress(#jobs, kind.label)
  local results, err = astro.batch(jobs, {
    rates = opts.rates,
    concurrency = opts.concurrency,
    quiet_plan = opts.quiet_plan,
    on_result = function(i, result)
      local e = owners[i]
      if result.ok then
        e.result, e.requestId = kind.done, result.requestId
        if result.dry_run then e.message, e.reason = "dry run: not sent", "dry_run" end
        if result.confirmed then
          e.message, e.reason = "confirmed by listing the " .. (kind.member and "team's members" or "users") ..
            " after an unknown outcome", "confirmed"
        end
      else
        e.result, e.message, e.reason, e.err = "failed", result.err.message, "request", result.err
        e.requestId = result.err.requestId
      end
      if progress then progress.step() end
      if opts.on_row then opts.on_row(e) end
    end,
    on_unknown = self.kind == "invite" and _confirm_invites or (kind.member and _confirm_members(self)) or nil,
  })
  if progress then progress.finish() end
  if not results then return nil, err end
  return self
end

-- Reporting -------------------------------------------------------------------------------

--- Counts the rows by result: { invited, updated, skipped, failed } (always there; for the
-- member kinds { added or removed, skipped, failed }), plus
-- planned (rows left to send) and open (rows not planned yet) when there are any.
function Set:summary()
  local s = KINDS[self.kind].member and { [KINDS[self.kind].done] = 0, skipped = 0, failed = 0 }
    or { invited = 0, updated = 0, skipped = 0, failed = 0 }
  for _, e in ipairs(self.rows) do
    local r = e.result or "open"
    s[r] = (s[r] or 0) + 1
  end
  return s
end

--- The rows as a table in the astro CLI's layout: LINE, EMAIL, ROLE, RESULT, MESSAGE (a
-- failed row's message ends with its request id); member kinds: USER ID instead of ROLE.
-- width (e.g. astro.output.width("stdout") when stdout is a terminal): a table wider than
-- that is fitted to it, EMAIL, MESSAGE (and USER ID) cut with an ellipsis (astro.output.table);
-- without it, every cell is whole.
---@param width? integer
function Set:table(width)
  local t = {}
  if KINDS[self.kind].member then
    for i, e in ipairs(self.rows) do
      t[i] = { tostring(e.line), e.email, e.user_id, e.result or "", (e.message or "") ..
        (e.requestId and e.result == "failed" and (" (request " .. e.requestId .. ")") or "") }
    end
    return astro.output.table({ "LINE", "EMAIL", "USER ID", "RESULT", "MESSAGE" }, t,
      { width = width, shrink = { 2, 3, 5 } })
  end
  for i, e in ipairs(self.rows) do
    t[i] = { tostring(e.line), e.email, e.role, e.result or "", (e.message or "") ..
      (e.requestId and e.result == "failed" and (" (request " .. e.requestId .. ")") or "") }
  end
  return astro.output.table({ "LINE", "EMAIL", "ROLE", "RESULT", "MESSAGE" }, t, { width = width, shrink = { 2, 5 } })
end

--- The rows as JSON text: { rows = [{ line, email, role (userId for member kinds), result, message, requestId }],
-- summary = set:summary() }; terminal = true leaves out terminal controls (the same data).
---@param terminal? boolean
function Set:json(terminal)
  local list = astro.json.array({})
  for i, e in ipairs(self.rows) do
    list[i] = { line = e.line, email = e.email, userId = e.user_id, role = e.role, result = e.result,
                message = e.message, requestId = e.requestId }
  end
  return astro.output.json({ rows = list, summary = self:summary() }, JSON_ORDER, terminal)
end

--- The summary as one line of text, e.g. "3 rows: 2 invited, 1 skipped, 0 failed\n" (with
-- " (dry run: nothing was sent)" under --dry-run).
function Set:summary_line()
  local s, word = self:summary(), KINDS[self.kind].done
  return string.format("%d rows: %d %s, %d skipped, %d failed%s\n", #self.rows, s[word], word, s.skipped, s.failed,
    astro.dry_run() and " (dry run: nothing was sent)" or "")
end

--- Checks, before anything is sent, that a report can be written to path, without changing
-- the file there (it may be the very file being read): a new temporary file can be made beside
-- it, or else the file itself can be written in place (no symbolic link followed). Returns
-- true or nil, err.
---@param path string
function M.check_report(path)
  local tmp_file, tmp = sys.create_temp(path)
  if tmp_file then
    tmp_file:close()
    os.remove(tmp)
    return true
  end
  local existed = sys.stat(path, false) ~= nil
  local f, err = sys.open_write(path, "a")
  if not f then
    return nil, errors.new("cannot write the report: " .. tostring(err) .. "; nothing was sent", { code = "io" })
  end
  f:close()
  if not existed then os.remove(path) end
  return true
end

--- Writes the report as CSV (people.REPORT_HEADER, member kinds people.MEMBER_REPORT_HEADER; cells that would start a formula
-- neutralised), whole or not at all: into a new temporary file beside path (mode 0600, a
-- random name, created exclusively: never a file or link that was there), then renamed over
-- it. When the folder refuses a new file it is written in place, never through a symbolic
-- link and never into another user's file. Fed back to people.read, rows done are skipped and
-- the others planned again. Returns true or nil, err.
---@param path string
function Set:write_report(path)
  if type(path) ~= "string" then error("set:write_report needs a path", 2) end
  local f, tmp = sys.create_temp(path)
  if not f then
    local err
    f, err = sys.open_write(path, "w")
    if not f then return nil, errors.new("cannot write the report: " .. tostring(err), { code = "io" }) end
    tmp = nil
  end
  local member = KINDS[self.kind].member
  local w = require("astro.csv").writer(f, member and M.MEMBER_REPORT_HEADER or M.REPORT_HEADER)
  for _, e in ipairs(self.rows) do
    w:write({ e.email, member and e.user_id or e.role, tostring(e.line), e.result or "", e.message or "",
              e.requestId or "" })
  end
  local ok, err = f:close()
  if ok and tmp then ok, err = os.rename(tmp, path) end
  if not ok then
    if tmp then os.remove(tmp) end
    return nil, errors.new("cannot write the report " .. path .. ": " .. tostring(err), { code = "io" })
  end
  return true
end

-- The command ------------------------------------------------------------------------------

--- The --file form of `user invite` / `user update` (and of `team user add` / `team user
-- remove`: kinds "team_add" / "team_remove", with opts.team_id and opts.force): reads opts.file,
-- validates it, checks the --report path (member kinds: then fetches the team and asks before
-- changing an IDP-managed one unless --force), then sends nothing (--strict with invalid rows)
-- or plans and applies it, prints the table (or --json) and the summary, and writes the
-- --report file. opts: the command's options (file, role, strict, json, report, rate_limit);
-- ctx: stdin, stdout, stderr. Returns the exit status (0 when no row failed, else 1) or nil, err.
---@param kind "invite"|"update"|"team_add"|"team_remove"
---@param opts table
---@param ctx table
function M.run(kind, opts, ctx)
  local rates, err
  if opts.rate_limit and opts.rate_limit ~= "" then
    rates, err = astro.bulk.parse_rates(opts.rate_limit)
    if not rates then return nil, err end
  end
  local member = KINDS[kind] and KINDS[kind].member
  local set
  set, err = M.read(opts.file, { kind = kind, role = opts.role, stdin = ctx.stdin, team = member and opts.team_id })
  if not set then return nil, err end
  for _, w in ipairs(set.warnings) do ctx.stderr:write("Warning: ", w, "\n") end
  local report = opts.report ~= nil and opts.report ~= "" and opts.report or nil
  if report then
    local ok
    ok, err = M.check_report(report)
    if not ok then return nil, err end
  end
  if member then
    -- The team is fetched once the file is read; an IDP-managed one is asked about unless
    -- --force (with the file on standard input there is nobody left to answer: an error).
    local teams = require("astro.teams")
    local team
    team, err = teams.to_change(ctx, opts.team_id, nil, opts.force)
    if team == false then return 0 end -- the IDP question was answered "no"
    if not team then return nil, err end
    set.team = team
  end
  if set.invalid > 0 and opts.strict then
    set:hold("not sent: the file has invalid rows (--strict)")
  else
    -- Listed even when no row is left to plan, as a check of the credential and organization.
    local ok
    ok, err = set:plan()
    if ok then ok, err = set:apply({ rates = rates, progress = true, quiet_plan = true }) end
    if not ok then return nil, err end
  end
  -- On a terminal the table fits its width (cells cut); in a pipe or a file, cells are whole.
  local terminal = astro.output.is_terminal(ctx.stdout)
  ctx.stdout:write(opts.json and set:json(terminal) or set:table(terminal and astro.output.width("stdout") or nil))
  if ctx.stdout.flush then ctx.stdout:flush() end      -- the table before the summary, in a shared log
  ctx.stderr:write(set:summary_line())
  if report then
    local ok
    ok, err = set:write_report(report)
    if not ok then return nil, err end
  end
  return set:summary().failed == 0 and 0 or 1
end

--- For a command with people.FLAGS: runs the --file form when --file is given and returns
-- true plus its results; returns false when the single form should run; or true, nil, err
-- when the flags are misused (file flags without --file, an email with --file, a bad --role
-- with --file: usage errors):
-- `local handled, status, err = people.dispatch("invite", opts, ctx) if handled then return status, err end`.
---@param kind "invite"|"update"|"team_add"|"team_remove"
---@param opts table
---@param ctx table
function M.dispatch(kind, opts, ctx)
  if opts.file ~= "" then
    if KINDS[kind] and KINDS[kind].member then
      if opts.user_id ~= nil and opts.user_id ~= "" then
        return true, nil, errors.usage("give either --user-id or --file, not both")
      end
      if opts.team_id == nil or opts.team_id == "" then
        return true, nil, errors.usage("--file needs --team-id: the team whose members the file names")
      end
    elseif #opts.args > 0 then
      return true, nil, errors.usage("give either an email or --file, not both")
    elseif opts.role ~= nil and (opts.role ~= "" or kind == "invite") then
      -- --role (the role of the rows without one) is checked as the flag it is; a row's role
      -- that is not valid fails that row only. invite's --role has a default, so an empty one
      -- was typed, and is refused as the single invite refuses it (update's default is empty).
      local ok, err = roles.validate(opts.role, true)
      if not ok then return true, nil, err end
    end
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

return M
