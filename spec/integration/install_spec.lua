-- `cmake --install` as a user runs it: into a temporary prefix, then the installed binary, the
-- installed sandbox, an installed example, the installed bash completion and the installed
-- plugin spec, each run from a folder outside the source tree with ASTRO_SOURCE_DIR unset.
local h = require("spec.helpers")
local q = h.shell_quote

local BUILD = h.astro:match("^(.*)/[^/]*$") or "."
local CMAKE = os.getenv("ASTRO_CMAKE") or "cmake"

-- Runs the shell command cmd from the folder cwd, with ASTRO_SOURCE_DIR, ASTRO_SANDBOX and the
-- astro variables unset and HOME (and ASTRO_HOME) set to home. Returns { code, stdout, stderr }.
local function run(cmd, cwd, home)
  local dir = h.tmpdir()
  local code = h.sh(table.concat({
    "cd " .. q(cwd) .. " &&",
    "env -u ASTRO_SOURCE_DIR -u ASTRO_SANDBOX -u ASTRO_BIN -u ASTRO_API_TOKEN -u ASTRO_DOMAIN -u ASTRO_DEBUG",
    "-u ASTRO_LUA_DIR HOME=" .. q(home) .. " ASTRO_HOME=" .. q(home),
    "sh -c " .. q(cmd) .. " >" .. dir .. "/stdout 2>" .. dir .. "/stderr </dev/null",
  }, " "))
  return { code = code, stdout = h.read_file(dir .. "/stdout"), stderr = h.read_file(dir .. "/stderr") }
end

describe("cmake --install", function()
  local prefix, cwd, home, sandbox_pid

  lazy_setup(function()
    prefix, cwd, home = h.tmpdir() .. "/usr local", h.tmpdir(), h.tmpdir() .. "/home"
    local log = h.tmpdir() .. "/install.log"
    local code = h.sh(q(CMAKE) .. " --install " .. q(BUILD) .. " --prefix " .. q(prefix) .. " >" .. log .. " 2>&1")
    assert(code == 0, "cmake --install failed: " .. tostring(h.read_file(log)))
  end)

  lazy_teardown(function()
    if sandbox_pid then h.sh("kill " .. sandbox_pid .. " 2>/dev/null") end
    h.cleanup()
  end)

  it("puts every part in its usual place under the prefix", function()
    for _, rel in ipairs({
      "bin/astro",
      "share/astro/sandbox/sandbox.py", "share/astro/sandbox/sandbox_teams.py",
      "share/astro/sandbox/sandbox_tokens.py", "share/astro/sandbox/sandbox_roles.py",
      "share/astro/sandbox/sandbox_audit_logs.py", "share/astro/sandbox/seed/demo.json",
      "share/doc/astro/README.md", "share/doc/astro/docs/automation.md", "share/doc/astro/docs/sandbox.md",
      "share/doc/astro/examples/role_audit.lua", "share/doc/astro/examples/plugins/offboard.lua",
      "share/doc/astro/examples/plugins/offboard_spec.lua",
      "share/bash-completion/completions/astro", "share/zsh/site-functions/_astro",
      "share/fish/vendor_completions.d/astro.fish",
    }) do
      assert.is_truthy(h.read_file(prefix .. "/" .. rel), rel)
    end
    assert.are.equal(0, h.sh("test -x " .. q(prefix .. "/bin/astro")))
    -- the sandbox's self-tests stay in the source tree
    assert.is_nil(h.read_file(prefix .. "/share/astro/sandbox/test_sandbox.py"))
    -- the completion scripts are the binary's own
    for shell, rel in pairs({ bash = "bash-completion/completions/astro", zsh = "zsh/site-functions/_astro",
                              fish = "fish/vendor_completions.d/astro.fish" }) do
      assert.are.equal(h.run({ "completion", shell }).stdout, h.read_file(prefix .. "/share/" .. rel), shell)
    end
  end)

  it("runs the installed binary outside the source tree", function()
    local r = run(q(prefix .. "/bin/astro") .. " version", cwd, home)
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("astro", r.stdout)
    r = run(q(prefix .. "/bin/astro") .. " --lua /dev/stdin <<'EOF'\nprint(require('astro').sandbox_path())\nEOF", cwd, home)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(prefix .. "/share/astro/sandbox/sandbox.py\n", r.stdout)
    -- the build's binary has no sandbox installed beside it
    r = run(q(h.astro) .. " --lua /dev/stdin <<'EOF'\nprint(require('astro').sandbox_path())\nEOF", cwd, home)
    assert.are.equal("nil\n", r.stdout)
  end)

  it("runs the installed sandbox, the binary and an example against it", function()
    local port_file = cwd .. "/port"
    local r = run(q(h.python) .. " " .. q(prefix .. "/share/astro/sandbox/sandbox.py") ..
      " --port 0 --port-file " .. q(port_file) .. " --write-config " .. q(home) ..
      " >" .. q(cwd .. "/sandbox.log") .. " 2>&1 & echo $!", cwd, home)
    sandbox_pid = r.stdout:match("%d+")
    local sys = require("astro.core.sys")
    local deadline = sys.now() + 15
    while not (h.read_file(port_file) or ""):match("^%d+") and sys.now() < deadline do sys.sleep(0.05) end
    assert.matches("^%d+", h.read_file(port_file) or "", "sandbox: " .. tostring(h.read_file(cwd .. "/sandbox.log")))
    local astro = q(prefix .. "/bin/astro")
    r = run(astro .. " organization user list", cwd, home)
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("jane%.doe@acme%.io", r.stdout)
    -- an extension of the sandbox, imported from its own folder
    r = run(astro .. " organization team list", cwd, home)
    assert.are.equal(0, r.code, r.stderr)
    r = run(astro .. " run " .. q(prefix .. "/share/doc/astro/examples/role_audit.lua"), cwd, home)
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("ORGANIZATION_OWNER %(1%)\n", r.stdout)
  end)

  it("completes with the installed bash completion", function()
    local script = "PATH=" .. q(prefix .. "/bin") .. ":/usr/bin:/bin; " ..
      ". " .. q(prefix .. "/share/bash-completion/completions/astro") .. "; " ..
      "COMP_WORDS=(astro org us inv --ro); COMP_CWORD=4; COMP_LINE='astro org us inv --ro'; " ..
      'COMP_POINT=${#COMP_LINE}; _astro; printf "%s\\n" "${COMPREPLY[@]}"'
    local r = run("bash --norc --noprofile -c " .. q(script), cwd, h.tmpdir())
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("--role\n", r.stdout)
  end)

  it("runs the installed plugin spec, in place and copied next to a plugin, with the installed sandbox", function()
    local examples = prefix .. "/share/doc/astro/examples/plugins"
    local mine = h.tmpdir()
    h.sh("cp " .. q(examples .. "/offboard.lua") .. " " .. q(examples .. "/offboard_spec.lua") .. " " .. q(mine))
    for _, spec in ipairs({ examples .. "/offboard_spec.lua", mine .. "/offboard_spec.lua" }) do
      local r = run(q(prefix .. "/bin/astro") .. " --lua /usr/bin/busted -o TAP " .. q(spec), cwd, h.tmpdir())
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("\nok 6 [^\n]*\n1%.%.6", r.stdout)
      assert.is_nil(r.stdout:find("not ok", 1, true))
    end
  end)
end)
