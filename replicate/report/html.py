"""report.html: the markdown report rendered to one self-contained file (images embedded, no external URL)."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #1a1a1a; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
tr:nth-child(even) td { background: #fafbfc; }
blockquote { border-left: 4px solid #d9822b; background: #fff6ec; margin: 1em 0; padding: 0.5em 1em; }
code { background: #f2f4f7; padding: 0 0.2em; border-radius: 3px; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def _embed(match: re.Match, run_dir: Path) -> str:
    name = html.unescape(match.group(1))
    path = run_dir / name
    if "/" in name or not path.is_file():
        return match.group(0)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'src="data:image/png;base64,{data}"'


def render_html(markdown_text: str, run_dir: Path, title: str) -> str:
    """Render report.md with markdown-it (CommonMark + tables) and inline every local PNG as a data URI."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    body = re.sub(r'src="([^"]+\.png)"', lambda m: _embed(m, run_dir), body)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
