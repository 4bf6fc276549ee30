#!/usr/bin/env python3
"""Offline checks of Kura's Terraform, with no provider and no network.

    hcl_check.py [--fmt] DIR...

For every *.tf under each DIR:
  - it parses as HCL2 (python-hcl2, the reference grammar's Python port);
  - every `variable` and `output` block has a non-empty description;
  - with --fmt, the layout `terraform fmt` produces, for where terraform itself is not
    installed (it is not in any package registry this project uses): two-space indentation by
    nesting depth, no tabs, no trailing whitespace, no CRLF, one newline at the end, no run of
    blank lines, and the `=` of consecutive one-line attributes aligned one space after the
    longest name (a blank line, a comment, a nested block or a bracketed multi-line value ends
    such a run; a heredoc's first line belongs to it), as terraform fmt lays them out. It checks layout, not every rewrite terraform fmt makes; where
    terraform is installed, infra/check.sh runs `terraform fmt -check` as well.
Exits 1 listing every problem as FILE:LINE: message; 0 when there is none.
"""
import pathlib
import re
import sys

import hcl2

ATTR = re.compile(r'^(\s*)("?[A-Za-z_][A-Za-z0-9_\-."/:]*"?)(\s*)=(?!=)(\s*)(.*)$')


def unquote(s):
    return s[1:-1] if isinstance(s, str) and len(s) >= 2 and s[0] == s[-1] == '"' else s


def described(tree, kind):
    """(name, ok) for every block of `kind` ('variable' or 'output')."""
    for block in tree.get(kind, []):
        for name, body in block.items():
            desc = body.get("description")
            if isinstance(desc, list):  # older python-hcl2 wraps attribute values in lists
                desc = desc[0] if desc else None
            desc = unquote(desc) if isinstance(desc, str) else desc
            yield unquote(name), isinstance(desc, str) and desc.strip() != ""


def strip_strings(line):
    """The line with string literals and comments blanked, for bracket counting."""
    out, i, in_str = [], 0, False
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
            out.append(" ")
        elif c == '"':
            in_str = True
            out.append(" ")
        elif c == "#" or line.startswith("//", i):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def fmt_problems(text):
    problems = []
    if "\r" in text:
        problems.append((1, "CRLF line endings"))
    if text and not text.endswith("\n"):
        problems.append((len(text.splitlines()), "no newline at the end of the file"))
    if text.endswith("\n\n"):
        problems.append((len(text.splitlines()), "blank lines at the end of the file"))
    lines = text.split("\n")
    # As hclwrite (terraform fmt) does it: a line that opens more brackets than it closes
    # indents the following lines by one level, however many it opens (`map(object({`); a line
    # that closes more than it opens first closes that many from the innermost levels and is
    # indented at what remains. A line like `}, {` keeps the current level.
    stack = []  # net open brackets of each level
    heredoc = None
    run = []  # (lineno, name_end_col, eq_col, level) of one-line attributes in a row
    blank_run = 0

    def close_run():
        if run:
            longest = max(r[1] for r in run)
            for lineno, _, eq_col, _ in run:
                if eq_col != longest + 1:
                    problems.append((lineno, f"'=' at column {eq_col + 1}, terraform fmt puts it at {longest + 2}"))
        run.clear()

    def close(count):
        while count and stack:
            taken = min(count, stack[-1])
            stack[-1] -= taken
            count -= taken
            if stack[-1] == 0:
                stack.pop()

    for n, line in enumerate(lines, 1):
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if "\t" in line:
            problems.append((n, "tab"))
        if line != line.rstrip():
            problems.append((n, "trailing whitespace"))
        stripped = line.strip()
        if not stripped:
            blank_run += 1
            if blank_run == 2 and n < len(lines):
                problems.append((n, "more than one blank line in a row"))
            close_run()
            continue
        blank_run = 0
        code = strip_strings(line)
        net = sum(c in "{[(" for c in code) - sum(c in "}])" for c in code)
        if net < 0:
            close(-net)
        expected = 2 * len(stack)
        indent = len(line) - len(line.lstrip(" "))
        if indent != expected:
            problems.append((n, f"indented {indent} spaces, expected {expected}"))
        m = ATTR.match(line)
        hd = re.search(r"<<-?([A-Za-z_]+)\s*$", line)
        if stripped.startswith(("#", "//", "/*")):
            close_run()
        elif m and net == 0 and not code.lstrip().startswith(("}", "]", ")")):
            # A one-line attribute, or the head of a heredoc (`x = <<EOT`), which terraform fmt
            # aligns with the attributes before it and which ends their run.
            name_end = len(m.group(1)) + len(m.group(2))
            eq_col = name_end + len(m.group(3))
            if run and run[-1][3] != len(stack):
                close_run()
            run.append((n, name_end, eq_col, len(stack)))
            if hd:
                close_run()
        else:
            # A block or a value spanning lines (`x = {`): not aligned, ends the run.
            close_run()
        if hd:
            heredoc = hd.group(1)
        if net > 0:
            stack.append(net)
    return problems


def main(argv):
    fmt = "--fmt" in argv
    dirs = [a for a in argv if a != "--fmt"]
    problems, files = [], 0
    for d in dirs:
        for path in sorted(pathlib.Path(d).rglob("*.tf")):
            if ".terraform" in path.parts:
                continue
            files += 1
            text = path.read_text(encoding="utf-8")
            try:
                tree = hcl2.loads(text)
            except Exception as e:  # the parser raises several exception types
                problems.append(f"{path}:1: does not parse as HCL: {str(e).splitlines()[0]}")
                continue
            for kind in ("variable", "output"):
                for name, ok in described(tree, kind):
                    if not ok:
                        problems.append(f"{path}: {kind} \"{name}\" has no description")
            if fmt:
                for line, message in fmt_problems(text):
                    problems.append(f"{path}:{line}: {message}")
    for p in problems:
        print(p)
    what = "parse, descriptions" + (", layout" if fmt else "")
    print(f"hcl_check: {files} files ({what}): {len(problems)} problems")
    return 1 if problems or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
