-- astro.core.config: the C primitive that reads and updates ~/.astro/config.yaml (libyaml),
-- run inside the real host binary. Subprocesses (path(), concurrent writers) run the same binary.
local h = require("spec.helpers")
local config = require("astro.core.config")

-- A copy of /work/shared/reference/fixtures/config.yaml (specs never read /work/shared).
local FIXTURE = [[
# Example ~/.astro/config.yaml (or $ASTRO_HOME/.astro/config.yaml) as astro-cli v1.45 leaves it.
cloud:
  api:
    port: "443"
    protocol: https          # scheme used for https://api.<domain>/v1
    ws_protocol: wss
context: astronomer.io       # current context = a domain (ASTRO_DOMAIN env overrides it)
contexts:
  astronomer_io:             # context key = domain with "." replaced by "_"
    domain: astronomer.io
    expiresin: 2026-08-14T16:51:53.123456789-04:00   # written by SetExpiresIn
    last_used_workspace: clwanly000010uxapiyuxv50n
    organization: clt0acme000010bhys38c6ryb
    organization_product: HOSTED                      # HOSTED | HYBRID
    refreshtoken: v1.MjA2NjA4MTMtaW52ZW50ZWQtcmVmcmVzaC10b2tlbg
    token: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJpbnZlbnRlZCJ9.SIGNATURE-INVENTED
    user_email: jane.doe@acme.io
    workspace: clwanly000010uxapiyuxv50n
  localhost:                 # a context that points the real CLI at a local test server
    domain: localhost
    expiresin: "2099-01-01T00:00:00Z"                 # far future: avoids the refresh path
    last_used_workspace: ""
    organization: clt0acme000010bhys38c6ryb
    organization_product: HOSTED
    refreshtoken: ""
    token: Bearer test-token
    user_email: jane.doe@acme.io
    workspace: ""
local:
  core: http://127.0.0.1:8871   # with domain "localhost" the API base becomes <local.core>/v1
  platform: cloud               # must be "cloud" for a localhost context to count as Astro
telemetry:
  enabled: "false"
upgrade_message: "false"        # skips the GET https://updates.astronomer.io/astro-cli check
verbosity: warning
]]

-- "Billion laughs": 10^10 nodes once every alias is expanded.
local BOMB = (function()
  local lines = { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" }
  for i = 1, 9 do
    lines[#lines + 1] = ("a%d: &a%d [%s]"):format(i, i, ("*a" .. (i - 1) .. ", "):rep(9) .. "*a" .. (i - 1))
  end
  return table.concat(lines, "\n") .. "\n"
end)()

local q = h.shell_quote

--- Writes the fixture (or text) into a fresh directory and returns the file's path.
local function config_file(text, name)
  local path = h.tmpdir() .. "/" .. (name or "config.yaml")
  h.write_file(path, text or FIXTURE)
  return path
end

--- The octal permission bits of a file, e.g. "600".
local function mode(path)
  return (h.capture("stat -c %a " .. q(path)):gsub("%s+$", ""))
end

--- The keys of a block mapping at the given indentation, in file order.
local function keys_at(text, indent)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local key = line:match("^" .. string.rep(" ", indent) .. "([%w_]+):")
    if key then out[#out + 1] = key end
  end
  return out
end

--- Runs a Lua script with the host binary in a controlled environment; returns { code, stdout }.
local function run_script(source, env)
  local dir = h.tmpdir()
  h.write_file(dir .. "/script.lua", source)
  local parts = { "env", "-u", "HOME", "-u", "ASTRO_HOME" }
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. q(v) end
  parts[#parts + 1] = q(h.astro) .. " --lua " .. q(dir .. "/script.lua")
  local out = h.capture(table.concat(parts, " ") .. " 2>&1; echo \"rc=$?\"")
  return { code = tonumber(out:match("rc=(%d+)%s*$")), stdout = out:gsub("rc=%d+%s*$", "") }
end

describe("astro.core.config", function()
  teardown(function() h.cleanup() end)

  describe("path", function()
    local script = 'print(require("astro.core.config").path())'

    it("is $ASTRO_HOME/.astro/config.yaml when ASTRO_HOME is set", function()
      local r = run_script(script, { HOME = "/home/jane", ASTRO_HOME = "/srv/astro" })
      assert.are.equal(0, r.code)
      assert.are.equal("/srv/astro/.astro/config.yaml\n", r.stdout)
    end)

    it("falls back to $HOME when ASTRO_HOME is empty or unset", function()
      assert.are.equal("/home/jane/.astro/config.yaml\n",
        run_script(script, { HOME = "/home/jane", ASTRO_HOME = "" }).stdout)
      assert.are.equal("/home/jane/.astro/config.yaml\n",
        run_script(script, { HOME = "/home/jane/" }).stdout)
    end)

    it("returns nil and a message when neither HOME nor ASTRO_HOME is set", function()
      local r = run_script(script, {})
      assert.are.equal(0, r.code)
      assert.are.equal("nil\tcannot find the config file: set HOME or ASTRO_HOME\tenv\n", r.stdout)
    end)
  end)

  describe("read", function()
    it("turns the astro CLI's config into a tree of strings", function()
      local tree, exists = config.read(config_file())
      assert.is_true(exists)
      assert.are.equal("astronomer.io", tree.context)
      assert.are.equal("443", tree.cloud.api.port)
      assert.are.equal("https", tree.cloud.api.protocol)
      assert.are.equal("2026-08-14T16:51:53.123456789-04:00", tree.contexts.astronomer_io.expiresin)
      assert.are.equal("2099-01-01T00:00:00Z", tree.contexts.localhost.expiresin)
      assert.are.equal("Bearer test-token", tree.contexts.localhost.token)
      assert.are.equal("", tree.contexts.localhost.workspace)
      assert.are.equal("false", tree.telemetry.enabled)
    end)

    it("maps sequences to arrays, nulls to empty strings and resolves aliases", function()
      local tree = config.read(config_file(
        "list: [a, 'b']\nblock:\n  - c\nnone: ~\nalso: null\nempty:\nquoted: 'null'\n" ..
        "base: &b {k: v}\nuse: *b\n"))
      assert.are.same({ "a", "b" }, tree.list)
      assert.are.same({ "c" }, tree.block)
      assert.are.equal("", tree.none)
      assert.are.equal("", tree.also)
      assert.are.equal("", tree.empty)
      assert.are.equal("null", tree.quoted)
      assert.are.same({ k = "v" }, tree.use)
    end)

    it("returns {} and false for a missing file", function()
      local tree, exists = config.read(h.tmpdir() .. "/nope/config.yaml")
      assert.are.same({}, tree)
      assert.is_false(exists)
    end)

    it("returns {} and true for an empty file or one with only comments", function()
      for _, text in ipairs({ "", "# nothing yet\n", "---\n" }) do
        local tree, exists = config.read(config_file(text))
        assert.are.same({}, tree)
        assert.is_true(exists)
      end
    end)

    it("names the file, line and column of invalid YAML", function()
      local path = config_file("a: 1\nb: [1, 2\n")
      local tree, err, code = config.read(path)
      assert.is_nil(tree)
      assert.are.equal("yaml", code)
      assert.are.equal(path .. ":3: not valid YAML (did not find expected ',' or ']', column 1); " ..
                       "fix or move the file and try again", err)
    end)

    it("rejects duplicate keys, invalid UTF-8 and several documents", function()
      local _, err, code = config.read(config_file("a: 1\na: 2\n"))
      assert.are.equal("yaml", code)
      assert.matches(':2: not valid YAML %(duplicate key "a", column 1%)', err)
      _, err = config.read(config_file("a: \255\n"))
      assert.matches(":1: not valid YAML %(invalid leading UTF%-8 octet, column 4%)", err)
      _, err = config.read(config_file("a: 1\n---\nb: 2\n"))
      assert.matches("more than one YAML document", err)
    end)

    it("rejects a file whose top level is not a mapping", function()
      for _, text in ipairs({ "just a string\n", "- a\n- b\n" }) do
        local path = config_file(text)
        local tree, err, code = config.read(path)
        assert.is_nil(tree)
        assert.are.equal("yaml", code)
        assert.are.equal(path .. ": not an astro config file (top level is not a mapping)", err)
      end
    end)

    it("rejects an alias bomb quickly", function()
      local started = os.clock()
      local tree, err, code = config.read(config_file(BOMB))
      assert.is_nil(tree)
      assert.are.equal("yaml", code)
      assert.matches("more than 100000 nodes", err)
      assert.is_true(os.clock() - started < 1)
    end)

    it("rejects deep nesting and self-referencing aliases", function()
      local _, err, code = config.read(config_file("a: " .. ("["):rep(100) .. ("]"):rep(100) .. "\n"))
      assert.are.equal("yaml", code)
      assert.matches("nested deeper than 64 levels", err)
      _, err, code = config.read(config_file("a: &x [*x]\n"))
      assert.are.equal("yaml", code)
      assert.matches("nested deeper than 64 levels", err)
    end)

    it("rejects a file larger than 16 MiB", function()
      local path = config_file("")
      assert.are.equal(0, h.sh("head -c 17000000 /dev/zero | tr '\\0' 'a' > " .. q(path)))
      local tree, err, code = config.read(path)
      assert.is_nil(tree)
      assert.are.equal("yaml", code)
      assert.matches("larger than 16 MiB", err)
    end)

    it("reports an unreadable path as an io error", function()
      local dir = h.tmpdir()
      local tree, err, code = config.read(dir)
      assert.is_nil(tree)
      assert.are.equal("io", code)
      assert.are.equal(dir .. ": Is a directory", err)
    end)
  end)

  describe("update", function()
    it("changes one value and keeps every other key, the order and the scalar styles", function()
      local path = config_file()
      local before = config.read(path)
      assert.is_true(config.update(path, { { path = "contexts.localhost.token", value = "Bearer new" } }))
      local after = config.read(path)
      before.contexts.localhost.token = "Bearer new"
      assert.are.same(before, after)
      local text = h.read_file(path)
      assert.matches('\n    expiresin: "2099%-01%-01T00:00:00Z"\n', text)
      assert.matches("\n    expiresin: 2026%-08%-14T16:51:53%.123456789%-04:00\n", text)
      assert.matches('\n    workspace: ""\n', text)
      assert.matches('\n    port: "443"\n', text)
      assert.matches("\n    token: Bearer new\n", text)
      assert.are.same(keys_at(FIXTURE, 0), keys_at(text, 0))
      assert.are.same(keys_at(FIXTURE, 4), keys_at(text, 4))
    end)

    it("takes paths as arrays and creates missing mappings after the existing keys", function()
      local path = config_file()
      assert.is_true(config.update(path, {
        { path = { "contexts", "api_example_io", "domain" }, value = "api.example.io" },
        { path = "contexts.api_example_io.token", value = "Bearer x" },
      }))
      local tree = config.read(path)
      assert.are.same({ domain = "api.example.io", token = "Bearer x" }, tree.contexts.api_example_io)
      local text = h.read_file(path)
      local a, l = text:find("\n  astronomer_io:"), text:find("\n  localhost:")
      local n, after = text:find("\n  api_example_io:"), text:find("\nlocal:")
      assert.is_true(a < l and l < n and n < after)
    end)

    it("deletes keys given without a value and ignores missing ones", function()
      local path = config_file()
      assert.is_true(config.update(path, {
        { path = "contexts.astronomer_io" },
        { path = "verbosity" },
        { path = "no.such.key" },
      }))
      local tree = config.read(path)
      assert.is_nil(tree.contexts.astronomer_io)
      assert.is_nil(tree.verbosity)
      assert.is_nil(tree.no)
      assert.are.equal("Bearer test-token", tree.contexts.localhost.token)
    end)

    it("writes booleans and numbers plain", function()
      local path = config_file("")
      assert.is_true(config.update(path, {
        { path = "t", value = true }, { path = "i", value = 443 }, { path = "f", value = 1.5 },
      }))
      assert.are.equal("t: true\ni: 443\nf: 1.5\n", h.read_file(path))
    end)

    local tricky = { "", "true", "443", "a: b", " x", "x ", "yes", "Off", "~", "null", "0x1F", "1e3",
                     "+1", "-1", "0755", ".5", ".inf", "2026-01-01", "#x", "x #y", "-", "- x", "*a",
                     "&a", "!t", "[x]", "{x}", "'x'", '"x"', "%x", "@x", "`x`", "|x", ">x", "?x",
                     "a:", "line\nbreak", "tab\there", "nul\0byte" }
    local plain = { "Bearer tok", "http://127.0.0.1:8871/v1", "héllo wörld",
                    "2026-08-14T16:51:53.123456789-04:00", "a#b", "a:b", "v1.MjA2" }

    it("quotes new strings only when a plain scalar would read back differently", function()
      local path = config_file("")
      local changes = {}
      for i, v in ipairs(tricky) do changes[#changes + 1] = { path = "q.k" .. i, value = v } end
      for i, v in ipairs(plain) do changes[#changes + 1] = { path = "p.k" .. i, value = v } end
      assert.is_true(config.update(path, changes))
      local tree = config.read(path)
      for i, v in ipairs(tricky) do assert.are.equal(v, tree.q["k" .. i]) end
      for i, v in ipairs(plain) do assert.are.equal(v, tree.p["k" .. i]) end
      local text = h.read_file(path)
      for i = 1, #tricky do assert.matches("\n  k" .. i .. ': ["\']', text) end
      for i = 1, #plain do assert.matches("\n  k" .. i .. ": [^\"']", text) end
    end)

    it("writes strings that a YAML 1.1 reader (PyYAML) reads back unchanged", function()
      if h.sh(q(h.python) .. " -c 'import yaml' 2>/dev/null") ~= 0 then return end
      local path = config_file("")
      local changes = {}
      for i, v in ipairs(tricky) do
        if not v:find("\0", 1, true) then changes[#changes + 1] = { path = "k" .. i, value = v } end
      end
      assert.is_true(config.update(path, changes))
      local out = h.capture(q(h.python) .. " -c " .. q("import json,sys,yaml; " ..
        "d = yaml.safe_load(open(sys.argv[1], encoding='utf-8')); " ..
        "print(json.dumps({k: v for k, v in d.items() if not isinstance(v, str)}))") .. " " .. q(path))
      assert.are.equal("{}\n", out)
    end)

    it("keeps a change through an alias from showing up at the anchor", function()
      local path = config_file("base: &b {x: 1, y: 2}\nctx: *b\n")
      assert.is_true(config.update(path, { { path = "ctx.x", value = "3" } }))
      local tree = config.read(path)
      assert.are.same({ x = "1", y = "2" }, tree.base)
      assert.are.same({ x = "3", y = "2" }, tree.ctx)
    end)

    it("replaces a null in the way by a mapping and refuses to go through a string", function()
      local path = config_file("contexts:\nname: x\n")
      assert.is_true(config.update(path, { { path = "contexts.a.token", value = "t" } }))
      assert.are.equal("t", config.read(path).contexts.a.token)
      local before = h.read_file(path)
      local ok, err, code = config.update(path, { { path = "name.first", value = "y" } })
      assert.is_nil(ok)
      assert.are.equal("path", code)
      assert.are.equal(path .. ": cannot set name.first: name is not a mapping", err)
      assert.are.equal(before, h.read_file(path))
    end)

    it("never touches an invalid file and names its line", function()
      local dir = h.tmpdir()
      local path = dir .. "/config.yaml"
      local text = "a: 1\nb: [1, 2\n"
      h.write_file(path, text)
      local ok, err, code = config.update(path, { { path = "a", value = "2" } })
      assert.is_nil(ok)
      assert.are.equal("yaml", code)
      assert.matches("^" .. path:gsub("%p", "%%%0") .. ":3: not valid YAML", err)
      assert.are.equal(text, h.read_file(path))
      assert.are.equal("config.yaml\nconfig.yaml.lock\n", h.capture("ls -A " .. q(dir)))
    end)

    it("refuses a non-mapping top level and an alias bomb without writing", function()
      for _, text in ipairs({ "- a\n", BOMB }) do
        local path = config_file(text)
        local ok, _, code = config.update(path, { { path = "a", value = "1" } })
        assert.is_nil(ok)
        assert.are.equal("yaml", code)
        assert.are.equal(text, h.read_file(path))
      end
    end)

    --- Asserts that update(path, changes) fails with code "yaml" and a message matching pattern,
    -- leaving the file as it was (and readable) and no temporary file behind.
    local function refused_unreadable(path, changes, pattern)
      local before = h.read_file(path)
      local ok, err, code = config.update(path, changes)
      assert.is_nil(ok)
      assert.are.equal("yaml", code)
      local prefix = path .. ": not updated: the changes would make it unreadable ("
      assert.are.equal(prefix, err:sub(1, #prefix))
      assert.matches(pattern, err)
      assert.is_true(before == h.read_file(path), "the file changed")
      assert.are.equal("config.yaml\nconfig.yaml.lock\n", h.capture("ls -A " .. q(path:match("^(.*)/"))))
      assert(config.read(path))
    end

    it("refuses changes that would make the file larger than read accepts (16 MiB)", function()
      local path = config_file()
      refused_unreadable(path, { { path = "contexts.localhost.token", value = string.rep("a", 17 * 1024 * 1024) } },
        "%(larger than 16 MiB%)$")
      assert.is_true(config.update(path, { { path = "contexts.localhost.token", value = string.rep("a", 1024 * 1024) } }))
      assert.are.equal(1024 * 1024, #config.read(path).contexts.localhost.token)
    end)

    it("refuses changes that would give the file more nodes than read accepts", function()
      -- 3 + 2 * 49990 = 99983 nodes: readable; 10 more keys would make it 100003.
      local lines = { "k:" }
      for i = 1, 49990 do lines[#lines + 1] = "  key" .. i .. ": v" end
      local path = config_file(table.concat(lines, "\n") .. "\n")
      assert(config.read(path))
      local changes = {}
      for i = 1, 10 do changes[i] = { path = "new" .. i, value = "v" } end
      refused_unreadable(path, changes, "more than 100000 nodes")
      assert.is_true(config.update(path, { { path = "k.key1", value = "w" }, { path = "new1", value = "v" } }))
      assert.are.equal("w", config.read(path).k.key1)
    end)

    it("refuses changes that would give the file more nodes than read accepts once aliases are expanded", function()
      -- 1 + 11 * (1 + 9000) = 99012 nodes read (each alias expands to the 9000 keys again); 1000
      -- more keys at the top would make it 100012, though the file itself has only some 20000.
      local lines = { "base: &b" }
      for i = 1, 9000 do lines[#lines + 1] = "  key" .. i .. ": v" end
      for i = 1, 10 do lines[#lines + 1] = "copy" .. i .. ": *b" end
      local path = config_file(table.concat(lines, "\n") .. "\n")
      assert(config.read(path))
      local changes = {}
      for i = 1, 1000 do changes[i] = { path = "new" .. i, value = "v" } end
      refused_unreadable(path, changes, "more than 100000 nodes once aliases are expanded")
    end)

    it("leaves the file with mode 0600 even if it was 0644", function()
      local path = config_file()
      assert.are.equal(0, h.sh("chmod 644 " .. q(path)))
      assert.is_true(config.update(path, { { path = "verbosity", value = "debug" } }))
      assert.are.equal("600", mode(path))
      assert.are.equal("600", mode(path .. ".lock"))
    end)

    it("creates a missing file and its directories with mode 0700", function()
      local home = h.tmpdir()
      local path = home .. "/deep/.astro/config.yaml"
      assert.is_true(config.update(path, { { path = "context", value = "astronomer.io" } }))
      assert.are.equal("context: astronomer.io\n", h.read_file(path))
      assert.are.equal("700", mode(home .. "/deep"))
      assert.are.equal("700", mode(home .. "/deep/.astro"))
      assert.are.equal("600", mode(path))
    end)

    it("writes through a symbolic link to its target and keeps the link", function()
      local dir = h.tmpdir()
      h.sh("mkdir " .. q(dir .. "/real"))
      h.write_file(dir .. "/real/config.yaml", FIXTURE)
      h.sh("ln -s real/config.yaml " .. q(dir .. "/config.yaml"))
      assert.is_true(config.update(dir .. "/config.yaml", { { path = "verbosity", value = "debug" } }))
      assert.are.equal(0, h.sh("test -L " .. q(dir .. "/config.yaml")))
      assert.are.equal("debug", config.read(dir .. "/real/config.yaml").verbosity)
      assert.are.equal("real/config.yaml\n", h.capture("readlink " .. q(dir .. "/config.yaml")))
    end)

    it("through a symbolic link whose lock files are one file, takes that lock once", function()
      local dir = h.tmpdir()
      h.sh("mkdir " .. q(dir .. "/real"))
      h.write_file(dir .. "/real/config.yaml", FIXTURE)
      h.sh("ln -s real/config.yaml " .. q(dir .. "/config.yaml"))
      h.sh("ln -s ../config.yaml.lock " .. q(dir .. "/real/config.yaml.lock"))
      assert.is_true(config.update(dir .. "/config.yaml", { { path = "verbosity", value = "debug" } },
                                   { lock_timeout = 0.5 }))
      assert.are.equal("debug", config.read(dir .. "/real/config.yaml").verbosity)
    end)

    it("creates the target of a dangling symbolic link", function()
      local dir = h.tmpdir()
      h.sh("ln -s elsewhere/config.yaml " .. q(dir .. "/config.yaml"))
      assert.is_true(config.update(dir .. "/config.yaml", { { path = "a", value = "b" } }))
      assert.are.equal(0, h.sh("test -L " .. q(dir .. "/config.yaml")))
      assert.are.equal("a: b\n", h.read_file(dir .. "/elsewhere/config.yaml"))
    end)

    it("removes a stale temporary file of its own but no other file that looks like one", function()
      local path = config_file()
      local dir = path:match("^(.*)/")
      local stale = path .. ".astro-tmp-Zz9x8Q"                 -- left by a writer killed mid-write
      h.write_file(stale, "half")
      h.write_file(path .. ".tmp-backup", "the user's copy")   -- the old temporary name's shape
      h.write_file(path .. ".astro-tmp-short", "x")             -- not six characters
      h.write_file(path .. ".astro-tmp-abc1234", "x")           -- seven
      h.write_file(path .. ".astro-tmp-ab.def", "x")            -- not what mkstemp makes
      h.write_file(dir .. "/kept", "linked")
      assert.are.equal(0, h.sh("ln -s kept " .. q(path .. ".astro-tmp-Link01")))
      assert.are.equal(0, h.sh("mkdir " .. q(path .. ".astro-tmp-Dir001")))
      assert.is_true(config.update(path, { { path = "verbosity", value = "debug" } }))
      assert.is_nil(h.read_file(stale))
      assert.are.equal("the user's copy", h.read_file(path .. ".tmp-backup"))
      assert.are.equal(0, h.sh("test -L " .. q(path .. ".astro-tmp-Link01")))
      assert.are.equal("linked", h.read_file(dir .. "/kept"))
      assert.are.equal(0, h.sh("test -d " .. q(path .. ".astro-tmp-Dir001")))
      assert.are.equal("config.yaml\nconfig.yaml.astro-tmp-Dir001\nconfig.yaml.astro-tmp-Link01\n" ..
        "config.yaml.astro-tmp-ab.def\nconfig.yaml.astro-tmp-abc1234\nconfig.yaml.astro-tmp-short\n" ..
        "config.yaml.lock\nconfig.yaml.tmp-backup\nkept\n", h.capture("LC_ALL=C ls -A " .. q(dir)))
      assert.are.equal("debug", config.read(path).verbosity)
    end)

    it("applies the changes it checked even when a finalizer rewrites them during the update", function()
      -- A big file makes the update allocate much after checking the changes; with the collector
      -- this eager, finalizers run inside the update (after, before or while it checks them).
      local lines = { "k:" }
      for i = 1, 5000 do lines[#lines + 1] = "  key" .. i .. ": value" .. i end
      local path = config_file(table.concat(lines, "\n") .. "\n")
      local mutations = {
        function(c) c[1].path = {} end,                       -- no key at all
        function(c) c[1].path = { "k", 1 } end,               -- a key that is not a string
        function(c) c[1].path = "" end,
        function(c) c[1].value = {} end,                      -- a value that cannot be stored
        function(c) c[1] = false end,                         -- a change that is not a table
        function(c) c[2] = 7 end,                             -- another one
      }
      local inside, during, applied = false, 0, 0
      finally(function() collectgarbage("incremental", 200, 100) end)
      collectgarbage("incremental", 10, 1000)
      for attempt = 1, 90 do
        local key = "a" .. attempt
        local changes = { { path = { "k", key }, value = "x" .. attempt } }
        local mutate = mutations[attempt % #mutations + 1]
        setmetatable({}, { __gc = function()
          mutate(changes)
          if inside then during = during + 1 end
        end })
        inside = true
        local ok, res, err = pcall(config.update, path, changes)
        inside = false
        if ok then
          assert.is_true(res, err)
          assert.are.equal("x" .. attempt, config.read(path).k[key], "attempt " .. attempt)
          applied = applied + 1
        else
          -- The finalizer ran before the changes were checked: refused as misuse.
          assert.matches("^bad argument #2 to '[%w.]*update' %(changes", res)
        end
      end
      collectgarbage("incremental", 200, 100)
      assert.is_true(during > 0, "no finalizer ran inside an update")
      assert.is_true(applied > 0, "no update applied its changes")
      assert.are.equal("value5000", config.read(path).k.key5000)
    end)

    it("raises on misuse before anything is locked", function()
      local path = h.tmpdir() .. "/config.yaml"
      local function fails(pattern, ...)
        local ok, err = pcall(config.update, ...)
        assert.is_false(ok)
        assert.matches(pattern, err)
      end
      fails("single change", path, { path = "a", value = "1" })
      fails("empty key", path, { { path = "a..b", value = "1" } })
      fails("string or an array", path, { { path = 3, value = "1" } })
      fails("a table cannot be stored", path, { { path = "a", value = {} } })
      fails("not valid UTF%-8", path, { { path = "a", value = "\255" } })
      fails("unknown option 'timeout'", path, {}, { timeout = 1 })
      fails("lock_timeout must be", path, {}, { lock_timeout = -1 })
      assert.is_nil(h.read_file(path .. ".lock"))
    end)

    describe("with other processes", function()
      local function writers(path, n)
        local dir = h.tmpdir()
        h.write_file(dir .. "/writer.lua", [[
          local config = require("astro.core.config")
          local path, n = arg[1], arg[2]
          for i = 1, 20 do
            local ok, err = config.update(path, { { path = { "writers", "w" .. n, "k" .. i }, value = i } })
            if not ok then io.stderr:write(err, "\n") os.exit(1) end
          end
        ]])
        local cmd = "pids=; for n in $(seq 1 " .. n .. "); do " .. q(h.astro) .. " --lua " ..
          q(dir .. "/writer.lua") .. " " .. q(path) .. " $n & pids=\"$pids $!\"; done; " ..
          "rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc"
        assert.are.equal(0, h.sh(cmd))
        local tree = assert(config.read(path))
        for w = 1, n do
          for i = 1, 20 do assert.are.equal(tostring(i), tree.writers["w" .. w]["k" .. i]) end
        end
        return tree
      end

      it("lands every change of 2 concurrent writers", function()
        local tree = writers(config_file(), 2)
        assert.are.equal("Bearer test-token", tree.contexts.localhost.token)
      end)

      it("lands every change of 20 concurrent writers", function()
        local tree = writers(config_file(), 20)
        assert.are.equal("astronomer.io", tree.context)
      end)

      it("lands every change of writers reaching the file through a symbolic link and directly", function()
        local dir = h.tmpdir()
        assert.are.equal(0, h.sh("mkdir " .. q(dir .. "/a") .. " " .. q(dir .. "/b")))
        h.write_file(dir .. "/b/config.yaml", FIXTURE)
        assert.are.equal(0, h.sh("ln -s ../b/config.yaml " .. q(dir .. "/a/config.yaml")))
        h.write_file(dir .. "/writer.lua", [[
          local config = require("astro.core.config")
          local path, n = arg[1], arg[2]
          for i = 1, 30 do
            local ok, err = config.update(path, { { path = { "writers", "w" .. n, "k" .. i }, value = i } })
            if not ok then io.stderr:write(err, "\n") os.exit(1) end
          end
        ]])
        local cmd = "pids=; for n in 1 2 3 4; do p=" .. q(dir) .. "/a/config.yaml; " ..
          "[ $((n % 2)) = 0 ] && p=" .. q(dir) .. "/b/config.yaml; " ..
          q(h.astro) .. " --lua " .. q(dir .. "/writer.lua") .. " \"$p\" $n 2>>" .. q(dir .. "/err") ..
          " & pids=\"$pids $!\"; done; rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc"
        local status = h.sh(cmd)
        assert.are.equal("", h.read_file(dir .. "/err") or "")
        assert.are.equal(0, status)
        local tree = assert(config.read(dir .. "/b/config.yaml"))
        for w = 1, 4 do
          for i = 1, 30 do
            assert.are.equal(tostring(i), tree.writers["w" .. w]["k" .. i], "writer " .. w .. " key " .. i)
          end
        end
        assert.are.equal(0, h.sh("test -L " .. q(dir .. "/a/config.yaml")))
        -- Each writer through the link also held the link's lock, as the astro CLI takes it.
        assert.are.equal("config.yaml\nconfig.yaml.lock\n", h.capture("ls -A " .. q(dir .. "/a")))
        assert.are.equal("config.yaml\nconfig.yaml.lock\n", h.capture("ls -A " .. q(dir .. "/b")))
      end)

      --- Holds path..".lock" with flock(1) for `seconds`; returns the pid once the lock is held.
      local function hold_lock(path, seconds)
        local ready = h.tmpdir() .. "/ready"
        local pid = h.capture("flock -o " .. q(path .. ".lock") .. " -c " ..
          q("touch " .. q(ready) .. "; sleep " .. seconds) .. " >/dev/null 2>&1 & echo $!"):gsub("%s+$", "")
        local sys = require("astro.core.sys")
        local deadline = sys.now() + 5
        while not h.read_file(ready) and sys.now() < deadline do sys.sleep(0.01) end
        assert.is_truthy(h.read_file(ready))
        return pid
      end

      it("gives up with code \"lock\" when another process holds the lock", function()
        local path = config_file()
        local pid = hold_lock(path, 3)
        local sys = require("astro.core.sys")
        local started = sys.now()
        local ok, err, code = config.update(path, { { path = "verbosity", value = "debug" } },
                                            { lock_timeout = 0.3 })
        local elapsed = sys.now() - started
        h.sh("kill " .. pid .. " 2>/dev/null")
        assert.is_nil(ok)
        assert.are.equal("lock", code)
        assert.are.equal("timed out after 0.3s waiting for config lock " .. path .. ".lock: another " ..
                         "astro process is holding it; wait for it to finish or kill it", err)
        assert.is_true(elapsed >= 0.3 and elapsed < 1 * h.slack, "waited " .. elapsed .. "s")
        assert.are.equal(FIXTURE, h.read_file(path))
      end)

      it("stops waiting for the lock when interrupted", function()
        local path = config_file()
        local pid = hold_lock(path, 3)
        local dir = h.tmpdir()
        h.write_file(dir .. "/wait.lua", [[
          local ok, err, code = require("astro.core.config").update(arg[1], { { path = "a", value = "1" } })
          io.open(arg[2], "w"):write(tostring(code)):close()
        ]])
        local sys = require("astro.core.sys")
        local started = sys.now()
        local status = h.sh(q(h.astro) .. " --lua " .. q(dir .. "/wait.lua") .. " " .. q(path) .. " " ..
          q(dir .. "/code") .. " 2>/dev/null & w=$!; sleep 0.3; kill -INT $w; wait $w")
        local elapsed = sys.now() - started
        h.sh("kill " .. pid .. " 2>/dev/null")
        assert.are.equal(130, status)
        assert.are.equal("interrupted", h.read_file(dir .. "/code"))
        assert.is_true(elapsed < 1.5 * h.slack, "took " .. elapsed .. "s")
        assert.are.equal(FIXTURE, h.read_file(path))
      end)

      it("through a symbolic link, gives up while either the link's or the target's lock is held", function()
        local dir = h.tmpdir()
        h.sh("mkdir " .. q(dir .. "/real"))
        h.write_file(dir .. "/real/config.yaml", FIXTURE)
        h.sh("ln -s real/config.yaml " .. q(dir .. "/config.yaml"))
        for _, held in ipairs({ dir .. "/config.yaml", dir .. "/real/config.yaml" }) do
          local pid = hold_lock(held, 3)
          local ok, err, code = config.update(dir .. "/config.yaml", { { path = "verbosity", value = "debug" } },
                                              { lock_timeout = 0.2 })
          h.sh("kill " .. pid .. " 2>/dev/null")
          assert.is_nil(ok)
          assert.are.equal("lock", code)
          assert.matches("waiting for config lock " .. (held .. ".lock"):gsub("%p", "%%%0"), err)
          assert.are.equal(FIXTURE, h.read_file(dir .. "/real/config.yaml"))
        end
        assert.is_true(config.update(dir .. "/config.yaml", { { path = "verbosity", value = "debug" } }))
        assert.are.equal("debug", config.read(dir .. "/real/config.yaml").verbosity)
      end)

      it("waits for the lock and then applies the change", function()
        local path = config_file()
        local pid = hold_lock(path, 0.5)
        assert.is_true(config.update(path, { { path = "verbosity", value = "debug" } }))
        h.sh("kill " .. pid .. " 2>/dev/null")
        assert.are.equal("debug", config.read(path).verbosity)
      end)
    end)
  end)
end)
