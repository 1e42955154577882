-- `astro api`: any API v1 request of the current context against the sandbox: placeholders,
-- -f/-F fields (typed, nested), --input, -H, -i, --silent, --paginate (with and without
-- --slurp, against servers that page otherwise than asked), --jq, the API's errors, usage
-- errors that send nothing, --dry-run, and no credential in any output.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME = h.ids.ACME
local ORG = "/v1/organizations/" .. ACME
local USERS = ORG .. "/users"
local TEAMS = ORG .. "/teams"
local DATA_ENG = "clmteamde00101f1sxbrxz86t"

local function decode(text)
  local v, err = json.decode(text)
  assert(v ~= nil, "not JSON: " .. tostring(err) .. "\n" .. tostring(text))
  return v
end

-- The recorded request's header (names as sent, any case).
local function header(req, name)
  for k, v in pairs(req.headers) do
    if k:lower() == name:lower() then return v end
  end
end

local function ok(r)
  assert.are.equal(0, r.code, "stdout:\n" .. tostring(r.stdout) .. "\nstderr:\n" .. tostring(r.stderr))
end

describe("astro api", function()
  local box = h.use_sandbox({ flags = { "--users", "300" } })
  local api = box.command({ "api" })
  local usernames

  lazy_setup(function()
    usernames = {}
    for i, u in ipairs(box.sb:state().users[ACME]) do usernames[i] = u.username end
  end)

  describe("GET", function()
    it("fills {organizationId} and prints the answer as it came", function()
      local r = api({ "/organizations/{organizationId}" })
      ok(r)
      assert.are.equal(ACME, decode(r.stdout).id)
      local reqs = box.sb:requests()
      assert.are.equal(1, #reqs)
      assert.are.equal("GET", reqs[1].method)
      assert.are.equal(ORG, reqs[1].path)
      assert.are.equal("Bearer test-token", header(reqs[1], "Authorization"))
      assert.are.equal("", reqs[1].body)
    end)

    it("fills {organizationId} with the organization --organization or ASTRO_ORGANIZATION names", function()
      local globex = h.ids.GLOBEX
      local r = api({ "--organization", "Globex", "/organizations/{organizationId}" })
      ok(r)
      assert.are.equal(globex, decode(r.stdout).id)
      assert.are.same({ "GET /v1/organizations", "GET /v1/organizations/" .. globex }, h.trace(box.sb:requests()))
      r = api({ "organizations/{organizationId}/users", "--jq", ".totalCount" }, { env = { ASTRO_ORGANIZATION = globex } })
      ok(r)
      local trace = h.trace(box.sb:requests())
      assert.are.equal("GET /v1/organizations/" .. globex .. "/users", trace[#trace]:gsub("%?.*", ""))
    end)

    it("takes the path with or without its leading /, or as a URL under the API base", function()
      ok(api({ "organizations/{organizationId}/workspaces" }))
      ok(api({ box.sb.url .. "/v1/organizations/{organizationId}/workspaces" }))
      local paths = h.trace(box.sb:requests())
      assert.are.same({ "GET " .. ORG .. "/workspaces", "GET " .. ORG .. "/workspaces" }, paths)
    end)

    it("sends -f and -F fields of a GET, and a query in the path, as the query string", function()
      local r = api({ "-X", "GET", "organizations/{organizationId}/workspaces?sorts=name:desc", "-F", "limit=1",
        "-f", "offset=0" })
      ok(r)
      local page = decode(r.stdout)
      assert.are.equal("ML Ops", page.workspaces[1].name)
      assert.are.equal(1, #page.workspaces)
      local req = box.sb:requests()[1]
      assert.are.equal("GET", req.method)
      assert.are.equal("limit=1&offset=0&sorts=name%3Adesc", req.query)
    end)

    it("fills {workspaceId} from the context's workspace", function()
      local home = box.sb:home()
      local path = home .. "/.astro/config.yaml"
      h.write_file(path, (h.read_file(path):gsub('    workspace: ""', "    workspace: " .. h.ids.ANALYTICS)))
      local r = api({ "organizations/{organizationId}/workspaces/{workspaceId}" }, { home = home })
      ok(r)
      assert.are.equal("Analytics", decode(r.stdout).name)
      assert.are.same({ "GET " .. ORG .. "/workspaces/" .. h.ids.ANALYTICS }, h.trace(box.sb:requests()))
    end)

    it("says so when {workspaceId} is asked for and the context has no workspace, and sends nothing", function()
      local r = api({ "organizations/{organizationId}/workspaces/{workspaceId}" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: {workspaceId} needs a workspace, and the current context has none", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("filters with --jq, strings raw, one output a line", function()
      local r = api({ "organizations/{organizationId}/workspaces", "--jq", ".workspaces[] | .name, .cicdEnforcedDefault" })
      ok(r)
      assert.are.equal("Analytics\nfalse\nML Ops\ntrue\n", r.stdout)
    end)

    it("--silent prints no body; -i prints the status line and the headers first", function()
      local r = api({ "organizations/{organizationId}", "--silent" })
      ok(r)
      assert.are.equal("", r.stdout)
      r = api({ "organizations/{organizationId}", "-i" })
      ok(r)
      local head, body = r.stdout:match("^(.-)\n\n(.*)$")
      assert.matches("^HTTP 200 OK\n", head)
      assert.matches("\ncontent%-type: application/json\n", head .. "\n")
      assert.matches("\nx%-request%-id: ", head)
      assert.are.equal(ACME, decode(body).id)
      r = api({ "organizations/{organizationId}", "-i", "--silent" })
      ok(r)
      assert.matches("^HTTP 200 OK\n.*\n\n$", r.stdout)
    end)

    it("on a terminal, prints JSON indented and escapes what would drive the terminal", function()
      ok(api({ "organizations/{organizationId}/teams", "-f", "name=\27]0;pwned\7Red" }))
      local r = api({ "organizations/{organizationId}/teams", "--jq", ".teams[] | select(.name | test(\"Red\")) | .name" },
        { tty = true })
      ok(r)
      assert.are.equal("\\x1b]0;pwned\\x07Red\n", r.stdout)
      r = api({ "organizations/{organizationId}/teams", "--jq", ".teams[] | select(.name | test(\"Red\")) | .name" })
      assert.are.equal("\27]0;pwned\7Red\n", r.stdout, "to a pipe the data goes out unchanged")
      r = api({ "organizations/{organizationId}/workspaces/" .. h.ids.ANALYTICS }, { tty = true })
      ok(r)
      assert.matches('^{\n  "cicdEnforcedDefault": false,\n', r.stdout)
    end)
  end)

  describe("POST and DELETE", function()
    it("sends -f and -F as a JSON body, POST by default: types, files, nested keys and lists", function()
      local file = box.file("note.txt", "from a file\n")
      local r = api({ "/nothing/here",
        "-f", "name=Data", "-f", "count=3", "-F", "n=3", "-F", "x=-1.5", "-F", "yes=true", "-F", "no=false",
        "-F", "none=null", "-F", "text=hello", "-F", "note=@" .. file, "-F", "stdin=@-",
        "-F", "a[b][c]=1", "-f", "a[b][d]=two", "-F", "ids[]=1", "-f", "ids[]=two", "-F", "empty[]",
        "-F", "members[][id]=1", "-F", "members[][role]=r1", "-F", "members[][id]=2",
      }, { stdin = "piped" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: Not Found %(HTTP 404%)\n", r.stderr)
      local req = box.sb:requests()[1]
      assert.are.equal("POST", req.method)
      assert.are.equal("/v1/nothing/here", req.path)
      assert.are.equal("application/json", header(req, "Content-Type"))
      local body = decode(req.body)
      assert.are.equal("Data", body.name)
      assert.are.equal("3", body.count)
      assert.are.equal(3, body.n)
      assert.are.equal(-1.5, body.x)
      assert.are.equal(true, body.yes)
      assert.are.equal(false, body.no)
      assert.are.equal(json.null, body.none)
      assert.are.equal("hello", body.text)
      assert.are.equal("from a file\n", body.note)
      assert.are.equal("piped", body.stdin)
      assert.are.equal(1, body.a.b.c)
      assert.are.equal("two", body.a.b.d)
      -- As gh api: the -f fields are taken first, then the -F ones.
      assert.are.same({ "two", 1 }, { body.ids[1], body.ids[2] })
      assert.are.equal(0, #body.empty)
      assert.truthy(req.body:find('"empty":[]', 1, true), req.body)
      assert.are.equal(2, #body.members)
      assert.are.same({ 1, "r1" }, { body.members[1].id, body.members[1].role })
      assert.are.equal(2, body.members[2].id)
    end)

    it("creates a team with fields and prints the answer", function()
      local r = api({ "organizations/{organizationId}/teams", "-f", "name=Platform", "-f", "memberIds[]=" .. h.ids.RAJ })
      ok(r)
      local team = decode(r.stdout)
      assert.are.equal("Platform", team.name)
      local posts = h.recorded(box.sb, { method = "POST", path = TEAMS })
      assert.are.equal(1, #posts)
      assert.are.same({ name = "Platform", memberIds = { h.ids.RAJ } }, decode(posts[1].body))
      local names = {}
      for _, t in ipairs(box.sb:state().teams[ACME]) do names[t.name] = true end
      assert.is_true(names.Platform)
    end)

    it("--input - sends standard input as the body as it is, and fields then go in the query string", function()
      local raw = '{ "name" : "Raw team",\n  "description": "as typed" }'
      local r = api({ "organizations/{organizationId}/teams", "--input", "-", "-f", "dryRun=no" }, { stdin = raw, pipe = true })
      ok(r)
      local req = box.sb:requests()[1]
      assert.are.equal("POST", req.method)
      assert.are.equal(raw, req.body)
      assert.are.equal("dryRun=no", req.query)
      assert.are.equal("Raw team", decode(r.stdout).name)
    end)

    it("-X DELETE deletes, -H adds headers", function()
      local r = api({ "-X", "DELETE", "organizations/{organizationId}/teams/" .. DATA_ENG, "-H", "X-Trace: abc 1" })
      ok(r)
      assert.are.equal("", r.stdout)
      local req = box.sb:requests()[1]
      assert.are.equal("DELETE", req.method)
      assert.are.equal(TEAMS .. "/" .. DATA_ENG, req.path)
      assert.are.equal("abc 1", header(req, "X-Trace"))
      for _, t in ipairs(box.sb:state().teams[ACME]) do assert.are_not.equal(DATA_ENG, t.id) end
    end)

    it("prints the API's error body, then its message as an Error line, exit 1", function()
      local r = api({ "-X", "DELETE", "organizations/{organizationId}/teams/clmnope" })
      assert.are.equal(1, r.code)
      assert.are.equal("Team not found", decode(r.stdout).message)
      assert.are.equal("Error: Team not found (HTTP 404)\n", r.stderr)
      r = api({ "organizations/{organizationId}/teams", "-f", "name=" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: .+%(HTTP 400%)\n$", r.stderr)
      -- An answer without a body: its status.
      r = api({ "-X", "HEAD", "-i", "organizations/{organizationId}" })
      assert.are.equal(1, r.code)
      assert.matches("^HTTP 405 Method Not Allowed\n.*allow: GET\n", r.stdout)
      assert.are.equal("Error: the API answered 405 Method Not Allowed (HTTP 405)\n", r.stderr)
    end)

    it("--dry-run prints a POST or a DELETE on stderr (stdout is the answer's) and sends nothing; a GET is sent", function()
      local r = api({ "organizations/{organizationId}/teams", "-f", "name=Dry", "-F", "n=1", "--dry-run" })
      ok(r)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. '/teams {"n":1,"name":"Dry"}\n', r.stderr)
      assert.are.equal("", r.stdout)
      r = api({ "-X", "DELETE", "organizations/{organizationId}/teams/" .. DATA_ENG, "--dry-run" })
      ok(r)
      assert.are.equal("dry run: DELETE /organizations/" .. ACME .. "/teams/" .. DATA_ENG .. "\n", r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.same({}, h.writes(box.sb))
      r = api({ "organizations/{organizationId}", "--dry-run" })
      ok(r)
      assert.are.equal(ACME, decode(r.stdout).id)
      assert.are.same({ "GET " .. ORG }, h.trace(box.sb:requests()))
    end)

    it("goes through the retry policy: a GET answered 503 once is sent again", function()
      box.sb:faults({ fail_next = 1, fail_status = 503 })
      local r = api({ "organizations/{organizationId}" })
      ok(r)
      assert.are.equal(ACME, decode(r.stdout).id)
      assert.are.equal(2, #box.sb:requests())
    end)
  end)

  describe("refuses, sending nothing", function()
    local cases = {
      { { "-H", "Authorization: Bearer x", "/organizations" }, 2, "-H cannot set Authorization" },
      { { "-H", "aUtHoRiZaTiOn:x", "/organizations" }, 2, "-H cannot set Authorization" },
      { { "-H", "Host: evil.example", "/organizations" }, 2, "-H cannot set Host" },
      { { "-H", "no colon", "/organizations" }, 2, "a header is 'Name: value'" },
      { { "--jq", ".[", "/organizations" }, 2, "^Error: %-%-jq: jq: error" },
      { { "-X", "FETCH", "/organizations" }, 2, "not an HTTP method" },
      { { "-f", "novalue", "/organizations" }, 2, "a field is key=value" },
      { { "-F", "a[b=1", "/organizations" }, 2, "invalid field key" },
      { { "-F", "a=1", "-F", "a[b]=2", "/nothing" }, 2, "more than one kind of value" },
      { { "-F", "x=@-", "--input", "-", "/nothing" }, 2, "both read standard input" },
      { { "-F", "x=@/nonexistent/file", "/nothing" }, 1, "cannot read the file of field x" },
      { { "--slurp", "/organizations" }, 2, "%-%-slurp needs %-%-paginate" },
      { { "--rate-limit", "GET=fast", "/organizations" }, 2, 'invalid rate limit "GET=fast"' },
      { { "--paginate", "-X", "POST", "/organizations" }, 2, "pages of a GET only" },
      { { "/organizations/{org}" }, 2, "unknown placeholder {org}" },
      { { "http://127.0.0.2:1/v1/organizations" }, 1, "sends only to the API of the current context" },
      { { "organizations/../../private/v1alpha1/cli/auth-config" }, 1, '"%.%." segment' },
      { { "organizations/%2e%2E/x" }, 1, '"%.%." segment' },
      { {}, 2, "requires at least 1 arg" },
      { { "/a", "/b" }, 2, "accepts at most 1 arg" },
    }
    for _, c in ipairs(cases) do
      it(table.concat(c[1], " "), function()
        local r = api(c[1])
        assert.are.equal(c[2], r.code, r.stderr)
        assert.matches(c[3], r.stderr)
        assert.are.equal("", r.stdout)
        assert.are.same({}, box.sb:requests())
      end)
    end
  end)

  it("--jq without a usable libjq: the error names the library, exit 1, nothing sent", function()
    local lib = h.tmpdir()
    h.write_file(lib .. "/empty.c", "int astro_spec_empty_library;\n")
    assert.are.equal(0, h.sh("cc -shared -fPIC -o " .. h.shell_quote(lib .. "/libjq.so.1") .. " " ..
      h.shell_quote(lib .. "/empty.c")))
    local r = api({ "--jq", ".", "/organizations" }, { env = { LD_LIBRARY_PATH = lib } })
    assert.are.equal(1, r.code, r.stderr)
    assert.are.equal("Error: --jq: jq: libjq.so.1 lacks the function jq_init\n", r.stderr)
    assert.are.equal("", r.stdout)
    assert.are.same({}, box.sb:requests())
    -- without --jq the library is never opened
    ok(api({ "/organizations" }, { env = { LD_LIBRARY_PATH = lib } }))
  end)

  describe("--paginate", function()
    local function page_requests() return h.recorded(box.sb, { method = "GET", path = USERS }) end

    it("streams every page, largest page size first, each page's JSON on its own line", function()
      local r = api({ "--paginate", "organizations/{organizationId}/users" })
      ok(r)
      local got = {}
      for _, line in ipairs(h.lines(r.stdout)) do
        for _, u in ipairs(decode(line).users) do got[#got + 1] = u.username end
      end
      assert.are.same(usernames, got)
      local reqs = page_requests()
      assert.are.equal(1, #reqs)
      assert.are.equal("limit=1000&offset=0", reqs[1].query)
    end)

    it("pages smaller than asked: every user once, in order, one request per page, --jq per page", function()
      box.sb:faults({ max_page_size = 7 })
      local r = api({ "--paginate", "--jq", ".users[].username", "organizations/{organizationId}/users" })
      ok(r)
      assert.are.same(usernames, h.lines(r.stdout))
      assert.are.equal(math.ceil(#usernames / 7), #page_requests())
      -- The filter runs on each page: a count per page.
      r = api({ "--paginate", "--jq", ".users | length", "organizations/{organizationId}/users" })
      ok(r)
      local lines = h.lines(r.stdout)
      assert.are.equal(math.ceil(#usernames / 7), #lines)
      assert.are.equal("7", lines[1])
    end)

    it("a totalCount that lies (10^6 with pages of 5): stops at the first empty page", function()
      box.sb:faults({ max_page_size = 5, total_count_claim = 1000000 })
      local r = api({ "--paginate", "--jq", ".users[].id", "organizations/{organizationId}/users" })
      ok(r)
      assert.are.equal(#usernames, #h.lines(r.stdout))
      local n = #page_requests()
      assert.is_true(n > #usernames / 5 and n <= #usernames / 5 + 2 * 8 + 2, n .. " requests")
    end)

    it("--slurp prints the items of all pages as one JSON array; --jq then runs once on it", function()
      box.sb:faults({ max_page_size = 50 })
      local r = api({ "--paginate", "--slurp", "organizations/{organizationId}/users" })
      ok(r)
      local all = decode(r.stdout)
      assert.are.equal(#usernames, #all)
      for i, u in ipairs(all) do assert.are.equal(usernames[i], u.username) end
      assert.are.equal(1, #h.lines(r.stdout), "to a pipe the array is one line")
      r = api({ "--paginate", "--slurp", "--jq", "length", "organizations/{organizationId}/users" })
      ok(r)
      assert.are.equal(tostring(#usernames) .. "\n", r.stdout)
    end)

    it("--slurp prints nothing when a page fails, and the streamed pages before it without --slurp", function()
      box.sb:faults({ max_page_size = 100, answer_skip = 1, answer_next = 1, answer_body = '{"users":"broken"}' })
      local r = api({ "--paginate", "--slurp", "organizations/{organizationId}/users" })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.stdout)
      assert.matches('^Error: the API answered a page %(offset 100%) whose "users" is a string, not a list\n$', r.stderr)
      box.sb:faults({ answer_skip = 1, answer_next = 1 })
      r = api({ "--paginate", "--jq", ".users[].username", "organizations/{organizationId}/users" })
      assert.are.equal(1, r.code)
      assert.are.same({ table.unpack(usernames, 1, 100) }, h.lines(r.stdout))
    end)

    it("takes limit as the page size, and follows lists of other keys (teams)", function()
      local r = api({ "--paginate", "-F", "limit=2", "--jq", ".teams[].name", "organizations/{organizationId}/teams" })
      ok(r)
      assert.are.equal(3, #h.lines(r.stdout))
      local reqs = h.recorded(box.sb, { method = "GET", path = TEAMS })
      assert.are.equal(2, #reqs)
      assert.are.equal("limit=2&offset=0", reqs[1].query)
      assert.are.equal("limit=2&offset=2", reqs[2].query)
    end)

    it("--rate-limit sets the pace: 13 pages at GET=10 take at least 1.2 s (0.5 s at the default 25)", function()
      box.sb:faults({ max_page_size = 25 })
      local sys = require("astro.core.sys")
      local t0 = sys.now()
      ok(api({ "--paginate", "--rate-limit", "GET=10", "--jq", ".users | length", "organizations/{organizationId}/users" }))
      local took = sys.now() - t0
      assert.are.equal(math.ceil(#usernames / 25), #page_requests())
      assert.is_true(took >= 1.15, string.format("13 pages at GET=10 took %.2f s", took))
    end)

    it("an empty list prints its one page", function()
      local r = api({ "--paginate", "--jq", ".totalCount", "organizations/" .. h.ids.INITECH .. "/workspaces" })
      ok(r)
      assert.are.equal("1\n", r.stdout)
    end)

    it("an answer that is no list: an Error line naming it", function()
      local r = api({ "--paginate", "organizations/{organizationId}" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: the answer holds several lists %(managedDomains, productPlans%): cannot tell which " ..
        "one to page through\n$", r.stderr)
      r = api({ "--paginate", "organizations/{organizationId}/workspaces/" .. h.ids.ANALYTICS })
      assert.are.equal(1, r.code)
      assert.matches("^Error: the answer holds no list to page through", r.stderr)
    end)

    it("a page's error ends the listing with the API's message, exit 1", function()
      local r = api({ "--paginate", "organizations/cnope/users" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: Organization not found", r.stderr)
    end)
  end)
end)

describe("astro api never shows the credential", function()
  local function canary(prefix)
    return prefix .. h.capture("head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n'")
  end
  local TOKEN = canary("CANARYtoken")
  local REFRESH = canary("CANARYrefresh")
  local box = h.use_sandbox({ flags = { "--token", TOKEN, "--refresh-token", REFRESH },
                              home = { token = TOKEN, refreshtoken = REFRESH } })
  local api = box.command({ "api" })

  local RUNS = {
    { "-i", "organizations/{organizationId}" },
    { "-i", "organizations/cnope" },
    { "-i", "--paginate", "organizations/{organizationId}/users" },
    { "-i", "-X", "POST", "organizations/{organizationId}/teams", "-f", "name=" },
    { "-X", "POST", "organizations/{organizationId}/teams", "-f", "name=Dry", "--dry-run" },
  }

  for _, args in ipairs(RUNS) do
    it(table.concat(args, " ") .. ", with a server that echoes the token, under --verbosity debug and ASTRO_DEBUG", function()
      box.sb:faults({ echo_token = true })
      for _, extra in ipairs({ {}, { "--verbosity", "debug" } }) do
        for _, env in ipairs({ {}, { ASTRO_DEBUG = "1" } }) do
          local full = { table.unpack(args) }
          for _, a in ipairs(extra) do full[#full + 1] = a end
          local r = api(full, { env = env })
          h.no_secret(r, { TOKEN, REFRESH }, "astro api " .. table.concat(full, " "))
          if args[1] == "-i" and r.code == 0 or args[2] == "organizations/cnope" then
            assert.matches("x%-echo%-authorization: <redacted>", r.stdout)
          end
        end
      end
      -- The server got the credential, and only from its API's origin.
      for _, req in ipairs(box.sb:requests()) do
        assert.are.equal("Bearer " .. TOKEN, req.headers.Authorization)
      end
    end)
  end
end)
