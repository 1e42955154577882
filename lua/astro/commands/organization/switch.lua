-- `astro organization switch [name or id]`: makes another organization the current context's.
-- Everything is resolved first (the organization, the session check, the workspace); the
-- config file is then written once, atomically, so a failure leaves it as it was.
local errors = require("astro.errors")
local output = require("astro.output")
local prompt = require("astro.prompt")
local astro = require("astro")

local CUID = "^c" .. string.rep("[0-9a-z]", 24) .. "$"
local NO_DEFAULT_WORKSPACE = "\nNo default workspace detected, you can list workspaces with \n\tastro workspace list\n" ..
  "and set your default workspace with \n\tastro workspace switch [WORKSPACEID]\n\n"

--- Picks the target organization: by id, by exact name, or from the menu. Returns org or nil, err.
local function _target(client, arg, ctx)
  if arg and arg:match(CUID) then
    return astro.organizations.get(arg)
  end
  local orgs, err = astro.organizations.list()
  if not orgs then return nil, err end
  if arg then
    for _, o in ipairs(orgs) do
      if o.name == arg then return o end
    end
    return nil, errors.new("invalid organization name")
  end
  local rows = {}
  for i, o in ipairs(orgs) do rows[i] = { output.text(o.name), output.text(o.id) } end
  local n
  n, err = prompt.menu(ctx, { "NAME", "ID" }, rows, {
    invalid = "invalid organization selection", missing = "organization choice",
    hint = "pass the organization's name or id as an argument",
    highlight = function(row) return row[2] == client.organization end,
  })
  if not n then return nil, err end
  return orgs[n]
end

--- The workspace named or numbered by --workspace-id among ws (last match wins), or nil, err.
local function _workspace_by_flag(ws, wanted)
  local found
  for _, w in ipairs(ws) do
    if w.id == wanted or w.name == wanted then found = w end
  end
  if not found then return nil, errors.new("workspace id/name could not be found") end
  return found
end

--- The default workspace after a switch (reference §6.6): sets values.workspace (and
-- last_used_workspace when chosen) and returns the notice to print, if any, and whether a
-- workspace was chosen from the menu (the context table is then shown).
local function _default_workspace(ws, values, last_used, ctx, current_ws)
  if #ws == 0 then
    values.workspace = ""
    return nil
  end
  local chosen
  if #ws == 1 then
    chosen = ws[1]
    values.last_used_workspace = chosen.id
  else
    for _, w in ipairs(ws) do
      if w.id == last_used then chosen = w end
    end
  end
  if chosen then
    values.workspace = chosen.id
    return string.format('"%s" Workspace found. This is your default Workspace.\n',
      output.printable(output.text(chosen.name)))
  end
  ctx.stderr:write("\nPlease choose a workspace:\n")
  local rows = {}
  for i, w in ipairs(ws) do rows[i] = { output.text(w.name), output.text(w.id) } end
  local n = prompt.menu(ctx, { "NAME", "ID" }, rows, {
    invalid = "invalid workspace selection", missing = "workspace choice",
    highlight = function(row) return row[2] == current_ws end,
  })
  if not n then
    values.workspace = ""
    return NO_DEFAULT_WORKSPACE
  end
  values.workspace, values.last_used_workspace = ws[n].id, ws[n].id
  return nil, true
end

-- The id of an organization or workspace of an API answer, or nil, err when it has none that
-- can go into the config file (a non-empty string).
local function _id(what, obj)
  if type(obj) == "table" and type(obj.id) == "string" and obj.id ~= "" then return obj.id end
  if type(obj) ~= "table" or (next(obj) ~= nil and #obj > 0) then
    local shown = output.text(obj)
    return nil, errors.new(string.format("the API answered %s that is not an object (%s); nothing was changed", what,
      shown ~= "" and shown or "null"), { code = "api" })
  end
  local name = output.text(obj.name)
  return nil, errors.new(string.format("the API answered %s%s without an id (id: %s); nothing was changed", what,
    name ~= "" and (" " .. name) or "", obj.id == nil and "none" or output.text(obj.id)), { code = "api" })
end

local function _context_table(domain, workspace)
  return string.format(" %-36s%-36s\n %-36s%-36s\n", "CONTROLPLANE", "WORKSPACE", output.printable(tostring(domain)),
    (workspace == nil or workspace == "") and "N/A" or output.printable(workspace))
end

return {
  command = "organization switch",
  use = "switch [organization name/id]",
  aliases = { "sw" },
  short = "Switch to a different Organization",
  long = "Switch your active Organization and reset your Workspace context. After switching, your " ..
         "active Workspace is cleared unless you specify one with --workspace-id.",
  example = "\n  $ astro organization switch\n  $ astro organization switch my-organization\n" ..
            "  $ astro organization switch my-organization --workspace-id ws123456",
  flags = {
    { name = "workspace-id", short = "w", type = "string", default = "", help = "The Workspace's unique identifier" },
    { name = "login-link", short = "l", type = "bool",
      help = "Not supported: this tool does not log in (kept so that scripts get a clear error)" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    if opts.login_link then
      return nil, errors.new("--login-link is not supported: this tool does not log in; " ..
        "log in with the astro CLI (astro login) on the other device")
    end
    -- --organization and ASTRO_ORGANIZATION aim commands at an organization without the config
    -- file; switch changes the file's, which ASTRO_ORGANIZATION would then go on overriding.
    local aimed, aimed_by = astro.config.organization_override()
    if aimed_by == "--organization" then
      return nil, errors.new("--organization cannot be used with organization switch: it works on an organization " ..
        "for one command without changing the config file; to change the current organization, run " ..
        "astro organization switch [organization name/id] without --organization")
    elseif aimed then
      return nil, errors.new(string.format("cannot switch organization while ASTRO_ORGANIZATION is set (to %q): " ..
        "every command would go on working on that organization; unset ASTRO_ORGANIZATION to switch",
        output.printable(aimed)))
    end
    if astro.config.uses_api_token() then
      return nil, errors.new("cannot switch organization while ASTRO_API_TOKEN is set: an API token " ..
        "belongs to one organization; unset ASTRO_API_TOKEN to switch the logged-in context")
    end
    local client, err = ctx.api()
    if not client then return nil, err end
    local cctx = client.context
    local org
    -- An empty argument shows the menu, as no argument does (so does the astro CLI).
    org, err = _target(client, opts.args[1] ~= "" and opts.args[1] or nil, ctx)
    if not org then return nil, err end
    local org_id
    org_id, err = _id("the organization", org)
    if not org_id then return nil, err end
    local wanted_ws = opts.workspace_id ~= "" and opts.workspace_id or nil
    local values, notice, chosen = {}, nil, false
    local same = org.id == client.organization
    if not same then
      local ok
      ok, err = astro.request("GET", "/users/self", { query = { createIfNotExist = true } })
      if not ok then return nil, err end
      values.organization = org.id
      values.organization_product = (type(org.product) == "string" and org.product ~= "") and org.product or "HYBRID"
    end
    if not same or wanted_ws then
      local ws
      ws, err = astro.list("/organizations/" .. astro.escape_path(org.id) .. "/workspaces",
        "workspaces", { query = { sorts = { "name:asc" } } })
      if not ws then return nil, err end
      for _, w in ipairs(ws) do
        local ok
        ok, err = _id("a workspace", w)
        if not ok then return nil, err end
      end
      if wanted_ws then
        local w
        w, err = _workspace_by_flag(ws, wanted_ws)
        if not w then return nil, err end
        values.workspace, values.last_used_workspace = w.id, w.id
      else
        notice, chosen = _default_workspace(ws, values, cctx.last_used_workspace, ctx, cctx.workspace)
      end
      local ok
      ok, err = astro.config.set_context(values) -- under --dry-run, prints the plan instead
      if not ok then return nil, err end
      if astro.dry_run() then return true end
    end
    if same then
      ctx.stdout:write("You selected the same organization as the current one. No switch was made\n")
    else
      if notice then ctx.stderr:write(notice) end
      if chosen then ctx.stdout:write(_context_table(cctx.domain, values.workspace)) end
      ctx.stdout:write("\nSuccessfully switched organization\n")
    end
    if wanted_ws then ctx.stdout:write(_context_table(cctx.domain, values.workspace)) end
    return true
  end,
}
