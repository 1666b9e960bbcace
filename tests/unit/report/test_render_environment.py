"""The Jinja2 environment is made once per folder of templates in a process (it keeps the
compiled templates), and still renders a template file that changed, and another folder's."""

from __future__ import annotations

import os
from unittest import mock

import jinja2

from resultatrapport.report import render


def _write(path, text, mtime):
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_one_environment_per_folder(tmp_path):
    _write(tmp_path / "t.html.j2", "{{ x | number(1) }}", 1_000_000)
    with mock.patch.object(jinja2, "Environment", wraps=jinja2.Environment) as made:
        render._environment.cache_clear()
        assert render.render_html("t.html.j2", {"x": 1234.5}, tmp_path) == "1.234,5"
        assert render.render_html("t.html.j2", {"x": 2}, tmp_path) == "2,0"
    assert made.call_count == 1


def test_a_changed_template_and_another_folder(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _write(first / "t.html.j2", "a {{ x }}", 1_000_000)
    _write(second / "t.html.j2", "b {{ x }}", 1_000_000)
    assert render.render_html("t.html.j2", {"x": 1}, first) == "a 1"
    assert render.render_html("t.html.j2", {"x": 1}, second) == "b 1"
    _write(first / "t.html.j2", "changed {{ x }}", 2_000_000)
    assert render.render_html("t.html.j2", {"x": 1}, first) == "changed 1"
