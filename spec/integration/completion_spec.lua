-- Shell completion as a user meets it: `astro completion bash` sourced into bash itself, its
-- completion function run on a command line as bash runs it at a Tab (COMP_WORDS, COMP_CWORD,
-- COMP_LINE, COMP_POINT), and the candidates it leaves in COMPREPLY. zsh and fish: their scripts
-- are made and parse (and fish's complete on a line), where those shells are installed.
local h = require("spec.helpers")
local q = h.shell_quote

local BIN_DIR = h.astro:match("^(.*)/[^/]*$") or "."

-- Tells whether a program is installed.
local function have(program)
  return h.sh("command -v " .. program .. " >/dev/null 2>&1") == 0
end

-- Runs `script` in bash with astro on PATH, from the folder cwd (default: a fresh one), with
-- HOME and ASTRO_HOME set to home (default: a fresh empty one). Returns { code, stdout, stderr }.
local function bash(script, opts)
  opts = opts or {}
  local dir = h.tmpdir()
  local home = opts.home or h.tmpdir()
  local cmd = table.concat({
    "cd " .. q(opts.cwd or h.tmpdir()) .. " &&",
    "env -u ASTRO_API_TOKEN -u ASTRO_DOMAIN -u ASTRO_DEBUG -u ASTRO_LUA_DIR",
    "HOME=" .. q(home), "ASTRO_HOME=" .. q(home),
    "PATH=" .. q(BIN_DIR .. (opts.path_after and (":" .. opts.path_after) or "") .. ":/usr/bin:/bin"),
    "bash --norc --noprofile -c " .. q(script),
    ">" .. dir .. "/stdout 2>" .. dir .. "/stderr </dev/null",
  }, " ")
  local code = h.sh(cmd)
  return { code = code, stdout = h.read_file(dir .. "/stdout"), stderr = h.read_file(dir .. "/stderr") }
end

-- The candidates bash's completion function gives for the command line `line` (the cursor at
-- its end), split into words as bash splits them (at blanks, and around "="; a trailing
-- blank starts a new, empty word). Returns the list of COMPREPLY, and the run.
local function complete(line, opts)
  local words = {}
  for w in line:gsub("=", " = "):gmatch("%S+") do words[#words + 1] = w end
  if line:match("%s$") then words[#words + 1] = "" end
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = q(w) == w and w or q(w) end
  for i, w in ipairs(words) do if w == "" then quoted[i] = "''" end end
  local script = table.concat({
    "source <(astro completion bash) || exit 9",
    "COMP_WORDS=(" .. table.concat(quoted, " ") .. ")",
    "COMP_CWORD=" .. (#words - 1),
    "COMP_LINE=" .. q(line),
    "COMP_POINT=${#COMP_LINE}",
    "_astro || exit 8",
    'for c in "${COMPREPLY[@]}"; do printf "%s\\n" "$c"; done',
  }, "\n")
  local r = bash(script, opts)
  assert.are.equal(0, r.code, r.stderr)
  assert.are.equal("", r.stderr)
  local list = {}
  for l in r.stdout:gmatch("[^\n]+") do list[#list + 1] = l end
  return list, r
end

-- A sorted copy.
local function sorted(t)
  local c = { table.unpack(t) }
  table.sort(c)
  return c
end

-- Tells whether list holds v.
local function has(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

describe("shell completion", function()
  lazy_teardown(function() h.cleanup() end)

  it("completes the top-level commands, help and completion included, and a prefix", function()
    assert.are.same({ "api", "completion", "help", "organization", "plugin", "run", "version" }, sorted(complete("astro ")))
    assert.are.same({ "organization" }, complete("astro or"))
    assert.are.same({ "version" }, complete("astro v"))
    assert.are.same({}, complete("astro zz"))
  end)

  it("completes nested commands, walking names and aliases", function()
    assert.are.same({ "invite", "list", "update" }, sorted(complete("astro organization user ")))
    assert.are.same({ "invite", "list", "update" }, sorted(complete("astro org us ")))
    assert.are.same({ "user" }, complete("astro org us"))
    assert.are.same({ "add", "list", "remove" }, sorted(complete("astro org te users ")))
    assert.are.same({ "team", "token" }, sorted(complete("astro organization t")))
    assert.are.same({ "ls" }, complete("astro plugins ls"))
    -- an alias is offered when no name fits what was typed
    assert.are.same({ "al" }, complete("astro organization al"))
    -- help [command...] and completion SHELL
    assert.are.same({ "organization" }, complete("astro help org"))
    assert.are.same({ "audit-logs", "list", "role", "switch", "team", "token", "user" },
      sorted(complete("astro help organization ")))
    assert.are.same({}, complete("astro help organization --"))
    assert.are.same({ "bash", "fish", "zsh" }, sorted(complete("astro completion ")))
  end)

  it("completes the long and short flags of the command, the global ones and --help", function()
    local list = complete("astro organization user invite --")
    for _, f in ipairs({ "--role", "--file", "--strict", "--json", "--report", "--rate-limit", "--dry-run",
                         "--verbosity", "--help" }) do
      assert.is_true(has(list, f), f)
    end
    assert.is_false(has(list, "--output"))
    assert.are.same({ "--role" }, complete("astro organization user invite --ro"))
    assert.are.same({ "-f", "-h", "-r" }, sorted((function()
      local s = {}
      for _, c in ipairs(complete("astro organization user invite -")) do
        if not c:match("^%-%-") then s[#s + 1] = c end
      end
      return s
    end)()))
    -- a flag already given is not offered again
    assert.is_false(has(complete("astro organization user invite --role ORGANIZATION_OWNER --"), "--role"))
    assert.are.same({ "--output" }, complete("astro organization list --ou"))
  end)

  it("completes the values of --role and -r for users, teams and tokens", function()
    local roles = { "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_MEMBER", "ORGANIZATION_OWNER" }
    assert.are.same(roles, sorted(complete("astro organization user invite --role ")))
    assert.are.same(roles, sorted(complete("astro organization user update -r ")))
    assert.are.same(roles, sorted(complete("astro organization team create --role ")))
    assert.are.same(roles, sorted(complete("astro organization token create -r ")))
    assert.are.same({ "ORGANIZATION_BILLING_ADMIN" }, complete("astro org us inv -r ORGANIZATION_B"))
    -- --role=VALUE: bash splits the word at "="; the candidate replaces only the part after it
    assert.are.same({ "ORGANIZATION_OWNER" }, complete("astro organization user invite --role=ORGANIZATION_O"))
    assert.are.same({ "=ORGANIZATION_BILLING_ADMIN", "=ORGANIZATION_MEMBER", "=ORGANIZATION_OWNER" },
      sorted(complete("astro organization user invite --role=")))
  end)

  it("completes the values of -o/--output and --verbosity", function()
    assert.are.same({ "csv", "json", "table" }, sorted(complete("astro organization list -o ")))
    assert.are.same({ "json" }, complete("astro organization user list --output j"))
    assert.are.same({ "csv" }, complete("astro organization token list --output=c"))
    assert.are.same({ "debug" }, complete("astro --verbosity d"))
    assert.are.same({ "organization" }, complete("astro --verbosity debug or"))
  end)

  it("completes astro api: its flags, repeatable ones again, -X methods and the --input file", function()
    local cwd = h.tmpdir()
    h.write_file(cwd .. "/body.json", "{}")
    local flags = complete("astro api -f a=1 -")
    for _, f in ipairs({ "-f", "-F", "-H", "-X", "-q", "--jq", "--paginate", "--slurp", "--input", "--organization" }) do
      assert.is_true(has(flags, f), f)
    end
    assert.are.same({ "DELETE" }, complete("astro api -X D"))
    assert.are.same({ "PATCH", "POST", "PUT" }, sorted(complete("astro api --method P")))
    assert.are.same({ "body.json" }, complete("astro api x --input bo", { cwd = cwd }))
  end)

  it("hands the completion of the astro CLI's commands to that CLI's own __complete", function()
    local cli = h.tmpdir()
    h.write_file(cli .. "/astro", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/argv\"\n" ..
      "printf 'dev\\tRun a local Airflow\\ndeploy\\tDeploy a project\\n:4\\n'\n")
    h.sh("chmod 755 " .. q(cli .. "/astro"))
    -- the first word: this tool's commands, and the astro CLI's by name (that CLI is not run)
    assert.are.same({ "deploy", "deployment", "dev" }, sorted(complete("astro de", { path_after = cli })))
    assert.is_nil(io.open(cli .. "/argv"))
    local top = complete("astro ", { path_after = cli })
    for _, w in ipairs({ "login", "workspace", "organization", "api", "run" }) do assert.is_true(has(top, w), w) end
    -- after a command word of the astro CLI: that CLI's own __complete answers
    assert.are.same({ "deploy", "dev" }, sorted(complete("astro --verbosity debug workspace list ", { path_after = cli })))
    assert.are.equal("__complete\n--verbosity\ndebug\nworkspace\nlist\n\n", h.read_file(cli .. "/argv"))
    -- this tool's own commands stay its own; without an astro CLI the astro CLI's words get nothing
    assert.are.same({ "organization" }, complete("astro or", { path_after = cli }))
    assert.are.same({}, complete("astro de"))
    assert.are.same({}, complete("astro workspace "))
  end)

  it("completes file names for --file, --report, audit-logs export -o and astro run FILE", function()
    local cwd = h.tmpdir()
    h.write_file(cwd .. "/people.csv", "email,role\n")
    h.write_file(cwd .. "/report-old.csv", "")
    h.write_file(cwd .. "/sync.lua", "")
    h.sh("mkdir " .. q(cwd .. "/scripts"))
    local o = { cwd = cwd }
    assert.are.same({ "people.csv" }, complete("astro organization user invite --file pe", o))
    assert.are.same({ "people.csv" }, complete("astro organization user update -f pe", o))
    assert.are.same({ "people.csv" }, complete("astro organization user invite --file=pe", o))
    assert.are.same({ "report-old.csv" }, complete("astro organization user invite --file x.csv --report re", o))
    assert.are.same({ "people.csv" }, complete("astro organization audit-logs export -o pe", o))
    assert.are.same({ "scripts", "sync.lua" }, sorted(complete("astro run s", o)))
    assert.are.same({ "sync.lua" }, complete("astro run --dry-run sy", o))
    -- the script's own arguments: file names too
    assert.are.same({ "people.csv" }, complete("astro run sync.lua pe", o))
    -- no file names where none is expected
    assert.are.same({}, complete("astro organization user invite pe", o))
    assert.are.same({}, complete("astro organization team create --name pe", o))
  end)

  it("completes a plugin's command and flags, and says nothing of a plugin that does not load", function()
    local home = h.tmpdir()
    h.install_plugin(home, "offboard.lua", assert(h.read_file(h.root .. "/examples/plugins/offboard.lua")))
    h.install_plugin(home, "broken.lua", "return 42\n")
    local o = { home = home }
    assert.are.same({ "invite", "list", "offboard", "update" }, sorted(complete("astro organization user ", o)))
    assert.are.same({ "offboard" }, complete("astro org us of", o))
    assert.are.same({ "--reason" }, complete("astro organization user offboard --rea", o))
    assert.are.same({ "--quiet" }, complete("astro organization user off --q", o))
    -- the hidden command itself: candidates on stdout, nothing on stderr
    local r = h.run({ "__complete", "organization", "user", "off" }, { home = home })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.stderr)
    assert.are.equal("offboard\tDemote a user to ORGANIZATION_MEMBER before they leave\n:4\n", r.stdout)
    -- a plugin's text cannot drive the terminal from a description, nor a name be offered that
    -- cannot be typed as it shows
    h.install_plugin(home, "shout.lua", 'return { { command = "organization user shout", short = "Loud\\27[31m red\\ntext",' ..
      ' run = function() end }, { command = "organization user sh\\27[2Jx", run = function() end } }\n')
    r = h.run({ "__complete", "organization", "user", "sh" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("shout\tLoud [31m red text\n:4\n", r.stdout)
    -- other commands still say why the plugin was not loaded
    assert.matches("plugin not loaded", h.run({ "version" }, { home = home }).stderr)
  end)

  it("sends no request and writes nothing, with a config or without one", function()
    local sb = h.sandbox()
    local ok, err = pcall(function()
      local home = sb:home()
      local config = home .. "/.astro/config.yaml"
      local before = h.read_file(config)
      local stat = h.capture("stat -c %Y.%i " .. q(config))
      assert.are.same({ "invite", "list", "update" }, sorted(complete("astro organization user ", { home = home })))
      assert.are.same({ "switch" }, complete("astro organization sw", { home = home }))
      complete("astro organization switch ", { home = home })
      complete("astro organization user invite --role ", { home = home })
      assert.are.same({}, sb:requests())
      assert.are.equal(before, h.read_file(config))
      assert.are.equal(stat, h.capture("stat -c %Y.%i " .. q(config)))
    end)
    sb:stop()
    assert(ok, err)
    local empty = h.tmpdir()
    assert.are.same({ "organization" }, complete("astro or", { home = empty }))
    assert.are.equal("", h.capture("ls -A " .. q(empty)))
  end)

  it("is hidden from help, and listed as completion at the top, as cobra lists it", function()
    local r = h.run({ "--help" })
    assert.matches("\n  completion +Generate the autocompletion script for the specified shell\n", r.stdout)
    assert.is_nil(r.stdout:find("__complete", 1, true))
  end)

  it("explains how to load each script, and refuses a missing or unknown shell", function()
    local r = h.run({ "completion", "--help" })
    assert.are.equal(0, r.code)
    assert.matches("\n  bash +Generate the autocompletion script for bash\n", r.stdout)
    assert.matches("\n  fish +", r.stdout)
    assert.matches("\n  zsh +", r.stdout)
    assert.matches("source <(astro completion bash)", h.run({ "completion", "bash", "--help" }).stdout, 1, true)
    assert.matches("source <(astro completion zsh)", h.run({ "help", "completion", "zsh" }).stdout, 1, true)
    assert.matches("astro completion fish | source", h.run({ "completion", "fish", "-h" }).stdout, 1, true)
    r = h.run({ "completion" })
    assert.are.equal(2, r.code)
    assert.matches("^Error: astro completion needs a shell: bash, fish or zsh\n", r.stderr)
    assert.are.equal("", r.stdout)
    r = h.run({ "completion", "powershell" })
    assert.are.equal(2, r.code)
    assert.matches('^Error: unknown shell "powershell" for "astro completion": use bash, fish or zsh\n', r.stderr)
    assert.are.equal("", r.stdout)
  end)

  it("prints scripts that parse, for bash, zsh and fish", function()
    local dir = h.tmpdir()
    for _, shell in ipairs({ "bash", "zsh", "fish" }) do
      local r = h.run({ "completion", shell })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.stderr)
      assert.matches("__complete", r.stdout)
      local path = dir .. "/astro." .. shell
      h.write_file(path, r.stdout)
      if have(shell) then
        assert.are.equal(0, h.sh(shell .. " -n " .. q(path) .. " 2>" .. q(dir .. "/err")),
          shell .. ": " .. tostring(h.read_file(dir .. "/err")))
      end
    end
    local zsh = h.read_file(dir .. "/astro.zsh")
    assert.matches("^#compdef astro\n", zsh)
    assert.matches("\ncompdef _astro astro\n", zsh)
    assert.matches("complete %-c astro %-f %-a '%(__astro_complete%)'", h.read_file(dir .. "/astro.fish"))
  end)

  it("completes in zsh too, loaded from fpath or sourced, when zsh is installed", function()
    if not have("zsh") then
      pending("zsh is not installed")
      return
    end
    -- Types a line and a Tab into an interactive zsh (zpty), then a key bound to a widget that
    -- writes the edited line to a file: keys are handled in order, so the file holds the line
    -- as the completion left it.
    local dir = h.tmpdir()
    h.write_file(dir .. "/drive.zsh", [==[
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "$1; dump() { print -r -- \"\$BUFFER\" > ${(q)2}; }; zle -N dump; bindkey '^T' dump"
zpty -w -n z "$3"$'\t\x14'
for i in {1..150}; do [[ -s $2 ]] && break; sleep 0.1; done
zpty -d z
]==])
    local fpath = dir .. "/site-functions"
    h.sh("mkdir " .. q(fpath))
    h.write_file(fpath .. "/_astro", h.run({ "completion", "zsh" }).stdout)
    local setups = {
      ["fpath=(" .. fpath .. " $fpath); autoload -U compinit; compinit -u -D"] = {
        ["astro org us"] = "astro org user ",
        ["astro organization user invite --role=ORGANIZATION_O"] = "astro organization user invite --role=ORGANIZATION_OWNER ",
        ["astro organization user list -o j"] = "astro organization user list -o json ",
      },
      ["autoload -U compinit; compinit -u -D; source <(astro completion zsh)"] = {
        ["astro organization team user r"] = "astro organization team user remove ",
      },
    }
    for setup, lines in pairs(setups) do
      for line, want in pairs(lines) do
        local out = dir .. "/line"
        os.remove(out)
        local r = bash("zsh -f " .. q(dir .. "/drive.zsh") .. " " .. q(setup) .. " " .. q(out) .. " " .. q(line))
        assert.are.equal(0, r.code, r.stderr)
        assert.are.equal(want .. "\n", h.read_file(out), setup .. ": " .. line)
      end
    end
  end)

  it("completes in fish too, when fish is installed", function()
    if not have("fish") then
      pending("fish is not installed")
      return
    end
    local home = h.tmpdir()
    local script = "astro completion fish | source; complete -C 'astro org us '; " ..
                   "complete -C 'astro organization user invite --role=ORGANIZATION_O'"
    local r = bash("fish --no-config -c " .. q(script), { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^invite\t[^\n]*\nlist\t[^\n]*\nupdate\t[^\n]*\n%-%-role=ORGANIZATION_OWNER\n$", r.stdout)
  end)
end)
