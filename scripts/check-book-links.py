#!/usr/bin/env python3
"""Checks the links of the ssobench book and of README.md; exits 1 when any is broken.

    check-book-links.py BOOK_DIR            the built book (mdbook build's HTML output)
    check-book-links.py --markdown SRC_DIR  the book's Markdown sources, before any build

Built HTML (BOOK_DIR): every element id of every page is collected, then every `href` and `src`
that is relative (not `http:`, `https:`, `mailto:`, `//` or any other scheme) is resolved: its
file must exist (a folder means its `index.html`), and a `#fragment` must be an id of the page
it points to. Every page must have had its include directives resolved: mdBook leaves an include
it could not read in the page as written, and does not fail the build. The theme's own assets
are checked like any other file.

Markdown sources (SRC_DIR): every relative link and image of every page must point to a file
inside SRC_DIR (mdBook copies nothing else into the book), a `#fragment` into a page must be one
of that page's heading ids as mdBook makes them, every include directive must name a file that
exists, and SUMMARY.md must list every page under SRC_DIR and nothing that is missing.

Both modes also check README.md at the repository's root (this script's parent folder): its
relative links must point to files or folders that exist in the repository, and a fragment into
a Markdown file to one of its headings.

Each broken link is printed as `page: link (why)`. Python 3 standard library only.
"""

import html.parser
import os
import re
import sys
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A link with a scheme (http:, mailto:, javascript:, data:, ...) or a network path (//host)
# leaves the book: nothing on disk to check.
EXTERNAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")

# mdBook's include directives; one left in a built page is one that failed.
INCLUDE_LEFT = "{{#include"
INCLUDE = re.compile(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}")


def is_relative(link):
    return bool(link) and not EXTERNAL.match(link)


def split_link(link):
    """Returns (path, fragment) of a relative link, percent-decoded, without its query."""
    parts = urllib.parse.urlsplit(link)
    return urllib.parse.unquote(parts.path), urllib.parse.unquote(parts.fragment)


def inside(path, root):
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(root)]) == os.path.abspath(
        root
    )


# ---------------------------------------------------------------------------------------------
# Built HTML


class Page(html.parser.HTMLParser):
    """One HTML page's ids, links and `<base href>`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []
        self.base = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif name in ("href", "src"):
                if tag == "base" and name == "href":
                    self.base = value
                else:
                    self.links.append(value)

    handle_startendtag = handle_starttag


def read_pages(root):
    pages = {}
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith((".html", ".htm")):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8", errors="replace") as file:
                    text = file.read()
                page = Page()
                page.feed(text)
                page.close()
                page.text = text
                pages[os.path.normpath(path)] = page
    return pages


def check_html(root):
    broken = []
    pages = read_pages(root)
    checked = 0
    for path in sorted(pages):
        page = pages[path]
        shown = os.path.relpath(path, root)
        if INCLUDE_LEFT in page.text:
            broken.append(f"{shown}: {INCLUDE_LEFT} ...}}}} (an include was not resolved)")
        # mdBook's 404 page sets <base href="/">: its links are relative to the site's root,
        # which is the book's folder when the book is served at the root.
        base_dir = os.path.dirname(path)
        if page.base is not None and is_relative(page.base):
            if page.base.startswith("/"):
                base_dir = os.path.join(root, page.base.lstrip("/"))
            else:
                base_dir = os.path.join(base_dir, page.base)
        for link in page.links:
            if not is_relative(link):
                continue
            checked += 1
            why = check_html_link(root, pages, path, base_dir, link)
            if why:
                broken.append(f"{shown}: {link} ({why})")
    return broken, len(pages), checked


def check_html_link(root, pages, path, base_dir, link):
    target_path, fragment = split_link(link)
    if not target_path:
        target = path
    elif target_path.startswith("/"):
        target = os.path.normpath(os.path.join(root, target_path.lstrip("/")))
    else:
        target = os.path.normpath(os.path.join(base_dir, target_path))
    if not inside(target, root):
        return "points outside the book"
    if os.path.isdir(target):
        target = os.path.join(target, "index.html")
    if not os.path.isfile(target):
        return "no such file"
    if fragment and target.endswith((".html", ".htm")):
        ids = pages[os.path.normpath(target)].ids
        if fragment not in ids:
            return f'no id "{fragment}" in {os.path.relpath(target, root)}'
    return None


# ---------------------------------------------------------------------------------------------
# Markdown

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CUSTOM_ID = re.compile(r"\s*\{#([^}\s]+)[^}]*\}\s*$")
# [text](dest "title") and ![alt](dest), with one level of brackets inside the text.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ATTRIBUTE = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"")
CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?\1")


def prose_lines(text, keep_code_spans=False):
    """The lines outside fenced code blocks (those inside are blank), with their inline code
    spans blanked out unless `keep_code_spans`."""
    lines = []
    fence = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            lines.append("")
            continue
        if fence is not None:
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            lines.append("")
            continue
        if not keep_code_spans:
            line = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        lines.append(line)
    return lines


def normalize_id(text):
    """mdBook's heading id: letters, digits, `_` and `-` kept (ASCII lower-cased), whitespace
    turned into `-`, everything else dropped."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in "_-":
            out.append(ch.lower() if ch.isascii() else ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


def heading_text(markdown):
    """What a heading renders to, as text: links reduced to their text, emphasis marks and
    HTML tags dropped, code spans kept as they are (mdBook takes the id from the rendered
    text)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    parts = []
    last = 0
    for code in CODE_SPAN.finditer(text):
        parts.append(plain_text(text[last : code.start()]))
        parts.append(code.group(0).strip("`"))
        last = code.end()
    parts.append(plain_text(text[last:]))
    return "".join(parts).strip()


def plain_text(markdown):
    text = re.sub(r"<[^>]+>", "", markdown)
    return re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text)


def heading_ids(text):
    ids = set()
    counts = {}
    for line in prose_lines(text, keep_code_spans=True):
        match = HEADING.match(line)
        if not match:
            continue
        content = match.group(2)
        custom = CUSTOM_ID.search(content)
        if custom:
            ids.add(custom.group(1))
            continue
        base = normalize_id(heading_text(content))
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        ids.add(base if seen == 0 else f"{base}-{seen}")
    return ids


def markdown_links(text):
    links = []
    for line in prose_lines(text):
        for pattern in (INLINE_LINK, REFERENCE_DEFINITION, HTML_ATTRIBUTE):
            for match in pattern.finditer(line):
                link = match.group(1)
                if link.startswith("<") and link.endswith(">"):
                    link = link[1:-1]
                links.append(link)
    return links


class Headings:
    """Heading ids of Markdown files, read once each."""

    def __init__(self):
        self.cache = {}

    def of(self, path):
        path = os.path.normpath(path)
        if path not in self.cache:
            with open(path, encoding="utf-8") as file:
                self.cache[path] = heading_ids(file.read())
        return self.cache[path]


OUTSIDE_THE_BOOK = "points outside the book: mdBook copies only what is under src/"


def check_markdown_link(page, link, root, headings, outside=OUTSIDE_THE_BOOK):
    """Why a relative link of a Markdown file is broken, or None. `root` bounds where it may
    point; `outside` says why a link beyond it is broken."""
    target_path, fragment = split_link(link)
    target = page if not target_path else os.path.normpath(
        os.path.join(os.path.dirname(page), target_path)
    )
    if not inside(target, root):
        return outside
    if not os.path.exists(target):
        return "no such file"
    if fragment and target.endswith(".md") and os.path.isfile(target):
        if fragment not in headings.of(target):
            return f'no heading with id "{fragment}" in {os.path.relpath(target, root)}'
    return None


def summary_pages(summary_path):
    with open(summary_path, encoding="utf-8") as file:
        text = file.read()
    listed = []
    for link in markdown_links(text):
        if is_relative(link):
            path, _ = split_link(link)
            if path:
                listed.append(path)
    return listed


def check_markdown(root):
    broken = []
    headings = Headings()
    pages = []
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".md"):
                pages.append(os.path.normpath(os.path.join(folder, name)))
    checked = 0
    for page in sorted(pages):
        shown = os.path.relpath(page, root)
        with open(page, encoding="utf-8") as file:
            text = file.read()
        for match in INCLUDE.finditer(text):
            checked += 1
            # An include may name lines or an anchor after a colon: file.txt:10:20, file.rs:anchor.
            included = match.group(1).split(":")[0]
            target = os.path.normpath(os.path.join(os.path.dirname(page), included))
            if not os.path.isfile(target):
                why = "no such file"
                if f"{os.sep}generated{os.sep}" in target:
                    why += ": scripts/book.sh writes it from the binaries"
                broken.append(f"{shown}: {match.group(0)} ({why})")
        # SUMMARY.md's links are its list of pages, checked as such below.
        if page == os.path.normpath(os.path.join(root, "SUMMARY.md")):
            continue
        for link in markdown_links(text):
            if not is_relative(link):
                continue
            checked += 1
            why = check_markdown_link(page, link, root, headings)
            if why:
                broken.append(f"{shown}: {link} ({why})")

    summary = os.path.join(root, "SUMMARY.md")
    if not os.path.isfile(summary):
        broken.append("SUMMARY.md: (missing)")
        return broken, len(pages), checked
    listed = {os.path.normpath(os.path.join(root, path)) for path in summary_pages(summary)}
    for path in sorted(listed):
        if not os.path.isfile(path):
            broken.append(f"SUMMARY.md: {os.path.relpath(path, root)} (listed, but no such page)")
    for page in sorted(pages):
        if page != os.path.normpath(summary) and page not in listed:
            broken.append(f"SUMMARY.md: {os.path.relpath(page, root)} (a page not listed)")
    return broken, len(pages), checked


def check_readme():
    readme = os.path.join(REPO_ROOT, "README.md")
    if not os.path.isfile(readme):
        return ["README.md: (missing)"], 0
    with open(readme, encoding="utf-8") as file:
        text = file.read()
    broken = []
    checked = 0
    headings = Headings()
    for link in markdown_links(text):
        if not is_relative(link):
            continue
        checked += 1
        # GitHub makes heading anchors by nearly the same rule as mdBook.
        outside = "points outside the repository"
        why = check_markdown_link(readme, link, REPO_ROOT, headings, outside)
        if why:
            broken.append(f"README.md: {link} ({why})")
    return broken, checked


def main(argv):
    if len(argv) == 2 and not argv[1].startswith("-"):
        root = argv[1]
        mode = "html"
    elif len(argv) == 3 and argv[1] == "--markdown":
        root = argv[2]
        mode = "markdown"
    else:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: check-book-links.py BOOK_DIR | --markdown SRC_DIR", file=sys.stderr)
        return 2
    if not os.path.isdir(root):
        print(f"{root}: no such folder", file=sys.stderr)
        return 2

    if mode == "html":
        broken, pages, checked = check_html(root)
    else:
        broken, pages, checked = check_markdown(root)
    readme_broken, readme_checked = check_readme()
    broken += readme_broken

    for line in broken:
        print(line)
    sys.stdout.flush()
    what = "HTML pages" if mode == "html" else "Markdown pages"
    summary = (
        f"{checked} links in {pages} {what} under {root} and {readme_checked} in README.md: "
        f"{len(broken)} broken"
    )
    print(summary, file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
