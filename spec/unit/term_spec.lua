-- The one escaping rule for text on a terminal: astro.core.term.escape (src/term.c) and
-- output.printable, which calls it (and the tables, which show every cell through it).
local term = require("astro.core.term")
local output = require("astro.output")

local LINES = { lines = true }

describe("astro.core.term.escape", function()
  it("gives printable ASCII, accented letters, wide characters and emoji back unchanged", function()
    for _, s in ipairs({ "", "Acme Data Platform", "a\\x1b is text", "José Núñez", "Zürich", "王小明",
                         "Ελληνικά", "עברית" , "日本語テキスト", "😀 rocket 🚀", "\u{FFFD}", "\u{10FFFF}" }) do
      assert.are.equal(s, term.escape(s))
      assert.are.equal(s, output.printable(s))
    end
  end)

  it("shows C0 controls and DEL as \\xNN, newline and tab too unless lines are kept", function()
    assert.are.equal("a\\x1b]0;title\\x07b", term.escape("a\27]0;title\7b"))
    assert.are.equal("\\x00\\x01\\x08\\x0d\\x1f\\x7f", term.escape("\0\1\8\13\31\127"))
    assert.are.equal("one\\x0atwo\\x09three", term.escape("one\ntwo\tthree"))
    assert.are.equal("one\ntwo\tthree\\x0d\\x1b[2J", term.escape("one\ntwo\tthree\r\27[2J", LINES))
    assert.are.equal("one\ntwo\\x1b", output.printable("one\ntwo\27", LINES))
  end)

  it("shows C1 controls in UTF-8 form as \\u00NN", function()
    assert.are.equal("\\u0080", term.escape("\194\128"))
    assert.are.equal("\\u009b2J", term.escape("\194\155" .. "2J"))          -- CSI
    assert.are.equal("\\u009d0;title\\u009c", term.escape("\194\157" .. "0;title\194\156")) -- OSC ... ST
    assert.are.equal("\\u009f\194\160", term.escape("\194\159\194\160"))     -- U+00A0 is not C1
  end)

  it("shows every byte that is not valid UTF-8 as \\xNN, the 8-bit CSI 0x9b included", function()
    assert.are.equal("\\x9b2J", term.escape("\155" .. "2J"))
    assert.are.equal("\\x80 \\xbf \\xff \\xfe \\xc0 \\xc1 \\xf5", term.escape("\128 \191 \255 \254 \192 \193 \245"))
    -- overlong forms: "/" in two bytes, NUL in two, "/" in three, U+FFFF in four
    assert.are.equal("\\xc0\\xaf", term.escape("\192\175"))
    assert.are.equal("\\xc0\\x80", term.escape("\192\128"))
    assert.are.equal("\\xe0\\x80\\xaf", term.escape("\224\128\175"))
    assert.are.equal("\\xf0\\x8f\\xbf\\xbf", term.escape("\240\143\191\191"))
    -- surrogates (U+D800, U+DFFF) and a code point past U+10FFFF
    assert.are.equal("\\xed\\xa0\\x80", term.escape("\237\160\128"))
    assert.are.equal("\\xed\\xbf\\xbf", term.escape("\237\191\191"))
    assert.are.equal("\\xf4\\x90\\x80\\x80", term.escape("\244\144\128\128"))
    -- sequences cut short, at the end and before another character
    assert.are.equal("ab\\xe2\\x82", term.escape("ab\226\130"))
    assert.are.equal("\\xe2\\x82x\\xf0\\x9f\\x98", term.escape("\226\130x\240\159\152"))
    assert.are.equal("\\xc3\\x1b", term.escape("\195\27"))
    -- the code point that follows a broken sequence is kept
    assert.are.equal("\\xe2é", term.escape("\226\195\169"))
  end)

  it("shows bidi controls and the line and paragraph separators as \\uNNNN", function()
    local cases = {
      ["\u{202A}"] = "\\u202a", ["\u{202B}"] = "\\u202b", ["\u{202C}"] = "\\u202c",
      ["\u{202D}"] = "\\u202d", ["\u{202E}"] = "\\u202e", ["\u{2066}"] = "\\u2066",
      ["\u{2067}"] = "\\u2067", ["\u{2068}"] = "\\u2068", ["\u{2069}"] = "\\u2069",
      ["\u{200E}"] = "\\u200e", ["\u{200F}"] = "\\u200f", ["\u{061C}"] = "\\u061c",
      ["\u{2028}"] = "\\u2028", ["\u{2029}"] = "\\u2029",
    }
    for s, shown in pairs(cases) do
      assert.are.equal("invoice" .. shown .. "fdp.exe", term.escape("invoice" .. s .. "fdp.exe"))
      assert.are.equal(shown, term.escape(s, LINES))
    end
    -- their neighbours are ordinary characters
    for _, s in ipairs({ "\u{061B}", "\u{061D}", "\u{200D}", "\u{2010}", "\u{2027}", "\u{202F}", "\u{2065}", "\u{206A}" }) do
      assert.are.equal(s, term.escape(s))
    end
  end)

  it("is stable: escaping an escaped text changes nothing", function()
    local s = "a\27[31m\194\155\155\226\128\174\n\t\127\192\175z"
    local once = term.escape(s)
    assert.are.equal(once, term.escape(once))
    assert.are.equal(once, output.printable(once))
  end)

  it("refuses a value that is not text and an unknown option", function()
    assert.has_error(function() term.escape({}) end)
    assert.has_error(function() term.escape("x", { newline = true }) end)
    assert.has_error(function() term.escape("x", "lines") end)
    assert.are.equal("1", term.escape(1))
  end)
end)

describe("output.table and output.printable", function()
  it("escape headers and cells alike, and size columns by the escaped text", function()
    local text = output.table({ "NAME\27", "ID" }, {
      { "Evil\194\155" .. "2J\155", "a" },
      { "José 王", "b" },
    })
    assert.are.equal(
      " NAME\\x1b             ID     \n" ..
      " Evil\\u009b2J\\x9b     a      \n" ..
      " José 王               b      \n", text)
  end)

  it("is astro.output.printable in the facade too", function()
    assert.are.equal(output.printable, require("astro").output.printable)
  end)

  it("keep the ASCII fast path: the same string back", function()
    local s = string.rep("plain text ", 100)
    assert.are.equal(s, output.printable(s))
  end)
end)
