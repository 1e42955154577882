-- Files another local user cannot turn against the user: the --report file and its temporary
-- file, the config lock, a config file others can read, and ASTRO_LUA_DIR in a default build.
local h = require("spec.helpers")
local json = require("astro.json")
local people = require("astro.people")
local sys = require("astro.core.sys")

local q = h.shell_quote
local GLOBEX = h.ids.GLOBEX

local function esc(s) return (s:gsub("%p", "%%%0")) end
local function exists(path) return sys.stat(path, false) ~= nil end
local function kind(path) local st = sys.stat(path, false) return st and st.type end

-- A set of one row, as `user invite --file` reads it.
local function one_row_set()
  return assert(people.parse("email,role\nnew@acme.io,ORGANIZATION_MEMBER\n", { kind = "invite" }))
end

describe("the --report file", function()
  local box = h.use_sandbox({ reset = "requests" })

  it("never follows a link put at the name its temporary file would get", function()
    local dir = h.tmpdir()
    local report = dir .. "/report.csv"
    -- The names a math.random-based temporary name takes after this seed: links to files of
    -- "another user", ready before the report is written.
    math.randomseed(7)
    for i = 1, 8 do
      local name = string.format("%s.astro-tmp-%08x%08x", report, math.random(0, 0xffffffff),
        math.random(0, 0xffffffff))
      h.sh("ln -s " .. q(dir .. "/theirs-" .. i) .. " " .. q(name))
    end
    math.randomseed(7)
    assert.is_true(one_row_set():write_report(report))
    for i = 1, 8 do assert.is_false(exists(dir .. "/theirs-" .. i), "the report went through a planted link") end
    assert.are.equal("file", kind(report))
    assert.matches("^email,role,line,result,message,request_id\r?\nnew@acme%.io,", h.read_file(report))
  end)

  it("gives its temporary file a name no one can derive, created 0600", function()
    local dir = h.tmpdir()
    local seen, rename = {}, os.rename
    os.rename = function(from, to) seen[#seen + 1] = from return rename(from, to) end
    local ok1, ok2
    do
      math.randomseed(1)
      ok1 = one_row_set():write_report(dir .. "/a.csv")
      math.randomseed(1)
      ok2 = one_row_set():write_report(dir .. "/a.csv")
    end
    os.rename = rename
    assert.is_true(ok1)
    assert.is_true(ok2)
    assert.are.equal(2, #seen)
    for _, name in ipairs(seen) do assert.matches("^" .. esc(dir) .. "/a%.csv%.astro%-tmp%-" .. ("%x"):rep(24) .. "$", name) end
    assert.are_not.equal(seen[1]:match("[^-]+$"), seen[2]:match("[^-]+$"))
    assert.are.equal(384, sys.stat(dir .. "/a.csv").mode)
  end)

  it("writes in place through no link when the folder takes no new file, saying why", function()
    local dir = h.tmpdir()
    h.sh("ln -s " .. q(dir .. "/theirs") .. " " .. q(dir .. "/r.csv"))
    local create_temp = sys.create_temp
    sys.create_temp = function() return nil, "refused", "io" end   -- as in a folder the user cannot write
    local ok, err = one_row_set():write_report(dir .. "/r.csv")
    sys.create_temp = create_temp
    assert.is_nil(ok)
    assert.are.equal("cannot write the report: " .. dir .. "/r.csv is a symbolic link, which is not followed " ..
      "(it could send the file elsewhere): remove it or give another path", err and err.message)
    assert.is_false(exists(dir .. "/theirs"))
  end)

  it("through the command: a link at the --report path is replaced, the file it points to never made", function()
    local dir = h.tmpdir()
    local csv = dir .. "/people.csv"
    h.write_file(csv, "email,role\nnew@acme.io,ORGANIZATION_MEMBER\n")
    h.sh("ln -s " .. q(dir .. "/theirs.csv") .. " " .. q(dir .. "/report.csv"))
    local r = box.run({ "organization", "user", "invite", "--file", csv, "--report", dir .. "/report.csv", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_false(exists(dir .. "/theirs.csv"), "the link at the report path was followed")
    assert.are.equal("file", kind(dir .. "/report.csv"))
    assert.are.equal(384, sys.stat(dir .. "/report.csv").mode)
    assert.are.equal("", h.capture("ls -a " .. q(dir) .. " | grep astro-tmp || true"))
  end)
end)

describe("the config lock", function()
  local box = h.use_sandbox({ reset = "requests" })

  it("is not followed when it is a symbolic link: the command stops, naming it and what to do", function()
    local home = box.sb:home()
    local lock = home .. "/.astro/config.yaml.lock"
    h.sh("ln -s " .. q(home .. "/theirs") .. " " .. q(lock))
    local r = h.run({ "organization", "switch", GLOBEX }, { home = home })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: config lock " .. lock .. " is a symbolic link, which astro does not follow: remove it " ..
      "(rm " .. lock .. ") and run the command again\n", r.stderr)
    assert.is_false(exists(home .. "/theirs"))
    assert.are.equal("link", kind(lock))
  end)

  it("does not hang on a FIFO, and says to remove it", function()
    local home = box.sb:home()
    local lock = home .. "/.astro/config.yaml.lock"
    h.sh("mkfifo " .. q(lock))
    local t0 = sys.now()
    local r = h.run({ "10", h.astro, "organization", "switch", GLOBEX }, { home = home, bin = "timeout" })
    assert.is_true(sys.now() - t0 < 5, "the command waited on the FIFO")
    assert.are.equal(1, r.code)
    assert.are.equal("Error: config lock " .. lock .. " is not a regular file (a FIFO, device or folder): remove it " ..
      "(rm " .. lock .. ") and run the command again\n", r.stderr)
    h.sh("rm " .. q(lock))
    r = h.run({ "organization", "switch", GLOBEX }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
  end)
end)

describe("a config file that is a FIFO", function()
  it("is refused at once, not waited on", function()
    local home = h.tmpdir()
    h.sh("mkdir -m 700 " .. q(home .. "/.astro") .. " && mkfifo -m 600 " .. q(home .. "/.astro/config.yaml"))
    local t0 = sys.now()
    local r = h.run({ "10", h.astro, "organization", "list" }, { home = home, bin = "timeout" })
    assert.is_true(sys.now() - t0 < 5, "the command waited on the FIFO")
    assert.are.equal(1, r.code)
    assert.are.equal("Error: " .. home .. "/.astro/config.yaml is not a regular file (a FIFO or device)\n", r.stderr)
  end)
end)

describe("a config file others can read", function()
  local box = h.use_sandbox({ reset = "requests" })

  local WARNING = "Warning: config file %s is readable by %s (mode %s) and holds login tokens: run chmod 600 %s\n"

  it("gets one warning on stderr when it holds tokens; stdout (--json too) stays clean", function()
    local home = box.sb:home()
    local path = home .. "/.astro/config.yaml"
    h.sh("chmod 644 " .. q(path))
    local r = h.run({ "organization", "list", "--json" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(WARNING:format(path, "others", "0644", path), r.stderr)
    assert.is_table(json.decode(r.stdout))
    h.sh("chmod 640 " .. q(path))
    r = h.run({ "organization", "user", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(WARNING:format(path, "its group", "0640", path), r.stderr)
    assert.not_matches("Warning", r.stdout)
  end)

  it("gets none when it is 0600, or holds no token", function()
    local home = box.sb:home()
    local path = home .. "/.astro/config.yaml"
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("", r.stderr)
    h.write_file(path, "context: localhost\ncontexts:\n  localhost:\n    domain: localhost\n    token: \"\"\n")
    h.sh("chmod 644 " .. q(path))
    r = h.run({ "organization", "list" }, { home = home })
    assert.not_matches("Warning", r.stderr)
  end)
end)

describe("ASTRO_LUA_DIR", function()
  it("is ignored by a default build: Lua from that folder never runs", function()
    local dir = h.tmpdir()
    h.sh("mkdir -p " .. q(dir .. "/astro/cli"))
    h.write_file(dir .. "/astro/cli/init.lua", 'io.stdout:write("HIJACKED\\n") os.exit(0)\n')
    h.write_file(dir .. "/astro/init.lua", 'io.stdout:write("HIJACKED\\n") os.exit(0)\n')
    local r = h.run({ "version" }, { env = { ASTRO_LUA_DIR = dir } })
    assert.are.equal(0, r.code, r.stderr)
    assert.not_matches("HIJACKED", r.stdout)
    assert.are.equal(h.run({ "version" }).stdout, r.stdout)
  end)
end)
