"""The stack tracer writes each stack as plain text, escaped for HTML."""

from GangaCore.Utility import stacktracer


def test_a_trace_is_escaped_plain_text():
    text = 'File "<stdin>", line 1, in <module>\n  x = a < b & c\n'
    assert stacktracer.highlight_trace(text) == (
        '<pre>File &quot;&lt;stdin&gt;&quot;, line 1, in &lt;module&gt;\n  x = a &lt; b &amp; c\n</pre>')
