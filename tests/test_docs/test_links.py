"""Every relative link of README.md, docs/*.md and the configs' READMEs
resolves: the file exists, and a ``#anchor`` names a heading of the target
Markdown file (GitHub's anchors: lower case, punctuation dropped, spaces to
hyphens, ``-1``, ``-2`` for repeated headings)."""
import glob
import os.path as osp
import re

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = sorted(
    [osp.join(REPO_ROOT, 'README.md')] +
    glob.glob(osp.join(REPO_ROOT, 'docs', '*.md')) +
    glob.glob(osp.join(REPO_ROOT, 'configs', '**', 'README.md'),
              recursive=True))

FENCE = re.compile(r'^\s*(```|~~~)')
INLINE_CODE = re.compile(r'`[^`\n]*`')
# [text](target) and ![alt](target); the target ends at a space or ')'
LINK = re.compile(r'!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
EXTERNAL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')  # http:, https:, mailto:


def _prose_lines(text):
    """The lines outside fenced code blocks, as (line number, line)."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line


def slug(heading):
    """GitHub's anchor of a heading's text."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # link text only
    text = re.sub(r'[^\w\- ]', '', text.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    """The anchors of a Markdown file's headings."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    seen, result = {}, set()
    for _, line in _prose_lines(text):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f'{base}-{n}')
    return result


def relative_links(path):
    """(line number, target) of each relative link of a Markdown file,
    outside code blocks and inline code."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for number, line in _prose_lines(text):
        for target in LINK.findall(INLINE_CODE.sub('', line)):
            if not EXTERNAL.match(target):
                yield number, target


def broken_links(path):
    """Messages for the relative links of ``path`` that do not resolve."""
    problems = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition('#')
        dest = (osp.normpath(osp.join(osp.dirname(path), file_part))
                if file_part else path)
        where = f'{osp.relpath(path, REPO_ROOT)}:{number}: ({target})'
        if not osp.exists(dest):
            problems.append(f'{where} no file {osp.relpath(dest, REPO_ROOT)}')
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            problems.append(
                f'{where} no heading with anchor #{anchor} in '
                f'{osp.relpath(dest, REPO_ROOT)}')
    return problems


def test_documents_found():
    names = {osp.relpath(p, REPO_ROOT) for p in DOCS}
    assert {'README.md', 'docs/benchmarks.md', 'docs/architecture.md',
            'configs/reco/README.md'} <= names


@pytest.mark.parametrize('doc', DOCS,
                         ids=[osp.relpath(p, REPO_ROOT) for p in DOCS])
def test_relative_links_resolve(doc):
    problems = broken_links(doc)
    assert not problems, '\n'.join(problems)


def test_slug_follows_github():
    assert slug('Supervised, ClassMix, ReCo + ClassMix, memory bank') == (
        'supervised-classmix-reco--classmix-memory-bank')
    assert slug("Predicting with mmseg's APIs") == 'predicting-with-mmsegs-apis'
    assert slug('Set-up') == 'set-up'
    assert slug('`RepresentationHead`') == 'representationhead'
    assert slug('Earlier measurements (800-iteration protocol)') == (
        'earlier-measurements-800-iteration-protocol')


def test_broken_file_and_anchor_are_reported(tmp_path):
    (tmp_path / 'other.md').write_text('# Title\n\n## Part two\n\n## Part two\n')
    doc = tmp_path / 'doc.md'
    doc.write_text(
        '# Doc\n\n'
        '[ok](other.md#part-two) [ok](other.md#part-two-1) [ok](#doc)\n'
        '[web](https://example.org/missing.md) `[code](missing.md)`\n'
        '```\n[in a block](missing.md)\n```\n'
        '[bad file](missing.md)\n'
        '[bad anchor](other.md#part-three)\n'
        '[bad own anchor](#nothing)\n')
    problems = broken_links(str(doc))
    assert len(problems) == 3, problems
    assert 'no file' in problems[0] and 'missing.md' in problems[0]
    assert '#part-three' in problems[1]
    assert '#nothing' in problems[2]
