-- The config file under contention and crashes: many processes writing it at once (real
-- `astro organization switch` runs, token refreshes, direct config.update writers), writers
-- killed with SIGKILL mid-update, a lock left by a dead writer, and a config that is a
-- symbolic link. The file must always parse, hold every write, and keep mode 0600.
local h = require("spec.helpers")
local config = require("astro.core.config")
local auth = require("astro._core.auth")
local sys = require("astro.core.sys")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH
local OPERATIONS, TPS = h.ids.OPERATIONS, h.ids.TPS
local WRITER = h.root .. "/spec/support/config_writer.lua"
-- Time limits are for the plain build; a sanitizer build (ASAN_OPTIONS set) runs several times slower.
local SLOW = os.getenv("ASAN_OPTIONS") and 4 or 1
-- Processes started at once: 200 on the plain build; a quarter of that under a sanitizer, where
-- 200 instrumented processes on two cores queue longer than the 10 s lock wait (the mix and every
-- assertion stay the same).
local COUNT = 200 // SLOW
local q = h.shell_quote

--- The octal permission bits of a file, e.g. "600".
local function mode(path)
  return (h.capture("stat -c %a " .. q(path)):gsub("%s+$", ""))
end

--- The names in a directory, sorted, one string.
local function listing(dir)
  return (h.capture("ls -A " .. q(dir)):gsub("\n", " "):gsub("%s+$", ""))
end

--- The temporary files a writer left beside path.
local function temps(path)
  local dir, base = path:match("^(.*)/([^/]+)$")
  local out = {}
  for _, n in ipairs(sys.listdir(dir) or {}) do
    if n:sub(1, #base + 11) == base .. ".astro-tmp-" then out[#out + 1] = n end
  end
  return out
end

--- The shell command that runs the CLI on home, as h.run does.
local function cli(home, args)
  local parts = { "env -u ASTRO_API_TOKEN -u ASTRO_DOMAIN -u ASTRO_DEBUG -u ASTRO_LUA_DIR NO_COLOR=",
                  "HOME=" .. q(home), "ASTRO_HOME=" .. q(home), q(h.astro) }
  for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

--- Runs every shell command of cmds at once: each waits at a barrier until all are started.
-- Returns the list of { code, stdout, stderr } in the same order.
local function all_at_once(cmds)
  local dir = h.tmpdir()
  local go = dir .. "/go"
  local lines = {}
  for n, cmd in ipairs(cmds) do
    lines[#lines + 1] = string.format("( until [ -e %s ]; do sleep 0.02; done; %s >%s/out.%d 2>%s/err.%d; " ..
      "echo $? >%s/rc.%d ) &", go, cmd, dir, n, dir, n, dir, n)
  end
  lines[#lines + 1] = "touch " .. go
  lines[#lines + 1] = "wait"
  h.write_file(dir .. "/all.sh", table.concat(lines, "\n") .. "\n")
  assert.are.equal(0, h.sh("sh " .. q(dir .. "/all.sh")))
  local out = {}
  for n = 1, #cmds do
    out[n] = { code = tonumber(h.read_file(dir .. "/rc." .. n)), stdout = h.read_file(dir .. "/out." .. n),
               stderr = h.read_file(dir .. "/err." .. n) }
  end
  return out
end

describe("the config file", function()
  local box = h.use_sandbox({ home = false })

  describe("under contention", function()
    it("keeps every write of " .. COUNT .. " processes at once: switches, token refreshes and direct writers", function()
      local started = sys.now()
      -- The login token has expired: every CLI run that reads it first refreshes and saves it.
      local home = box.sb:home({ organization = ACME, expiresin = "2020-01-01T00:00:00Z" })
      local path = home .. "/.astro/config.yaml"
      local cmds, kinds = {}, {}
      for n = 1, COUNT do
        local r = n % 5
        if r == 0 or r == 1 then                                     -- 2 in 5: switches
          cmds[n], kinds[n] = cli(home, { "organization", "switch", n % 2 == 0 and GLOBEX or INITECH }), "switch"
        elseif r == 2 then                                           -- 1 in 5: reads that refresh
          cmds[n], kinds[n] = cli(home, { "organization", "list" }), "refresh"
        else                                                         -- 2 in 5: direct writers
          cmds[n], kinds[n] = q(h.astro) .. " --lua " .. q(WRITER) .. " " .. q(path) .. " keys w" .. n .. " 3", "writer"
        end
      end
      local results = all_at_once(cmds)
      local switched = 0
      for n, r in ipairs(results) do
        assert.are.equal(0, r.code, kinds[n] .. " " .. n .. ": " .. tostring(r.stderr))
        if kinds[n] == "switch" then
          -- A switch that reads the config after another switch to the same organization has landed
          -- rightly finds nothing to do; every other one switches.
          if r.stdout:find("Successfully switched organization\n$") then
            switched = switched + 1
          else
            assert.are.equal("You selected the same organization as the current one. No switch was made\n",
              r.stdout, "switch " .. n)
          end
        end
      end
      assert.is_true(switched >= 1, "no switch switched")

      local tree = assert(config.read(path))
      for n = 1, COUNT do
        if kinds[n] == "writer" then
          assert.are.same({ k1 = "1", k2 = "2", k3 = "3" }, tree.writers["w" .. n], "writer " .. n)
        end
      end
      local c = tree.contexts.localhost
      -- The organization is one of those written, with the workspace of the same write.
      local pairs_written = { [GLOBEX] = { OPERATIONS, "HYBRID" }, [INITECH] = { TPS, "HOSTED" } }
      assert.is_truthy(pairs_written[c.organization], c.organization)
      assert.are.same(pairs_written[c.organization], { c.workspace, c.organization_product })
      assert.are.equal(c.workspace, c.last_used_workspace)
      -- The token is a refreshed one the sandbox minted and still accepts, valid for a day.
      local refreshes = 0
      for _, req in ipairs(box.sb:requests()) do
        if req.path == "/oauth/token" then refreshes = refreshes + 1 end
      end
      assert.is_true(refreshes >= 1)
      assert.are_not.equal("Bearer test-token", c.token)
      local token = c.token:match("^Bearer (.+)$")
      local accepted = {}
      for _, t in ipairs(box.sb:control("GET", "/_sandbox/tokens").tokens) do accepted[t] = true end
      assert.is_true(accepted[token])
      assert.is_true(auth.claims(token).exp > os.time() + 3600)
      assert.is_true(auth.parse_time(c.expiresin) > os.time() + 3600)
      assert.are.same({ "sandbox-refresh-token", "jane.doe@acme.io", "localhost" },
        { c.refreshtoken, c.user_email, tree.context })
      assert.are.equal(box.sb.url, tree["local"].core)
      assert.are.equal("600", mode(path))
      assert.are.equal("config.yaml config.yaml.lock", listing(home .. "/.astro"))
      -- A new run uses the saved token without refreshing it again.
      box.sb:reset_requests()
      local r = h.run({ "organization", "list" }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(1, #box.sb:requests())
      assert.are.equal(c.token, box.sb:requests()[1].headers.Authorization)
      assert.is_true(sys.now() - started < 30 * SLOW, "took " .. (sys.now() - started) .. " s")
    end)
  end)

  describe("when a writer is killed", function()
    local SIZE = 256 * 1024

    --- A config file and the three contents it may have: before any write, `big` = SIZE "a"s,
    -- `big` = SIZE "b"s (made by the same update on copies).
    local function contents()
      local home = box.sb:home()
      local path = home .. "/.astro/config.yaml"
      local old = h.read_file(path)
      local known = { [old] = "old" }
      for _, letter in ipairs({ "a", "b" }) do
        local copy = h.tmpdir() .. "/config.yaml"
        h.write_file(copy, old)
        assert.is_true(config.update(copy, { { path = "big", value = string.rep(letter, SIZE) } }))
        known[h.read_file(copy)] = letter
      end
      return path, known
    end

    it("with SIGKILL at any point, leaves the old or the new file, and the next write removes its temporary file", function()
      local path, known = contents()
      local seen, stray_seen = {}, 0
      math.randomseed(os.time())
      for round = 1, 50 do
        local before = {}
        for _, n in ipairs(temps(path)) do before[n] = true end
        local function new_temp()
          for _, n in ipairs(temps(path)) do
            if not before[n] then return true end
          end
          return false
        end
        local pid = h.capture(q(h.astro) .. " --lua " .. q(WRITER) .. " " .. q(path) .. " flip " .. SIZE ..
          " >/dev/null 2>&1 & echo $!"):gsub("%s+$", "")
        if round % 2 == 1 then
          sys.sleep(math.random(0, 150) / 1000)                -- anywhere: starting, parsing, writing
        else
          local deadline = sys.now() + 5                       -- inside the write: temporary file made
          while not new_temp() and sys.now() < deadline do sys.sleep(0.0005) end
        end
        h.sh("kill -9 " .. pid .. "; wait " .. pid .. " 2>/dev/null")
        local text = h.read_file(path)
        assert.is_truthy(known[text], "round " .. round .. ": the file is neither the old nor a new content")
        seen[known[text]] = true
        assert(config.read(path))
        assert.are.equal("600", mode(path))
        -- At most the one temporary file of the writer just killed: the previous ones were removed.
        local left = temps(path)
        assert.is_true(#left <= 1, "round " .. round .. ": " .. table.concat(left, " "))
        stray_seen = stray_seen + #left
      end
      assert.is_true(seen.a or seen.b)
      assert.is_true(stray_seen > 0, "no writer was killed between its temporary file and the rename")
      assert.is_true(config.update(path, { { path = "after", value = "crash" } }))
      assert.are.same({}, temps(path))
      assert.are.equal("crash", config.read(path).after)
    end)

    it("releases its lock: a dangling config.yaml.lock does not block the next writer", function()
      local path = contents()
      local pid = h.capture(q(h.astro) .. " --lua " .. q(WRITER) .. " " .. q(path) .. " flip " .. SIZE ..
        " >/dev/null 2>&1 & echo $!"):gsub("%s+$", "")
      -- Stop the writer while it holds the lock (its temporary file exists), then kill it.
      local holding = false
      for _ = 1, 500 do
        h.sh("kill -STOP " .. pid)
        if #temps(path) > 0 then holding = true break end
        h.sh("kill -CONT " .. pid)
        sys.sleep(0.002)
      end
      assert.is_true(holding)
      local ok, err, code = config.update(path, { { path = "x", value = "1" } }, { lock_timeout = 0.2 })
      assert.is_nil(ok, "the stopped writer should hold the lock")
      assert.are.equal("lock", code, err)
      h.sh("kill -9 " .. pid)
      local deadline = sys.now() + 10
      local function alive()                                   -- running, not a zombie
        local stat = h.read_file("/proc/" .. pid .. "/stat")
        return stat ~= nil and stat ~= "" and not stat:match("^%d+ %b() Z")
      end
      while alive() and sys.now() < deadline do sys.sleep(0.01) end
      assert.is_false(alive())
      assert.is_truthy(h.read_file(path .. ".lock"))
      -- Gone: its lock went with it, the next writer gets it at once.
      assert.is_true(config.update(path, { { path = "x", value = "1" } }, { lock_timeout = 0.5 }))
      assert.are.equal("1", config.read(path).x)
      assert.are.same({}, temps(path))
      -- Through the CLI too.
      local r = h.run({ "organization", "switch", GLOBEX }, { home = (path:gsub("/%.astro/config%.yaml$", "")) })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(GLOBEX, config.read(path).contexts.localhost.organization)
    end)
  end)

  describe("as a symbolic link", function()
    --- A home whose .astro/config.yaml is a link (text `link`) to a file of the sandbox's
    -- config elsewhere (mode 0644). Returns home, link path, target path.
    local function linked_home(absolute)
      local home = box.sb:home()
      local dir = home .. "/.astro"
      local real = h.tmpdir() .. "/dotfiles"
      h.sh("mkdir -p " .. q(real) .. " && mv " .. q(dir .. "/config.yaml") .. " " .. q(real .. "/astro.yaml") ..
        " && chmod 644 " .. q(real .. "/astro.yaml"))
      -- Relative to .astro: up to the home, up to /tmp, then into the other temporary folder.
      local text = absolute and (real .. "/astro.yaml") or ("../../" .. real:match("[^/]+/[^/]+$") .. "/astro.yaml")
      assert.are.equal(0, h.sh("ln -s " .. q(text) .. " " .. q(dir .. "/config.yaml")))
      assert.are.equal(real .. "/astro.yaml", (h.capture("readlink -f " .. q(dir .. "/config.yaml")):gsub("%s+$", "")))
      return home, dir .. "/config.yaml", real .. "/astro.yaml", text
    end

    for _, absolute in ipairs({ false, true }) do
      it("(" .. (absolute and "absolute" or "relative") .. ") is written through by organization switch: " ..
         "link kept, target replaced atomically with mode 0600", function()
        local home, link, target, text = linked_home(absolute)
        local r = h.run({ "organization", "switch", GLOBEX }, { home = home })
        assert.are.equal(0, r.code, r.stderr)
        assert.are.equal(0, h.sh("test -L " .. q(link)))
        assert.are.equal(text .. "\n", h.capture("readlink " .. q(link)))
        local c = assert(config.read(target)).contexts.localhost
        assert.are.same({ GLOBEX, OPERATIONS, "Bearer test-token" }, { c.organization, c.workspace, c.token })
        assert.are.equal("600", mode(target))
        -- A lock beside the link (as the astro CLI takes it) and one beside the target (which
        -- writers reaching the file by its own name take); no temporary file anywhere.
        assert.are.equal("config.yaml config.yaml.lock", listing(home .. "/.astro"))
        assert.are.equal("astro.yaml astro.yaml.lock", listing((target:gsub("/[^/]+$", ""))))
        -- And a refresh through the link is saved to the target too.
        h.write_file(target, (h.read_file(target):gsub('expiresin: "2099', 'expiresin: "2020')))
        r = h.run({ "organization", "list" }, { home = home })
        assert.are.equal(0, r.code, r.stderr)
        assert.are.equal(0, h.sh("test -L " .. q(link)))
        assert.are_not.equal("Bearer test-token", config.read(target).contexts.localhost.token)
        assert.are.equal("600", mode(target))
      end)
    end

    it("whose target is unsafe is refused like the file itself", function()
      local home, _, target = linked_home(true)
      assert.are.equal(0, h.sh("chmod 666 " .. q(target)))
      box.sb:reset_requests()
      local r = h.run({ "organization", "switch", GLOBEX }, { home = home })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: config file " .. home .. "/.astro/config.yaml is writable by others (mode 0666): " ..
        "run chmod 600 " .. home .. "/.astro/config.yaml\n", r.stderr)
      assert.are.equal(0, #box.sb:requests())
    end)
  end)

  describe("when unsafe", function()
    local function home_with(cmd)
      local home = box.sb:home()
      local path = home .. "/.astro/config.yaml"
      assert.are.equal(0, h.sh(cmd .. " " .. q(path)))
      return home, path, h.read_file(path)
    end

    local COMMANDS = {
      { "organization", "list" },
      { "organization", "switch", GLOBEX },
      { "organization", "user", "list" },
      { "organization", "user", "invite", "new@acme.io" },
      { "run", h.root .. "/examples/role_audit.lua" },
    }

    for _, case in ipairs({
      { "chmod 666", "writable by others (mode 0666)" },
      { "chmod 646", "writable by others (mode 0646)" },
      { "chmod 620", "writable by its group (mode 0620)" },
      { "chmod 660", "writable by its group (mode 0660)" },
    }) do
      it("refuses a config file " .. case[2] .. " with how to fix it, sends nothing, changes nothing", function()
        local home, path, before = home_with(case[1])
        for _, args in ipairs(COMMANDS) do
          box.sb:reset_requests()
          local r = h.run(args, { home = home })
          assert.are.equal(1, r.code, table.concat(args, " "))
          assert.are.equal("", r.stdout)
          assert.are.equal("Error: config file " .. path .. " is " .. case[2] .. ": run chmod 600 " .. path .. "\n",
            r.stderr)
          assert.are.equal(0, #box.sb:requests())
        end
        assert.are.equal(before, h.read_file(path))
        assert.are.equal(0, h.sh("chmod 600 " .. q(path)))
        assert.are.equal(0, h.run({ "organization", "list" }, { home = home }).code)
      end)
    end

    it("refuses a config file that belongs to another user, even with ASTRO_API_TOKEN", function()
      local home, path, before = home_with("chown 12345")
      local euid = sys.geteuid()
      local want = string.format("Error: config file %s belongs to user id 12345, not to you (user id %d): " ..
        "check it, then make it yours (chown %d %s) or set ASTRO_HOME to a folder of your own\n", path, euid, euid, path)
      for _, args in ipairs(COMMANDS) do
        box.sb:reset_requests()
        local r = h.run(args, { home = home })
        assert.are.equal(1, r.code, table.concat(args, " "))
        assert.are.equal(want, r.stderr)
        assert.are.equal(0, #box.sb:requests())
      end
      -- An API token run never reads a token from the file, but it reads local.core from it.
      local r = h.run({ "organization", "list" }, { home = home, env = { ASTRO_API_TOKEN = "x.y.z" } })
      assert.are.equal(1, r.code)
      assert.are.equal(want, r.stderr)
      assert.are.equal(before, h.read_file(path))
      assert.are.equal(0, h.sh("chown " .. euid .. " " .. q(path)))
      assert.are.equal(0, h.run({ "organization", "list" }, { home = home }).code)
    end)

    it("accepts a file readable by others (0644) and a missing file, as the astro CLI leaves them", function()
      local home = home_with("chmod 644")
      local r = h.run({ "organization", "list" }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      r = h.run({ "organization", "list" }, { home = h.tmpdir() })
      assert.are.equal(1, r.code)
      assert.matches("^Error: no context set", r.stderr)
    end)
  end)
end)
