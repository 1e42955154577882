-- `astro organization audit-logs export` against the sandbox API
-- (spec/support/sandbox_audit_logs.py): Acme answers gzip with Content-Encoding: gzip, Globex
-- plain NDJSON, Initech an application/gzip body; demo events 1 hour, 2, 10, 40 and 100 days old.
local h = require("spec.helpers")
local json = require("astro.json")
local gzip = require("astro.core.gzip")
local sys = require("astro.core.sys")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH
local NOTICES = "This may take some time depending on how many days are being exported.\n" ..
  "Finished exporting logs to local GZIP file\n"

-- The actions of the events in the gzip file at path (decompressed with astro.core.gzip).
local function actions(path)
  local data = assert(h.read_file(path), "no file " .. path)
  assert.is_true(gzip.is_gzip(data), path .. " is not gzip")
  local text = assert(gzip.decompress(data))
  local out = {}
  for line in text:gmatch("[^\n]+") do out[#out + 1] = assert(json.decode(line)).action end
  return out
end

-- The Unix time of an RFC 3339 timestamp with an offset (as the startDate sent).
local function unix(text)
  local y, mo, d, hh, mi, ss, frac, zone = text:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)(%.?%d*)(.*)$")
  assert(y, "not RFC 3339: " .. text)
  local days = os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = 12 }) // 86400
  local t = (days * 86400) + tonumber(hh) * 3600 + tonumber(mi) * 60 + tonumber(ss) + (tonumber("0" .. frac) or 0)
  if zone ~= "Z" then
    local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
    assert(sign, "bad offset in " .. text)
    t = t - (sign == "+" and 1 or -1) * (tonumber(zh) * 3600 + tonumber(zm) * 60)
  end
  return t
end

-- The files of folder dir, sorted.
local function files(dir) return assert(sys.listdir(dir)) end

describe("astro organization audit-logs export", function()
  local box = h.use_sandbox()
  local work, bin

  -- A fresh working folder for each test, and a wrapper that runs astro in it.
  before_each(function()
    work = h.tmpdir()
    bin = work .. "/../astro-in-" .. work:match("[^/]+$")
    h.write_file(bin, "#!/bin/sh\ncd " .. h.shell_quote(work) .. " && exec " .. h.shell_quote(h.astro) .. ' "$@"\n')
    os.execute("chmod 700 " .. h.shell_quote(bin))
  end)

  local function export(args, opts)
    local full = { "organization", "audit-logs", "export" }
    for _, a in ipairs(args or {}) do full[#full + 1] = a end
    local o = { bin = bin }
    for k, v in pairs(opts or {}) do o[k] = v end
    return box.run(full, o)
  end

  local function audit_requests()
    return h.recorded(box.sb, { prefix = "/v1/organizations/", except = "POST" })
  end

  it("writes the last day of the current organization to the default file, gzip as the API sent it", function()
    local before = os.time()
    local r = export()
    assert.are.equal(0, r.code, r.stderr)
    local name = "acmedataplatform-logs-1-day-" .. os.date("%Y%m%d") .. ".ndjson.gz"
    assert.are.equal(name .. "\n", r.stdout)
    assert.are.equal(NOTICES, r.stderr)
    assert.are.same({ name }, files(work))
    assert.are.same({ "user.login" }, actions(work .. "/" .. name))
    assert.are.equal(tonumber("600", 8), sys.stat(work .. "/" .. name).mode)
    -- libcurl decoded the Content-Encoding: gzip answer; the file is this tool's gzip of it.
    assert.are.equal(0, h.read_file(work .. "/" .. name):byte(9))
    -- gzip(1) reads it too.
    local text = h.capture("gzip -dc " .. h.shell_quote(work .. "/" .. name))
    assert.matches('^{"timestamp":"[^"]+","organizationId":"' .. ACME .. '","action":"user.login"', text)
    -- The organization list for the name, then the logs since a day ago in local time.
    local reqs = box.sb:requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("/v1/organizations", reqs[1].path)
    assert.are.equal("/v1/organizations/" .. ACME .. "/audit-logs", reqs[2].path)
    local start = reqs[2].query:match("^startDate=(.*)$"):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+[Z+-]", start)
    assert.truthy(math.abs(unix(start) - (before - 86400)) < 3700, start) -- a day (DST: an hour) ago
  end)

  it("counts days back with --include, and names the file in days", function()
    for _, case in ipairs({ { "3", { "user.login", "organization.user.invite" } },
                            { "30", { "user.login", "organization.user.invite", "deployment.update" } },
                            { "90", { "user.login", "organization.user.invite", "deployment.update",
                                      "workspace.create" } } }) do
      local r = export({ "-i", case[1] })
      assert.are.equal(0, r.code, r.stderr)
      local name = "acmedataplatform-logs-" .. case[1] .. "-days-" .. os.date("%Y%m%d") .. ".ndjson.gz"
      assert.are.equal(name .. "\n", r.stdout)
      assert.are.same(case[2], actions(work .. "/" .. name))
    end
  end)

  it("gzip-compresses a plain answer, and keeps a gzip body as it came", function()
    -- Globex answers plain NDJSON: the file is gzip all the same.
    local r = export({ "-i", "30" }, { home = box.sb:home({ organization = GLOBEX }) })
    assert.are.equal(0, r.code, r.stderr)
    local name = "globex-logs-30-days-" .. os.date("%Y%m%d") .. ".ndjson.gz"
    assert.are.equal(name .. "\n", r.stdout)
    assert.are.same({ "user.login", "organization.user.invite", "deployment.update" }, actions(work .. "/" .. name))
    -- The header's XFL byte tells who compressed: 0 this tool (zlib's default level), 2 the
    -- sandbox (Python's gzip, level 9).
    assert.are.equal(0, h.read_file(work .. "/" .. name):byte(9))
    -- Initech answers the gzip bytes themselves (application/gzip, no Content-Encoding).
    r = export({ "--include", "2", "--output-file", "initech.gz" }, { home = box.sb:home({ organization = INITECH }) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("initech.gz\n", r.stdout)
    assert.are.same({ "user.login" }, actions(work .. "/initech.gz"))
    assert.are.equal(2, h.read_file(work .. "/initech.gz"):byte(9))
  end)

  it("exports another organization by its exact name with --organization-name", function()
    local r = export({ "-n", "Globex", "-i", "3" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("globex-logs-3-days-" .. os.date("%Y%m%d") .. ".ndjson.gz\n", r.stdout)
    assert.are.equal("/v1/organizations/" .. GLOBEX .. "/audit-logs", box.sb:requests()[2].path)
    box.sb:reset_requests()
    r = export({ "--organization-name", "globex" })
    assert.are.equal(1, r.code)
    assert.are.equal("This may take some time depending on how many days are being exported.\n" ..
      "Error: invalid organization name\n", r.stderr)
    assert.are.equal("", r.stdout)
    assert.are.same({ "GET /v1/organizations" }, h.trace(box.sb:requests()))
    assert.are.same({ "globex-logs-3-days-" .. os.date("%Y%m%d") .. ".ndjson.gz" }, files(work))
  end)

  it("writes to --output-file without listing the organizations, replacing a file there", function()
    h.write_file(work .. "/logs.gz", "old")
    local r = export({ "-o", "logs.gz", "-i", "3" }, { })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("logs.gz\n", r.stdout)
    assert.are.same({ "user.login", "organization.user.invite" }, actions(work .. "/logs.gz"))
    assert.are.same({ "GET /v1/organizations/" .. ACME .. "/audit-logs" }, h.trace(box.sb:requests()))
    assert.are.same({ "logs.gz" }, files(work))
    -- Through the aliases too.
    r = box.run({ "org", "al", "e", "-o", work .. "/again.gz" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "user.login" }, actions(work .. "/again.gz"))
  end)

  it("refuses --include outside 1-90 with exit 2, before saying or sending anything", function()
    for _, value in ipairs({ "0", "91", "-1", "1000" }) do
      local r = export({ "-i", value })
      assert.are.equal(2, r.code)
      assert.are.equal("", r.stdout)
      assert.matches("^Error: %-%-include must be a number of days from 1 to 90, not " .. value:gsub("%-", "%%-") .. "\n",
        r.stderr)
    end
    for _, value in ipairs({ "abc", "1.5", "" }) do
      local r = export({ "--include", value })
      assert.are.equal(2, r.code)
      assert.matches('^Error: invalid argument "' .. value:gsub("%.", "%%.") .. '" for "%-i, %-%-include" flag', r.stderr)
    end
    assert.are.equal(0, #box.sb:requests())
    assert.are.same({}, files(work))
  end)

  it("leaves a file there as it was, and nothing else, when the API refuses", function()
    h.write_file(work .. "/logs.gz", "old")
    box.sb:faults({ fail_next = 1, fail_status = 403, fault_path_prefix = "/v1/organizations/" .. ACME .. "/audit-logs" })
    local r = export({ "-o", "logs.gz" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("This may take some time depending on how many days are being exported.\n" ..
      "Error: Forbidden\n", r.stderr)
    assert.are.equal("old", h.read_file(work .. "/logs.gz"))
    assert.are.same({ "logs.gz" }, files(work))
  end)

  it("says a path it cannot write before asking for the logs", function()
    local r = export({ "-o", "missing/logs.gz" })
    assert.are.equal(1, r.code)
    assert.matches("Error: cannot write the audit logs to missing/logs.gz: No such file or directory; give a path " ..
      "you can write with %-%-output%-file\n$", r.stderr)
    os.execute("mkdir " .. h.shell_quote(work .. "/folder"))
    r = export({ "-o", "folder" })
    assert.are.equal(1, r.code)
    assert.matches("Error: cannot write the audit logs to folder: it is a folder, not a file", r.stderr)
    assert.are.equal(0, #box.sb:requests())
    -- The default file in a folder that takes no new file: after the organization list only.
    os.execute("chmod 500 " .. h.shell_quote(work))
    r = export()
    os.execute("chmod 700 " .. h.shell_quote(work))
    if sys.geteuid() ~= 0 then
      assert.are.equal(1, r.code)
      assert.matches("Error: cannot write the audit logs to acmedataplatform%-logs%-1%-day%-%d+%.ndjson%.gz: " ..
        "Permission denied", r.stderr)
      assert.are.same({ "GET /v1/organizations" }, h.trace(box.sb:requests()))
    end
  end)

  it("names the file after the organization with no path separator in it", function()
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "../Etc Passwd\tX", product = "HOSTED" } },
      auditLogs = { [ACME] = {} },
    })
    local r = export()
    assert.are.equal(0, r.code, r.stderr)
    local name = ".._etcpasswd_x-logs-1-day-" .. os.date("%Y%m%d") .. ".ndjson.gz"
    assert.are.equal(name .. "\n", r.stdout)
    assert.are.same({ name }, files(work))
    assert.are.same({}, actions(work .. "/" .. name)) -- an empty export is an empty gzip member
  end)

  it("has no --dry-run (it changes nothing) and shows the reference's help", function()
    local r = export({ "--help" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^Export Organization audit logs as a GZIP file%. Includes all API and UI actions", r.stdout)
    assert.matches("\n  %-n, %-%-organization%-name string +Name of the Organization to manage audit logs for%.\n", r.stdout)
    assert.matches("\n  %-o, %-%-output%-file string +Path to a file for storing exported audit logs\n", r.stdout)
    assert.matches("Number of days in the past to start exporting logs from%. Minimum: 1%. Maximum: 90%.", r.stdout)
    assert.is_nil(r.stdout:find("dry-run", 1, true))
    r = box.run({ "organization", "audit-logs", "--help" })
    assert.matches("^Manage your Organization audit logs%.\n", r.stdout)
    assert.matches("\n  export +Export your Organization audit logs in GZIP%. Requires Organization Owner permissions%.\n",
      r.stdout)
  end)

  it("gives scripts astro.audit_logs.fetch and export", function()
    local script = box.file("logs.lua", [[
local gz, info = assert(astro.audit_logs.fetch({ organization = "Globex", days = 3 }))
local gzip = nil
print(gz:byte(1) == 0x1f and gz:byte(2) == 0x8b, info.organization_id, info.gzipped)
local path, bytes = assert(astro.audit_logs.export({ days = 2, path = arg[1] }))
print(path, bytes)
local ok, err = astro.audit_logs.export({ days = 0 })
print(ok, err.message)
]])
    local out = work .. "/x.gz"
    local r = box.run({ "run", script, out })
    assert.are.equal(0, r.code, r.stderr)
    local size = #h.read_file(out)
    assert.are.equal("true\t" .. GLOBEX .. "\tfalse\n" .. out .. "\t" .. size .. "\n" ..
      "nil\t--include must be a number of days from 1 to 90, not 0\n", r.stdout)
    assert.are.same({ "user.login" }, actions(out))
  end)
end)
