--- astro.teams: the teams of the current organization and their members (API v1
-- /organizations/{org}/teams). Every function checks its arguments before anything is sent
-- (a team name, an organization role, ids) and returns `nil, err` (an astro error) for an
-- expected failure; a wrong argument type raises.
--
--   local teams = require("astro.teams")     -- or astro.teams
--   local team = assert(teams.create({ name = "Data Engineering", role = "ORGANIZATION_MEMBER" }))
--   assert(teams.members.add(team, { user_id }))
--   for _, m in ipairs(assert(teams.members.list(team))) do print(m.username) end
--
-- Built on the public facade (astro.request, astro.list), so --dry-run holds back every change
-- (and the change functions then answer `{ dry_run = true }`).
local astro = require("astro")
local errors = require("astro.errors")
local json = require("astro.json")
local output = require("astro.output")
local roles = require("astro.roles")

local M = {}

--- The columns of the team table (`organization team list`).
M.COLUMNS = { "ID", "NAME", "DESCRIPTION", "ORG ROLE", "IDP MANAGED", "CREATE DATE" }
--- The columns of the team menu.
M.MENU_COLUMNS = { "TEAMNAME", "ID" }
--- The columns of the member table (`organization team user list`), as the astro CLI spells them.
M.MEMBER_COLUMNS = { "ID", "FullName", "Email" }
--- The columns of the member menu (`organization team user remove`).
M.MEMBER_MENU_COLUMNS = { "FULLNAME", "EMAIL", "ID" }

--- The message of a team id that names no team (the astro CLI's).
M.NOT_FOUND = "no team was found for the ID you provided"

-- Checks an id argument: a non-empty string without control characters. Returns it or nil, err.
local function _check_id(id, what)
  if type(id) ~= "string" then error(what .. " must be a string", 3) end
  if id:match("^%s*$") then
    return nil, errors.new(what .. " is empty: give the " .. what, { code = "input" })
  end
  if id:find("[%c]") then
    return nil, errors.new(what .. " " .. output.printable(id) .. " holds control characters", { code = "input" })
  end
  return id
end

-- The id of a team given as a team table or an id. Returns it or nil, err.
local function _team_id(team)
  if type(team) == "table" then
    if type(team.id) ~= "string" or team.id == "" then
      return nil, errors.new("the team has no id (id: " .. output.text(team.id) .. ")", { code = "input" })
    end
    return team.id
  end
  if type(team) ~= "string" then error("a team (table) or a team id (string) is needed", 3) end
  return _check_id(team, "team id")
end

local function _path(id, rest)
  return "/organizations/{org}/teams/" .. astro.escape_path(id) .. (rest or "")
end

--- Tells whether a team is managed by the organization's identity provider (SCIM): such a
-- team is asked about before it is changed.
---@param team table
function M.is_idp_managed(team)
  return type(team) == "table" and team.isIdpManaged == true
end

--- Every team of the current organization, in API order (all pages). Returns a list or nil, err.
function M.list()
  return astro.list("/organizations/{org}/teams", "teams")
end

--- One team by id. Returns the Team or nil, err (err.code "not_found" when the API answers
-- 404 or a team without an id).
---@param id string
function M.get(id)
  local ok, err = _check_id(id, "team id")
  if not ok then return nil, err end
  local team
  team, err = astro.request("GET", _path(id))
  if not team then
    if err.status == 404 then err.code = "not_found" end
    return nil, err
  end
  if type(team) ~= "table" or type(team.id) ~= "string" or team.id == "" then
    return nil, errors.new(M.NOT_FOUND, { code = "not_found" })
  end
  return team
end

-- A team table from a team or an id (fetched). Returns it or nil, err.
local function _team(team)
  if type(team) == "table" then return team end
  return M.get(team)
end

-- Checks a name. Returns it or nil, err.
local function _check_name(name, message)
  if name == nil or (type(name) == "string" and name:match("^%s*$")) then
    return nil, errors.new(message, { code = "input" })
  end
  if type(name) ~= "string" then error("a team name must be a string", 3) end
  return name
end

--- Creates a team: t.name (required), t.description (default ""), t.role (organization role,
-- default ORGANIZATION_MEMBER). Returns the Team or nil, err; a bad role or an empty name
-- sends nothing.
---@param t {name: string, description?: string, role?: string}
function M.create(t)
  if type(t) ~= "table" then error("teams.create needs a table { name, description, role }", 2) end
  local name, err = _check_name(t.name, "you must give your Team a name")
  if not name then return nil, err end
  local role
  role, err = roles.validate(t.role or roles.DEFAULT)
  if not role then return nil, err end
  if t.description ~= nil and type(t.description) ~= "string" then error("a description must be a string", 2) end
  return astro.request("POST", "/organizations/{org}/teams",
    { body = { description = t.description or "", name = name, organizationRole = role } })
end

--- Changes a team's name and description: fields left out (or empty) keep the team's current
-- values (team is the Team as listed or fetched; an id is fetched first). Returns the Team or
-- nil, err.
---@param team table|string
---@param changes {name?: string, description?: string}
function M.update(team, changes)
  changes = changes or {}
  if type(changes) ~= "table" then error("teams.update needs a table { name, description }", 2) end
  local err
  team, err = _team(team)
  if not team then return nil, err end
  local id
  id, err = _team_id(team)
  if not id then return nil, err end
  local name = changes.name
  if name == nil or name == "" then name = team.name end
  local ok
  ok, err = _check_name(name, "you must give your Team a name")
  if not ok then return nil, err end
  local description = changes.description
  if description == nil or description == "" then
    description = type(team.description) == "string" and team.description or nil
  end
  if description == "" then description = nil end
  -- Setting a name and description is idempotent: a lost answer may be followed by the same request.
  return astro.request("POST", _path(id), { body = { description = description, name = name }, idempotent = true })
end

-- A role list of a team to send back as it is, or nil when it has none.
local function _kept(list)
  if type(list) == "table" and #list > 0 then return json.array(list) end
  return nil
end

--- Sets a team's organization role, keeping its current workspace and deployment roles (the
-- team as listed or fetched; an id is fetched first). Returns the SubjectRoles or nil, err; a
-- bad role sends nothing.
---@param team table|string
---@param role string
function M.set_role(team, role)
  local r, err = roles.validate(role)
  if not r then return nil, err end
  team, err = _team(team)
  if not team then return nil, err end
  local id
  id, err = _team_id(team)
  if not id then return nil, err end
  if type(team.workspaceRoles) ~= "table" and type(team.deploymentRoles) ~= "table" and team.rolesCount ~= nil
      and team.rolesCount ~= 0 then
    -- A listed team may come without its role lists: fetch it, so none is lost.
    team, err = M.get(id)
    if not team then return nil, err end
  end
  return astro.request("POST", _path(id, "/roles"), {
    body = { organizationRole = r, workspaceRoles = _kept(team.workspaceRoles),
             deploymentRoles = _kept(team.deploymentRoles) },
    idempotent = true })
end

--- Deletes a team (a team or its id). Returns true or nil, err.
---@param team table|string
function M.delete(team)
  local id, err = _team_id(team)
  if not id then return nil, err end
  local ok
  ok, err = astro.request("DELETE", _path(id))
  if ok == nil then return nil, err end
  return true
end

-- Members --------------------------------------------------------------------------------

M.members = {}

--- Every member of a team (a team or its id), in API order (all pages): TeamMember tables
-- { userId, username, fullName?, createdAt?, avatarUrl? }. Returns a list or nil, err.
---@param team table|string
function M.members.list(team)
  local id, err = _team_id(team)
  if not id then return nil, err end
  return astro.list(_path(id, "/members"), "teamMembers")
end

-- Checks a list of user ids. Returns it as a JSON array or nil, err.
local function _check_ids(ids)
  if type(ids) == "string" then ids = { ids } end
  if type(ids) ~= "table" then error("user ids must be a list of strings", 3) end
  if #ids == 0 then return nil, errors.new("no user id given: give at least one", { code = "input" }) end
  local out = {}
  for i, v in ipairs(ids) do
    local id, err = _check_id(v, "user id")
    if not id then return nil, err end
    out[i] = id
  end
  return json.array(out)
end

--- Adds users (a list of user ids, or one id) to a team (a team or its id). Returns true or nil, err.
---@param team table|string
---@param user_ids string[]|string
function M.members.add(team, user_ids)
  local id, err = _team_id(team)
  if not id then return nil, err end
  local ids
  ids, err = _check_ids(user_ids)
  if not ids then return nil, err end
  local ok
  ok, err = astro.request("POST", _path(id, "/members"), { body = { memberIds = ids } })
  if ok == nil then return nil, err end
  return true
end

--- Removes a user (an id) from a team (a team or its id). Returns true or nil, err.
---@param team table|string
---@param user_id string
function M.members.remove(team, user_id)
  local id, err = _team_id(team)
  if not id then return nil, err end
  local uid
  uid, err = _check_id(user_id, "user id")
  if not uid then return nil, err end
  local ok
  ok, err = astro.request("DELETE", _path(id, "/members/" .. astro.escape_path(uid)))
  if ok == nil then return nil, err end
  return true
end

-- Rows ------------------------------------------------------------------------------------

--- A team's row in the team table (cells as text: output.text).
function M.row(t)
  return { output.text(t.id), output.text(t.name), output.text(t.description), output.text(t.organizationRole),
           t.isIdpManaged == true and "true" or "false", output.rfc3339(output.text(t.createdAt)) }
end

--- A team's row in the team menu.
function M.menu_row(t)
  return { output.text(t.name), output.text(t.id) }
end

--- A member's row in the member table.
function M.member_row(m)
  return { output.text(m.userId), output.text(m.fullName), output.text(m.username) }
end

-- Asking (the commands' prompts) -------------------------------------------------------------

--- The team a command works on: the one with this id (fetched), or, without an id, the one
-- chosen from a menu of every team (on ctx.stderr, the answer read from ctx.stdin; at end of
-- input an error naming `hint`). Returns the Team or nil, err.
---@param ctx table {stdin, stderr}
---@param id? string
---@param hint? string how to name the team without the menu (default "pass the team's id")
function M.choose(ctx, id, hint)
  if id ~= nil then return M.get(id) end
  local list, err = M.list()
  if not list then return nil, err end
  if #list == 0 then return nil, errors.new("no teams found in your organization", { code = "not_found" }) end
  ctx.stderr:write("\nPlease select a team:\n")
  local rows = {}
  for i, t in ipairs(list) do rows[i] = M.menu_row(t) end
  local n
  n, err = require("astro.prompt").menu(ctx, M.MENU_COLUMNS, rows, {
    invalid = "invalid team selection", missing = "team choice", hint = hint or "pass the team's id" })
  if not n then return nil, err end
  return list[n]
end

--- The astro CLI's question before an IDP-managed team is changed.
M.IDP_QUESTION = "This is an IDP-managed team. Are you sure you want to continue the operation? (y/n) "

--- Asks before an IDP-managed team is changed (nothing asked for another team, or with force).
-- Returns true to go on, false when the answer was not "y", or nil, err at end of input (the
-- error names --force).
---@param ctx table {stdin, stderr}
---@param team table
---@param force? boolean
function M.confirm_idp(ctx, team, force)
  if force or not M.is_idp_managed(team) then return true end
  local answer, err = require("astro.prompt").ask(ctx, M.IDP_QUESTION, "confirmation",
    "pass --force to change an IDP-managed team without the question")
  if not answer then return nil, err end
  return answer == "y"
end

--- The team a command is about to change: M.choose (fetched by id, else chosen from the menu),
-- then M.confirm_idp. Returns the team, false when the IDP question was answered anything but
-- "y" (the command ends with nothing done), or nil, err.
---@param ctx table {stdin, stderr}
---@param id? string
---@param hint? string how to name the team without the menu
---@param force? boolean
function M.to_change(ctx, id, hint, force)
  local team, err = M.choose(ctx, id, hint)
  if not team then return nil, err end
  local go
  go, err = M.confirm_idp(ctx, team, force)
  if go == nil then return nil, err end
  return go and team or false
end

return M
