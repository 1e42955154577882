-- `astro run FILE [ARGS]`: one-off Lua automations with the public API.
local h = require("spec.helpers")

local ACME = h.ids.ACME

describe("astro run", function()
  local box = h.use_sandbox({ flags = { "--users", "2500" } })

  -- Writes a script into the spec's folder and returns its path.
  local script = box.file
  local run = box.command({ "run" })

  it("passes the file as arg[0], the arguments after it as arg[1..] and as ...", function()
    local path = script("args.lua", [[
print("arg[0]=" .. arg[0], "n=" .. #arg)
for i = 1, #arg do print(i, arg[i]) end
print("varargs", select("#", ...), ...)
]])
    local r = run({ path, "one", "two words", "" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("arg[0]=" .. path .. "\tn=3\n1\tone\n2\ttwo words\n3\t\nvarargs\t3\tone\ttwo words\t\n", r.stdout)
    assert.are.equal("", r.stderr)
  end)

  -- Regression: `astro run FILE ... --dry-run` (the flag after FILE, as people type it with
  -- cobra, gh or kubectl) ran for real: the flag went to the script.
  it("gives flags after FILE to the script, but takes --dry-run anywhere before a --", function()
    local path = script("flags.lua", [[
print(table.concat(arg, " "))
print("dry run: " .. tostring(astro.dry_run()))
]])
    local r = run({ path, "--apply", "-x", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("--apply -x\ndry run: true\n", r.stdout)
    r = run({ path, "--dry-run=true", "--apply" })
    assert.are.equal("--apply\ndry run: true\n", r.stdout)
    r = run({ path, "--dry-run=false", "--apply" })
    assert.are.equal("--apply\ndry run: false\n", r.stdout)
    r = run({ path, "--apply", "--", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("--apply -- --dry-run\ndry run: false\n", r.stdout)
    r = run({ path, "--dry-run=maybe" })
    assert.are.equal(2, r.code)
    assert.matches('^Error: invalid argument "maybe" for "%-%-dry%-run" flag', r.stderr)
    assert.are.equal("", r.stdout)
    r = run({ "--dry-run", path, "--apply" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("--apply\ndry run: true\n", r.stdout)
  end)

  it("exits with the integer the script returns", function()
    local path = script("exit.lua", "print('before exit')\nreturn tonumber(arg[1])\n")
    local r = run({ path, "7" })
    assert.are.equal(7, r.code)
    assert.are.equal("before exit\n", r.stdout)
    assert.are.equal("", r.stderr)
    assert.are.equal(0, run({ path, "0" }).code)
    assert.are.equal(0, run({ script("none.lua", "local x = 1\n") }).code)
    assert.are.equal(1, run({ script("false.lua", "return false\n") }).code)
  end)

  it("reports an error as Error: FILE:LINE: message with exit 1", function()
    local path = script("fail.lua", "local x = 1\n\nerror('the sky is falling')\n")
    local r = run({ path })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: " .. path .. ":3: the sky is falling\n", r.stderr)
    assert.is_nil(r.stderr:find("traceback", 1, true))
  end)

  it("adds the traceback only with ASTRO_DEBUG=1", function()
    local path = script("deep.lua", "local function inner() error('deep trouble') end\ninner()\n")
    local r = run({ path }, { env = { ASTRO_DEBUG = "1" } })
    assert.are.equal(1, r.code)
    assert.matches("^Error: " .. path:gsub("%p", "%%%0") .. ":1: deep trouble\nstack traceback:\n", r.stderr)
    assert.matches("deep%.lua:2:", r.stderr)
  end)

  it("explains a missing file", function()
    local r = run({ box.dir .. "/nope.lua" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: " .. box.dir .. "/nope.lua: No such file or directory\n", r.stderr)
  end)

  it("runs a script read from a pipe as /dev/stdin, as it runs the same file by name", function()
    local src = 'print("hi")\nreturn 3\n'
    local r = run({ script("hi.lua", src) })
    assert.are.equal(3, r.code, r.stderr)
    assert.are.equal("hi\n", r.stdout)
    r = run({ "/dev/stdin" }, { stdin = src, pipe = true })
    assert.are.equal(3, r.code, r.stderr)
    assert.are.equal("hi\n", r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("runs a script from a FIFO, with errors naming it and its line", function()
    local fifo = box.dir .. "/fifo.lua"
    assert.are.equal(0, h.sh("rm -f " .. fifo .. " && mkfifo " .. fifo))
    -- The writer gives up after a while should astro never open the FIFO.
    h.write_file(box.dir .. "/fifo-src", '#!/usr/bin/env astro\nprint("hi", ...)\nerror("late")\n')
    h.sh("(timeout 20 sh -c 'cat " .. box.dir .. "/fifo-src > " .. fifo .. "' &)")
    local r = run({ fifo, "x" })
    assert.are.equal(1, r.code)
    assert.are.equal("hi\tx\n", r.stdout)
    assert.are.equal("Error: " .. fifo .. ":3: late\n", r.stderr)
  end)

  it("reads the script from standard input with -, named stdin in messages", function()
    local r = run({ "-", "one", "--two" }, { stdin = 'print(arg[0], ...)\nreturn 4\n' })
    assert.are.equal(4, r.code, r.stderr)
    assert.are.equal("-\tone\t--two\n", r.stdout)
    r = run({ "-" }, { stdin = "local x = 1\nerror('boom')\n", pipe = true })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: stdin:2: boom\n", r.stderr)
    r = run({ "-" }, { stdin = "print('a')\nlocal = 3\n" })
    assert.are.equal(1, r.code)
    assert.matches("^Error: stdin:2: ", r.stderr)
    assert.are.equal("", r.stdout)
    r = run({ "-" }, { stdin = "count = 1\n" })
    assert.are.equal("Error: stdin:1: assignment to undeclared global 'count' (in stdin; declare it with local)\n",
      r.stderr)
  end)

  it("refuses bytecode from a pipe or standard input", function()
    local bytecode = string.dump(function() return 1 end)
    local r = run({ "-" }, { stdin = bytecode, pipe = true })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: stdin: precompiled Lua (bytecode) is refused; use the source file\n", r.stderr)
    r = run({ "/dev/stdin" }, { stdin = bytecode, pipe = true })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: /dev/stdin: precompiled Lua (bytecode) is refused; use the source file\n", r.stderr)
  end)

  it("runs nothing for an empty script, but fails on one it cannot read", function()
    local empties = { run({ script("empty.lua", "") }), run({ "-" }), run({ "/dev/stdin" }, { stdin = "", pipe = true }) }
    for _, r in ipairs(empties) do
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal("", r.stderr)
    end
    local r = run({ box.dir })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: cannot read " .. box.dir .. ": Is a directory\n", r.stderr)
    local out = box.dir .. "/closed.out"
    local code = h.sh("HOME=" .. box.home .. " ASTRO_HOME=" .. box.home .. " " .. h.shell_quote(h.astro) ..
      " run - <&- >" .. out .. " 2>&1")
    assert.are.equal(1, code)
    assert.are.equal("Error: cannot read stdin: Bad file descriptor\n", h.read_file(out))
  end)

  it("refuses to run without a file, with a line naming its help and exit 2", function()
    local r = run({})
    assert.are.equal(2, r.code)
    assert.are.equal("Error: astro run needs a Lua file: astro run FILE [ARGS]\nRun 'astro run --help' for usage.\n",
      r.stderr)
    assert.are.equal("", r.stdout)
  end)

  it("shows astro's flags before FILE in its usage, since flags after FILE go to the script", function()
    local r = run({ "--help" })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find("\nUsage:\n  astro run [flags] FILE [args]\n", 1, true), r.stdout)
    assert.is_nil(r.stdout:find("[args] [flags]", 1, true))
    -- A command without passthrough keeps its flags last.
    r = box.run({ "organization", "user", "invite", "--help" })
    assert.truthy(r.stdout:find("\nUsage:\n  astro organization user invite [email] [flags]\n", 1, true), r.stdout)
  end)

  it("reports a syntax error with file and line", function()
    local path = script("syntax.lua", "print('a')\nlocal = 3\n")
    local r = run({ path })
    assert.are.equal(1, r.code)
    assert.matches("^Error: " .. path:gsub("%p", "%%%0") .. ":2: ", r.stderr)
    assert.are.equal("", r.stdout)
  end)

  it("gives the script the public API as the global astro and as require('astro')", function()
    local path = script("api.lua", [[
assert(astro == require("astro"))
local org = assert(astro.organizations.current())
local raj = assert(astro.users.find("RAJ.PATEL@acme.io"))
print(org.name, raj.id, astro.roles.DEFAULT)
]])
    local r = run({ path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Acme Data Platform\tclrraj0000002019nj9w0ji6b\tORGANIZATION_MEMBER\n", r.stdout)
  end)

  it("refuses undeclared globals in a script, naming them", function()
    local path = script("global.lua", "count = 0\n")
    local r = run({ path })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: " .. path .. ":1: assignment to undeclared global 'count' (in " .. path ..
      "; declare it with local)\n", r.stderr)
  end)

  it("pages every user with astro.users.each and astro.paginate, one page at a time", function()
    local path = script("page.lua", [[
local n, last = 0, nil
for u, err in astro.users.each() do
  if not u then error(err) end
  n, last = n + 1, u.username
end
print("each", n, last)
local m = 0
for u, err in astro.paginate("/organizations/{org}/users", "users", { page_size = 1000 }) do
  if not u then error(err) end
  m = m + 1
end
print("paginate", m)
]])
    local r = run({ path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("each\t2503\tuser02500@example.com\npaginate\t2503\n", r.stdout)
    local queries = {}
    for _, req in ipairs(box.sb:requests()) do
      assert.are.equal("GET", req.method)
      assert.are.equal("/v1/organizations/" .. ACME .. "/users", req.path)
      queries[#queries + 1] = req.query
    end
    local pages = { "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }
    assert.are.same({ pages[1], pages[2], pages[3], pages[1], pages[2], pages[3] }, queries)
  end)

  it("lets astro.paginate report a failed page as false, err once", function()
    local path = script("pagefail.lua", [[
local seen = 0
for u, err in astro.paginate("/organizations/nope/users", "users") do
  seen = seen + 1
  if not u then print(tostring(u), err.message, err.status) end
end
print("items", seen)
]])
    local r = run({ path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("false\tOrganization not found\t404\nitems\t1\n", r.stdout)
  end)

  it("prints Error and exits 1 when the script returns nil, err or an astro error", function()
    local path = script("fail.lua", 'return nil, astro.errors.new("nothing to do")')
    local r = run({ path })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: nothing to do\n", r.stderr)
    path = script("fail2.lua", 'return astro.errors.new("still nothing")')
    r = run({ path })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: still nothing\n", r.stderr)
  end)
end)
