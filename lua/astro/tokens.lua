--- astro.tokens: the Organization API tokens of an organization (the machine users CI runs
-- as): list, look up by id or name, create, rename, set the organization role, rotate,
-- delete. The stock `astro organization token` commands are built on it alone.
--
--   local tokens = require("astro.tokens")
--   local tok = assert(tokens.find({ name = "CI/CD Token" }))
--   local rotated = assert(tokens.rotate(tok))   -- rotated.token: the new value, shown once
--
-- Every function works on the current organization, or on opts.organization (an id) where it
-- takes opts. Expected failures come back as nil, err (astro.errors) with the astro CLI's
-- messages; every argument is checked before anything is sent. A token value that create or
-- rotate receives is registered as a secret at once: traces, errors, plan lines and reports
-- show <redacted> in its place, so the one place it appears is where the caller prints it.
local astro = require("astro")
local errors = require("astro.errors")
local json = require("astro.json")
local output = require("astro.output")
local roles_mod = require("astro.roles")
local secrets = require("astro._core.secrets")

local M = {}

--- The astro CLI's messages.
M.NOT_FOUND = "organization token specified was not found"
M.WRONG_SCOPE = "the token selected is not of the type you are trying to modify"
M.NO_NAME = "no name provided for the organization token. Retry with a valid name"
M.INVALID_SELECTION = "invalid Organization API token selection"

--- The longest expiration a token may have, in days (the API's range is 1 to this).
M.MAX_EXPIRATION = 3650

--- The columns of the token menu (update, rotate, delete, roles without an id).
M.MENU_COLUMNS = { "NAME", "DESCRIPTION", "ROLE", "EXPIRES" }

-- The path of the organization's tokens (opts.organization or the current one) plus suffix.
local function _path(opts, suffix)
  local org = opts and opts.organization
  if org ~= nil and (type(org) ~= "string" or org == "") then
    error("astro.tokens: opts.organization must be a non-empty string (an organization id)", 3)
  end
  local base = org and ("/organizations/" .. astro.escape_path(org)) or "/organizations/{org}"
  return base .. "/tokens" .. (suffix or "")
end

-- The id of the organization the tokens belong to (for the roles list), or nil, err.
local function _org_id(opts)
  if opts and opts.organization then return opts.organization end
  return astro.organizations.current_id()
end

-- The id of a token table or an id string; raises for anything else (a programming mistake).
local function _id(token, fn)
  local id = type(token) == "table" and token.id or token
  if type(id) ~= "string" or id == "" then
    error("astro.tokens." .. fn .. " needs a token (a table with an id) or a token id", 3)
  end
  return id
end

-- Registers the value a token answer carries as a secret (create, rotate).
local function _keep_secret(answer)
  if type(answer) == "table" and type(answer.token) == "string" and answer.token ~= "" then
    secrets.add(answer.token)
  end
  return answer
end

--- Every organization-scoped token (all pages). Returns a list or nil, err.
---@param opts? {organization?: string}
function M.list(opts)
  return astro.list(_path(opts), "tokens", { query = { includeOnlyOrganizationTokens = true } })
end

--- Streams the organization-scoped tokens page by page to on_page(items) (see
-- astro.stream_list). Returns the count or nil, err.
function M.stream(on_page, opts)
  return astro.stream_list(_path(opts), "tokens", on_page, { query = { includeOnlyOrganizationTokens = true } })
end

--- One token by id (any scope). Returns it or nil, err (the API's message for an unknown id).
---@param id string
---@param opts? {organization?: string}
function M.get(id, opts)
  if type(id) ~= "string" or id == "" then return nil, errors.new(M.NOT_FOUND, { code = "not_found" }) end
  local tok, err = astro.request("GET", _path(opts, "/" .. astro.escape_path(id)))
  if not tok then return nil, err end
  if type(tok) ~= "table" or type(tok.id) ~= "string" or tok.id == "" then
    return nil, errors.new(M.NOT_FOUND, { code = "not_found" })
  end
  return tok
end

--- The role a token holds on the organization (its ORGANIZATION entry), or "".
---@param token table
---@param org? string organization id (default: any ORGANIZATION entry)
function M.org_role(token, org)
  for _, r in ipairs(type(token.roles) == "table" and token.roles or {}) do
    if type(r) == "table" and r.entityType == "ORGANIZATION" and (org == nil or r.entityId == org) then
      return output.text(r.role)
    end
  end
  return ""
end

--- The row of a token in the menu (M.MENU_COLUMNS).
function M.menu_row(token)
  local days = token.expiryPeriodInDays
  return { output.text(token.name), output.text(token.description), M.org_role(token),
           days == nil and "" or output.text(math.tointeger(days) or days) }
end

--- Checks that a token is organization-scoped. Returns it, or nil and the astro CLI's error.
function M.check_scope(token)
  if type(token) ~= "table" or token.scope ~= "ORGANIZATION" then
    return nil, errors.new(M.WRONG_SCOPE, { code = "scope" })
  end
  return token
end

--- Finds one organization token: by id (`id`, wins over name) or by exact name. Returns the
-- token, fetched by id and checked to be organization-scoped, or nil, err: err.code
-- "not_found" (M.NOT_FOUND), "scope" (M.WRONG_SCOPE), or "ambiguous" when several tokens have
-- that name, with err.candidates the list of them (pick one, then call find{ id = it.id }).
---@param q {id?: string, name?: string, organization?: string}
function M.find(q)
  q = q or {}
  local opts = { organization = q.organization }
  local id = q.id
  if id == nil or id == "" then
    if type(q.name) ~= "string" or q.name == "" then
      error("astro.tokens.find needs an id or a name", 2)
    end
    local all, err = M.list(opts)
    if not all then return nil, err end
    local matches = {}
    for _, t in ipairs(all) do
      if t.name == q.name then matches[#matches + 1] = t end
    end
    if #matches == 0 then return nil, errors.new(M.NOT_FOUND, { code = "not_found" }) end
    if #matches > 1 then
      return nil, errors.new("there are more than one API tokens with name " .. q.name,
        { code = "ambiguous", candidates = matches })
    end
    id = matches[1].id
    if type(id) ~= "string" or id == "" then return nil, errors.new(M.NOT_FOUND, { code = "not_found" }) end
  end
  local tok, err = M.get(id, opts)
  if not tok then return nil, err end
  return M.check_scope(tok)
end

--- Asks before a token is changed for good, as the astro CLI does: the warning line, then
-- "Are you sure you want to <verb> the <name> API token? (y/n) ", both on ctx.stderr. Returns
-- true to go on (at once with force), false for any answer but "y", or nil, err at end of input
-- (the error names --force).
---@param ctx table {stdin, stderr}
---@param warning string
---@param verb string "delete", "rotate"
---@param name string the token's name, as shown
---@param force? boolean
function M.confirm(ctx, warning, verb, name, force)
  if force then return true end
  ctx.stderr:write(warning, "\n")
  local answer, err = require("astro.prompt").ask(ctx,
    string.format("\nAre you sure you want to %s the %s API token? (y/n) ", verb, name), "confirmation",
    string.format("pass --force to %s without asking", verb))
  if not answer then return nil, err end
  return answer == "y"
end

--- The token a command works on, after connecting: from its TOKEN_ID argument (lower-cased,
-- as the astro CLI does), --name and --organization-id, through M.choose (a menu when neither
-- names one). Returns the token and the scope of the calls that follow ({ organization = id
-- or nil }), or nil, err.
---@param ctx table the command's context
---@param opts table the command's options (args, name, organization_id)
---@param hint? string how to name the token without a menu
function M.for_command(ctx, opts, hint)
  local connected, err = ctx.api()
  if not connected then return nil, err end
  local org = opts.organization_id
  local scope = { organization = (type(org) == "string" and org ~= "") and org or nil }
  local token
  token, err = M.choose(ctx, {
    id = opts.args[1] and opts.args[1]:lower(), name = opts.name, organization = scope.organization,
    hint = hint or "pass the token's id as an argument or its name with --name",
  })
  if not token then return nil, err end
  return token, scope
end

--- Finds the token a command names (q.id, q.name), asking on ctx (stdin/stderr) when it must:
-- the duplicates menu when several tokens have the name, the menu of every token when
-- neither is given. A menu that cannot be answered (standard input ended) is an error naming
-- q.hint. Returns the token (re-fetched by id, organization-scoped) or nil, err.
---@param ctx table {stdin, stderr}
---@param q {id?: string, name?: string, organization?: string, hint?: string}
function M.choose(ctx, q)
  local prompt = require("astro.prompt")
  local opts = { organization = q.organization }
  local list, header, hint
  if (q.id == nil or q.id == "") and (q.name == nil or q.name == "") then
    local err
    list, err = M.list(opts)
    if not list then return nil, err end
    if #list == 0 then return nil, errors.new(M.NOT_FOUND, { code = "not_found" }) end
    header = "\nPlease select the Organization API token you would like to update:\n"
  else
    local tok, err = M.find(q)
    if tok then return tok end
    if err.code ~= "ambiguous" then return nil, err end
    list = err.candidates
    header = "\nThere are more than one API tokens with name " .. output.printable(q.name) ..
      ". Please select an API token:\n"
    hint = "pass the id of the token you mean as an argument (astro organization token list shows the ids)"
  end
  ctx.stderr:write(header)
  local rows = {}
  for i, t in ipairs(list) do rows[i] = M.menu_row(t) end
  local n, err = prompt.menu(ctx, M.MENU_COLUMNS, rows, {
    invalid = M.INVALID_SELECTION, missing = "token choice",
    hint = hint or q.hint or "pass the token's id as an argument",
  })
  if not n then return nil, err end
  local id = list[n].id
  if type(id) ~= "string" or id == "" then return nil, errors.new(M.NOT_FOUND, { code = "not_found" }) end
  return M.find({ id = id, organization = q.organization })
end

--- Checks an expiration in days: 0 or nil (no expiration) or a whole number from 1 to
-- M.MAX_EXPIRATION. Returns the number (0 for none) or nil, err.
function M.check_expiration(days)
  if days == nil then return 0 end
  local n = math.tointeger(days)
  if n == nil or n < 0 or n > M.MAX_EXPIRATION then
    return nil, errors.new(string.format("the expiration must be a whole number of days from 1 to %d " ..
      "(0, or no --expiration, for a token that does not expire)", M.MAX_EXPIRATION), { code = "expiration" })
  end
  return n
end

--- Creates an organization token: spec.name (required), spec.description, spec.role (one of
-- astro.roles.VALID), spec.expiration (days; 0 or nil: none). Everything is checked before
-- anything is sent. Returns the ApiToken, whose `token` is the value (shown only this once,
-- and registered as a secret), or nil, err. Under --dry-run nothing is made and the answer
-- is { dry_run = true } without a token.
---@param spec {name: string, description?: string, role: string, expiration?: integer}
---@param opts? {organization?: string}
function M.create(spec, opts)
  spec = spec or {}
  local role, err = roles_mod.validate(spec.role)
  if not role then return nil, err end
  if type(spec.name) ~= "string" or spec.name:match("^%s*$") then
    return nil, errors.new(M.NO_NAME, { code = "name" })
  end
  if spec.description ~= nil and type(spec.description) ~= "string" then
    error("astro.tokens.create: description must be a string", 2)
  end
  local days
  days, err = M.check_expiration(spec.expiration)
  if not days then return nil, err end
  local body = { description = spec.description or "", name = spec.name, role = role, scope = "ORGANIZATION" }
  if days ~= 0 then body.tokenExpiryPeriodInDays = days end
  local answer
  answer, err = astro.request("POST", _path(opts), { body = body })
  if not answer then return nil, err end
  return _keep_secret(answer)
end

--- Changes a token's name and description: fields.name / fields.description, an absent or
-- empty one keeping the token's current value. Returns the ApiToken or nil, err.
---@param token table a token (from get/find)
---@param fields {name?: string, description?: string}
---@param opts? {organization?: string}
function M.update(token, fields, opts)
  local id = _id(token, "update")
  if type(token) ~= "table" then error("astro.tokens.update needs a token table (from get or find)", 2) end
  fields = fields or {}
  local name = (type(fields.name) == "string" and fields.name ~= "") and fields.name or token.name
  local description = (type(fields.description) == "string" and fields.description ~= "") and fields.description
    or token.description
  if type(name) ~= "string" or name == "" then return nil, errors.new(M.NO_NAME, { code = "name" }) end
  local body = { name = name }
  if type(description) == "string" then body.description = description end
  return astro.request("POST", _path(opts, "/" .. astro.escape_path(id)), { body = body, idempotent = true })
end

--- Sets a token's organization role: its roles with the ORGANIZATION entry of the
-- organization replaced by { entityId = org, entityType = "ORGANIZATION", role = role }
-- (appended at the end; its Workspace and Deployment roles kept). An invalid role sends
-- nothing. Returns the SubjectRoles or nil, err.
---@param token table a token (from get/find: its roles are kept)
---@param role string
---@param opts? {organization?: string}
function M.set_role(token, role, opts)
  local id = _id(token, "set_role")
  if type(token) ~= "table" then error("astro.tokens.set_role needs a token table (from get or find)", 2) end
  local r, err = roles_mod.validate(role)
  if not r then return nil, err end
  local org
  org, err = _org_id(opts)
  if not org then return nil, err end
  local list = {}
  for _, entry in ipairs(type(token.roles) == "table" and token.roles or {}) do
    if not (type(entry) == "table" and entry.entityType == "ORGANIZATION" and entry.entityId == org) then
      list[#list + 1] = entry
    end
  end
  list[#list + 1] = { entityId = org, entityType = "ORGANIZATION", role = r }
  return astro.request("POST", _path(opts, "/" .. astro.escape_path(id) .. "/roles"),
    { body = { roles = json.array(list) }, idempotent = true })
end

--- Rotates a token: the old value stops working. Returns the ApiToken with the new value in
-- `token` (shown only this once, registered as a secret), or nil, err.
function M.rotate(token, opts)
  local id = _id(token, "rotate")
  local answer, err = astro.request("POST", _path(opts, "/" .. astro.escape_path(id) .. "/rotate"))
  if not answer then return nil, err end
  return _keep_secret(answer)
end

--- Deletes a token (its access ends at once). Returns true or nil, err.
function M.delete(token, opts)
  local id = _id(token, "delete")
  local ok, err = astro.request("DELETE", _path(opts, "/" .. astro.escape_path(id)))
  if not ok then return nil, err end
  return true
end

--- A token's roles: a list of { entityType, entityId, role, deploymentId? }. `token` is a
-- token table (its roles as fetched) or an id (fetched first). Returns the list or nil, err.
function M.roles(token, opts)
  if type(token) == "string" then
    local err
    token, err = M.get(token, opts)
    if not token then return nil, err end
  end
  if type(token) ~= "table" then error("astro.tokens.roles needs a token or a token id", 2) end
  local out = {}
  for _, r in ipairs(type(token.roles) == "table" and token.roles or {}) do
    if type(r) == "table" then out[#out + 1] = r end
  end
  return out
end

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function _days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch of an RFC 3339 timestamp, or nil when it is not one.
function M.epoch(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d)%.?%d*(.*)$")
  if not y then return nil end
  local t = _days(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 +
    tonumber(sec)
  if rest == "Z" or rest == "z" then return t end
  local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - off or t + off
end

--- How long ago a timestamp was, as the astro CLI's token list says it: "N days ago",
-- "N hours ago", "N minutes ago" or "Just now" (whole units, truncated). `now` defaults to
-- os.time(). Text that is not a timestamp is returned as it is.
function M.age(created, now)
  local t = M.epoch(created)
  if not t then return output.text(created) end
  local secs = (now or os.time()) - t
  local days, hours, minutes = secs // 86400, secs // 3600, secs // 60
  if days > 0 then return string.format("%d days ago", days) end
  if hours > 0 then return string.format("%d hours ago", hours) end
  if minutes > 0 then return string.format("%d minutes ago", minutes) end
  return "Just now"
end

--- Who made a token, as the token list shows it: createdBy.fullName, else its apiTokenName.
function M.created_by(token)
  local by = token.createdBy
  if type(by) ~= "table" then return "" end
  if type(by.fullName) == "string" and by.fullName ~= "" then return by.fullName end
  return output.text(by.apiTokenName)
end

return M
