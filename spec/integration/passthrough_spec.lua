-- Beside the astro CLI: a top-level command word this tool does not have is handed to the real
-- astro CLI (ASTRO_CLI, else the next astro on PATH that is not this binary) with the same
-- arguments, environment, standard streams and exit status, and `astro version` names it.
-- The real CLI is a stand-in shell script that records what it got.
local h = require("spec.helpers")

local SYSTEM_PATH = "/usr/bin:/bin"

-- A stand-in astro CLI in a new folder: records its arguments (NUL-separated), the marker
-- variable, STANDIN_VAR, its standard input and its parent's program into <folder>/record.*,
-- writes a line to stdout and to stderr and exits with STANDIN_EXIT (default 0). `version`
-- prints a version line as the astro CLI does. Returns the folder and the script's path.
local function standin(body)
  local dir = h.tmpdir()
  local path = dir .. "/astro"
  h.write_file(path, body or string.format([[#!/bin/sh
rec=%s/record
if [ "$1" = version ]; then echo "Astro CLI Version: 1.45.0"; exit 0; fi
: > "$rec.argv"
for a in "$@"; do printf '%%s\0' "$a" >> "$rec.argv"; done
printf '%%s' "${ASTRO_LUA_PASSTHROUGH-unset}" > "$rec.marker"
printf '%%s' "${STANDIN_VAR-unset}" > "$rec.var"
readlink -f /proc/$PPID/exe > "$rec.parent"
cat > "$rec.stdin"
echo "out of the astro CLI"
echo "err of the astro CLI" >&2
exit "${STANDIN_EXIT:-0}"
]], h.shell_quote(dir)))
  h.sh("chmod 755 " .. h.shell_quote(path))
  return dir, path
end

-- The arguments a stand-in in dir was run with, or nil when it did not run.
local function argv_of(dir)
  local raw = h.read_file(dir .. "/record.argv")
  if not raw then return nil end
  local out = {}
  for a in raw:gmatch("([^%z]*)%z") do out[#out + 1] = a end
  return out
end

local function real(path) return (h.capture("readlink -f " .. h.shell_quote(path)):gsub("%s+$", "")) end

-- A PATH with the given folders first, then the system's.
local function path_of(...)
  local dirs = { ... }
  dirs[#dirs + 1] = SYSTEM_PATH
  return table.concat(dirs, ":")
end

-- Runs astro (opts.bin, default the binary under test) as h.run does, under timeout(1): a
-- run that would hand over to itself in a loop ends after 20 s (status 124) instead of hanging.
local function run(args, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.bin = "timeout"
  return h.run({ "20", (opts and opts.bin) or h.astro, table.unpack(args) }, o)
end

local NONE = 'Error: unknown command "login" for "astro": this tool has no such command, and no astro CLI was ' ..
  "found on PATH to hand it to; install the astro CLI, or set ASTRO_CLI to its path\n"

describe("passthrough to the astro CLI", function()
  lazy_teardown(function() h.cleanup() end)

  it("hands the whole command line over, global flags before the word included, byte for byte", function()
    local dir, path = standin()
    local args = { "--verbosity", "debug", "workspace", "list", "a b", "", "--name=x y", "-o", "json", "'\"$HOME\"'" }
    local r = run(args, { env = { PATH = path_of(dir) } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(args, argv_of(dir))
    assert.are.equal(path, h.read_file(dir .. "/record.marker"))
    for _, words in ipairs({ { "login" }, { "deploy", "--force" }, { "dev", "start" }, { "help", "login" },
                             { "login", "--help" }, { "--help", "login" } }) do
      r = run(words, { env = { PATH = path_of(dir) } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same(words, argv_of(dir))
    end
  end)

  it("gives the astro CLI this process: exit status, environment and standard streams", function()
    local dir = standin()
    local r = run({ "login" }, { env = { PATH = path_of(dir), STANDIN_EXIT = "3", STANDIN_VAR = "from the caller" },
                                   stdin = "line one\nline two\n" })
    assert.are.equal(3, r.code)
    assert.are.equal("out of the astro CLI\n", r.stdout)
    assert.are.equal("err of the astro CLI\n", r.stderr)
    assert.are.equal("line one\nline two\n", h.read_file(dir .. "/record.stdin"))
    assert.are.equal("from the caller", h.read_file(dir .. "/record.var"))
    -- exec, not a child: the CLI's parent is the shell that started astro, not astro.
    assert.are_not.equal(real(h.astro), (h.read_file(dir .. "/record.parent"):gsub("%s+$", "")))
    r = run({ "deploy" }, { env = { PATH = path_of(dir), STANDIN_EXIT = "0" }, pipe = true, stdin = "piped\n" })
    assert.are.equal(0, r.code)
    assert.are.equal("piped\n", h.read_file(dir .. "/record.stdin"))
  end)

  it("takes ASTRO_CLI over PATH", function()
    local on_path = standin()
    local named, named_path = standin()
    local r = run({ "login" }, { env = { PATH = path_of(on_path), ASTRO_CLI = named_path } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "login" }, argv_of(named))
    assert.is_nil(argv_of(on_path))
  end)

  it("refuses an ASTRO_CLI that is not an executable file, saying what is wrong, and runs nothing", function()
    local on_path = standin()
    local dir = h.tmpdir()
    h.write_file(dir .. "/plain", "#!/bin/sh\necho ran\n")
    h.sh("chmod 644 " .. dir .. "/plain")
    for _, case in ipairs({
      { dir .. "/plain", "is not executable" },
      { dir .. "/missing", "does not exist" },
      { dir, "is not a file" },
      { h.astro, "is this tool itself" },
    }) do
      local r = run({ "login" }, { env = { PATH = path_of(on_path), ASTRO_CLI = case[1] } })
      assert.are.equal(1, r.code)
      assert.are.equal(string.format('Error: unknown command "login" for "astro": ASTRO_CLI is set to %s, which %s: ' ..
        "set ASTRO_CLI to the astro CLI's path, or unset it to use the astro CLI on PATH\n", case[1], case[2]), r.stderr)
      assert.are.equal("", r.stdout)
      assert.is_nil(argv_of(on_path))
    end
  end)

  it("skips every PATH entry that is this binary: a symbolic link, a hard link, the binary's own folder", function()
    -- A copy of the binary, run as "this binary", so that a hard link to it is on the same file system.
    local self_dir, link_dir, hard_dir = h.tmpdir(), h.tmpdir(), h.tmpdir()
    local bin = self_dir .. "/astro"
    assert.are.equal(0, h.sh(string.format("cp %s %s && ln -s %s %s/astro && ln %s %s/astro", h.shell_quote(h.astro), bin,
      bin, link_dir, bin, hard_dir)))
    local dir = standin()
    local r = run({ "workspace", "list" }, { bin = bin, env = { PATH = path_of(link_dir, hard_dir, self_dir, dir) } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "workspace", "list" }, argv_of(dir))
    -- With nothing but itself on PATH, nothing is found.
    r = run({ "login" }, { bin = link_dir .. "/astro", env = { PATH = path_of(link_dir, hard_dir, self_dir) } })
    assert.are.equal(1, r.code)
    assert.are.equal(NONE, r.stderr)
  end)

  it("skips PATH entries that are not absolute: a command word never runs a program of the current folder", function()
    local dir = standin()
    local r = run({ "-c", 'cd "$1" && exec "$2" login', "sh", dir, h.astro }, { bin = "/bin/sh",
      env = { PATH = ".::" .. SYSTEM_PATH } })
    assert.are.equal(1, r.code)
    assert.are.equal(NONE, r.stderr)
    assert.is_nil(argv_of(dir))
  end)

  it("ends with an error, not a loop, when the astro CLI found calls this tool back", function()
    for _, how in ipairs({ "exec ", "" }) do
      local dir = h.tmpdir()
      local wrapper = dir .. "/astro"
      h.write_file(wrapper, string.format('#!/bin/sh\n%s%s "$@"\n', how, h.shell_quote(h.astro)))
      h.sh("chmod 755 " .. wrapper)
      local started = os.time()
      local r = run({ "login" }, { env = { PATH = path_of(dir) } })
      assert.are.equal(1, r.code, r.stderr)
      assert.are.equal(string.format('Error: unknown command "login" for "astro": this tool was started again by the ' ..
        "astro CLI it handed a command to (%s), which leads back here: set ASTRO_CLI to the path of the astro CLI " ..
        "itself\n", wrapper), r.stderr)
      assert.is_true(os.time() - started < 10)
      -- This tool's own commands still work there.
      r = run({ "organization", "--help" }, { env = { PATH = path_of(dir), ASTRO_LUA_PASSTHROUGH = wrapper } })
      assert.are.equal(0, r.code, r.stderr)
    end
  end)

  it("says so, and how to set ASTRO_CLI, when there is no astro CLI; a typo of its own commands keeps the suggestion",
    function()
      local empty = h.tmpdir()
      local r = run({ "login" }, { env = { PATH = path_of(empty) } })
      assert.are.equal(1, r.code)
      assert.are.equal(NONE, r.stderr)
      assert.are.equal("", r.stdout)
      -- "login" is a command of the astro CLI, not "plugin" mistyped.
      r = run({ "--verbosity", "debug", "workspace", "list" }, { env = { PATH = path_of(empty) } })
      assert.are.equal(1, r.code)
      assert.matches('^Error: unknown command "workspace" for "astro": this tool has no such command', r.stderr)
      r = run({ "verson" }, { env = { PATH = path_of(empty) } })
      assert.are.equal(2, r.code)
      assert.are.equal('Error: unknown command "verson" for "astro"\n\nDid you mean this?\n\tversion\n\n' ..
        "Run 'astro --help' for usage.\n", r.stderr)
    end)

  it("hands a typo of its own commands to the astro CLI when there is one (the CLI has its own suggestions)", function()
    local dir = standin()
    local r = run({ "verson" }, { env = { PATH = path_of(dir) } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "verson" }, argv_of(dir))
  end)

  it("lets a plugin command of the same name win", function()
    local dir = standin()
    local home = h.tmpdir()
    h.install_plugin(home, "login.lua", [[
return { command = "login", use = "login", short = "Log in my way",
         run = function(_, ctx) ctx.stdout:write("plugin login\n") end }
]])
    local r = run({ "login" }, { home = home, env = { PATH = path_of(dir) } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("plugin login\n", r.stdout)
    assert.is_nil(argv_of(dir))
  end)

  it("never hands over a command, flag or subcommand of its own", function()
    local dir = standin()
    for _, case in ipairs({
      { {}, 0 }, { { "--help" }, 0 }, { { "-h" }, 0 }, { { "help" }, 0 }, { { "help", "organization" }, 0 },
      { { "organization" }, 0 }, { { "organization", "--help" }, 0 }, { { "plugin", "list" }, 0 },
      { { "organization", "lst" }, 2 }, { { "organization", "user", "login" }, 2 }, { { "--bogus" }, 2 },
      { { "version", "extra" }, 2 }, { { "run" }, 2 },
    }) do
      local r = run(case[1], { env = { PATH = path_of(dir) } })
      assert.are.equal(case[2], r.code, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.is_nil(argv_of(dir), table.concat(case[1], " "))
    end
  end)
end)

describe("astro version beside the astro CLI", function()
  lazy_teardown(function() h.cleanup() end)

  local function fifth(r)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("", r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal(5, #lines, r.stdout)
    assert.matches("^astro%-lua %d+%.%d+%.%d+$", lines[1])
    return lines[5]
  end

  it("names the astro CLI found and its version line", function()
    local dir, path = standin()
    for _, args in ipairs({ { "version" }, { "--version" } }) do
      assert.are.equal("astro CLI: " .. path .. " (Astro CLI Version: 1.45.0)",
        fifth(run(args, { env = { PATH = path_of(dir) } })))
    end
    local _, named = standin()
    assert.are.equal("astro CLI: " .. named .. " (Astro CLI Version: 1.45.0)",
      fifth(run({ "version" }, { env = { PATH = path_of(dir), ASTRO_CLI = named } })))
  end)

  it("says when there is none, or when ASTRO_CLI is unusable", function()
    local empty = h.tmpdir()
    assert.are.equal("astro CLI: none (no astro CLI was found on PATH; install it, or set ASTRO_CLI to the astro " ..
      "CLI's path)", fifth(run({ "version" }, { env = { PATH = path_of(empty) } })))
    assert.are.equal("astro CLI: none (ASTRO_CLI is set to " .. empty .. "/astro, which does not exist: set " ..
      "ASTRO_CLI to the astro CLI's path, or unset it to use the astro CLI on PATH)",
      fifth(run({ "version" }, { env = { PATH = path_of(empty), ASTRO_CLI = empty .. "/astro" } })))
  end)

  it("does not hang on an astro CLI that does not answer, nor on one that fails or calls back", function()
    local dir, path = standin("#!/bin/sh\necho 'not on one line' >&2\nsleep 60\n")
    local started = os.time()
    assert.are.equal("astro CLI: " .. path .. " (no version: no answer to `version` within 5 s)",
      fifth(run({ "version" }, { env = { PATH = path_of(dir) } })))
    assert.is_true(os.time() - started <= 8, "took " .. (os.time() - started) .. " s")
    dir, path = standin("#!/bin/sh\nexit 4\n")
    assert.are.equal("astro CLI: " .. path .. " (no version: `version` ended with exit status 4)",
      fifth(run({ "version" }, { env = { PATH = path_of(dir) } })))
    -- A wrapper that calls this tool back: its `version` is asked once, not in a loop.
    dir = h.tmpdir()
    h.write_file(dir .. "/astro", string.format('#!/bin/sh\nexec %s "$@"\n', h.shell_quote(h.astro)))
    h.sh("chmod 755 " .. dir .. "/astro")
    local line = fifth(run({ "version" }, { env = { PATH = path_of(dir) } }))
    assert.matches("^astro CLI: " .. dir:gsub("%p", "%%%0") .. "/astro %(astro%-lua %d+%.%d+%.%d+%)$", line)
    -- Escaped: a version line cannot drive the terminal.
    dir, path = standin("#!/bin/sh\nprintf 'Astro \\033[31mCLI\\n'\n")
    assert.are.equal("astro CLI: " .. path .. " (Astro \\x1b[31mCLI)", fifth(run({ "version" }, { env = { PATH = path_of(dir) } })))
  end)
end)
